"""The inspector page and the admin-token prompt, built from the files in ``assets/``.

The page is one HTML document with its stylesheet and script inlined when it is served, so it
needs no build step, nothing from the internet, and exactly one request that the admin token
guards. The script then talks to the control API and the Flowdock API with ``fetch``, sending the
admin token as ``Authorization: Bearer`` (inspector.js).

With an admin token configured, a browser that opens any page under ``/_mock/`` without it gets
the prompt page (still a 401, and nothing of the mock's state): it asks for the token once, keeps
it in ``sessionStorage`` and in a session cookie limited to ``/_mock`` with ``SameSite=Strict``,
and reloads. The cookie is what lets the browser load what it cannot add a header to (the Swagger
UI's scripts, the page itself); it is accepted for ``GET`` and ``HEAD`` only, so a cross-site form
can never change the mock's state with it, and the CORS layer never allows credentials.
"""

from __future__ import annotations

import functools
import hmac
import json
from importlib import resources
from typing import Any
from urllib.parse import unquote_to_bytes

ADMIN_COOKIE = "flowdock_mock_admin"
"""The session cookie the prompt page sets (path /_mock, SameSite=Strict)."""

_COOKIE_METHODS = ("GET", "HEAD")


@functools.cache
def _asset(name: str) -> str:
    return resources.files("mock_server.inspector").joinpath("assets", name).read_text(encoding="utf-8")


def render_page(hints: dict[str, Any]) -> str:
    """The inspector, its CSS and JS inlined; ``hints`` is data the script reads at start."""
    page = _asset("index.html")
    data = json.dumps(hints).replace("<", "\\u003c")  # never closes the script element
    return (
        page.replace("/*INSPECTOR_CSS*/", _asset("inspector.css"))
        .replace("/*INSPECTOR_HINTS*/null", data)
        .replace("/*INSPECTOR_JS*/", _asset("inspector.js"))
    )


def prompt_page() -> bytes:
    """The page a browser gets instead of a guarded page when it has no admin token."""
    return _asset("prompt.html").encode()


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
