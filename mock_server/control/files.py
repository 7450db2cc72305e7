"""Files tag: serving uploaded bytes at the URL /files/... redirects to (to be implemented)."""

__all__: list[str] = []
