"""Thin handlers, one module per spec tag; each lists its operations in ``__all__``.

A handler turns request arguments into one store call and returns the result and the status. It
never builds an error body and never branches on HTTP details (ARCHITECTURE.md).
"""
