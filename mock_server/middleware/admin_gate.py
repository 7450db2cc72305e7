"""The admin token in front of /_mock: ``Authorization: Bearer``, or the inspector's cookie for reads.

The inspector's prompt page (inspector/page.py) keeps the token in a session cookie limited to
``/_mock`` with ``SameSite=Strict``, so the browser can load what it cannot add a header to (the
page itself, Swagger UI's scripts). The cookie is accepted for ``GET`` and ``HEAD`` only: a
cross-site form can never change the mock's state with it, and the CORS layer never allows
credentials, so no other origin can read what it opens either.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import unquote_to_bytes

ADMIN_COOKIE = "flowdock_mock_admin"
"""The session cookie the prompt page sets (path /_mock, SameSite=Strict)."""

_COOKIE_METHODS = ("GET", "HEAD")


def wants_html(scope: dict[str, Any]) -> bool:
    """A browser navigation (a GET that prefers HTML), as opposed to a script or a client."""
    if scope["method"] != "GET":
        return False
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value
    return False


def cookie_token(scope: dict[str, Any]) -> bytes | None:
    """The admin token from the inspector's cookie, for a GET or HEAD (None otherwise)."""
    if scope["method"] not in _COOKIE_METHODS:
        return None
    prefix = ADMIN_COOKIE.encode() + b"="
    for name, value in scope["headers"]:
        if name != b"cookie":
            continue
        for part in value.split(b";"):
            part = part.strip()
            if part.startswith(prefix):
                return unquote_to_bytes(part[len(prefix) :])
    return None


def admin_allowed(scope: dict[str, Any], token: bytes) -> bool:
    """Whether the request carries the admin token: ``Authorization: Bearer``, or the cookie for reads."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return hmac.compare_digest(value[7:].strip(), token)
    cookie = cookie_token(scope)
    return cookie is not None and hmac.compare_digest(cookie, token)
