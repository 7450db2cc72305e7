"""Helpers for other projects' tests: the control API client and kit (``control``), and a
Testcontainers module for the image (``container``, with the ``testcontainers`` extra).

Nothing here imports the server or a web framework: these modules talk to a running mock over
HTTP with the standard library, so they work against an in-process server, a service container
or a container started by Testcontainers alike.
"""
