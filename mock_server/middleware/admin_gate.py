"""The admin token in front of /_mock: ``Authorization: Bearer``, or the inspector's cookie for reads.

``AdminGateMiddleware`` is the pipeline's layer (right inside the journal): with an admin token
configured, a /_mock request without it gets 401 (a browser gets the inspector's prompt page
instead); ``/_mock`` itself redirects to the inspector at ``/_mock/``.

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

from mock_server import errors
from mock_server.inspector.page import prompt_page
from mock_server.middleware.responses import send_bytes, send_json
from mock_server.middleware.types import CONTROL_PREFIX, Scope, is_control_path

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


ADMIN_EXEMPT = ("/_mock/health", "/_mock/files/")
"""Open even with an admin token: the ready check, and the download target Flowdock clients follow."""
_REALM = (b"www-authenticate", b'Bearer realm="flowdock-mock control API"')


class AdminGateMiddleware:
    """In front of /_mock: the admin token when one is configured, and /_mock -> /_mock/."""

    def __init__(self, app: Any, admin_token: str | None = None) -> None:
        self.app = app
        self.admin_token = admin_token.encode() if admin_token else None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not is_control_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        token = self.admin_token
        if token is not None and not path.startswith(ADMIN_EXEMPT) and not admin_allowed(scope, token):
            await self._refuse(scope, send)
            return
        if path == CONTROL_PREFIX:  # the inspector lives at /_mock/
            await send_json(send, 308, None, [(b"location", b"/_mock/")])
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Any) -> None:
        if wants_html(scope):  # a browser: the page that asks for the token (inspector/)
            await send_bytes(
                send,
                401,
                prompt_page(),
                b"text/html; charset=utf-8",
                [(b"cache-control", b"no-store"), _REALM],
            )
            return
        body = {
            "message": errors.ADMIN_TOKEN_REQUIRED,
            "errors": {"authorization": [errors.ADMIN_TOKEN_HINT]},
        }
        await send_json(send, 401, body, [_REALM])
