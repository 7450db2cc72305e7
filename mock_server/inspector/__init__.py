"""The inspector: one web page under ``/_mock/`` to watch and drive the mock.

``page.py`` builds the page (assets/ inlined) and the admin-token prompt; the journal reaches it
as Server-Sent Events from runtime/feed.py, and the admin gate is middleware/admin_gate.py. The page itself only uses public routes: the control
API (``/_mock/...``) and the Flowdock API with a chosen user's credentials.
"""
