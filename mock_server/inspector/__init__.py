"""The inspector: one web page under ``/_mock/`` to watch and drive the mock.

``page.py`` serves the page (assets/ inlined) and the admin-token prompt; ``feed.py`` pushes the
request journal to it as Server-Sent Events. The page itself only uses public routes: the control
API (``/_mock/...``) and the Flowdock API with a chosen user's credentials.
"""
