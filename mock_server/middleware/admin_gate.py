"""The tokens in front of /_mock: the admin token, a world's control token, the create-only token;
and the security headers of the HTML pages served there (page_policy.py).

Without an admin token configured (a laptop, a job's own service container) everything under
/_mock is open, as it always was. With one (``--admin-token``: a shared service), a /_mock request
is let through when it carries

- the admin token (``Authorization: Bearer``, or the inspector's cookie for reads): everything;
- a world's control token (``Authorization: Bearer``; ``POST /_mock/worlds`` answered it): that
  world's routes only, ``/_mock/worlds/{its id}/...`` and the Kit's routes with ``?world={its id}``
  (which routes take a world, and where, is read from spec/control.yaml); ``GET /_mock/worlds``
  lists that world alone (``CONTROL_CALLER``). Any other route: 403;
- nothing, or the create-only token when one is configured (``--create-token``), for ``POST
  /_mock/worlds``: a job makes its own world without holding the operator's token.

Anything else gets 401 (a browser gets the inspector's prompt page instead). ``/_mock/health`` and
the download URLs ``/_mock/files/...`` (which carry their own secret) are always open; ``/_mock``
itself redirects to the inspector at ``/_mock/``.

The inspector's prompt page (inspector/page.py) keeps the admin token in a session cookie limited
to ``/_mock`` with ``SameSite=Strict``, so the browser can load what it cannot add a header to (the
page itself, Swagger UI's scripts). The cookie is accepted for ``GET`` and ``HEAD`` only: a
cross-site form can never change the mock's state with it, the CORS layer refuses cross-site
control writes, and no /_mock response carries CORS headers, so no other origin can read it either.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from mock_server import errors
from mock_server.contract import OperationIndex, load_control_spec
from mock_server.inspector.page import prompt_page
from mock_server.middleware.exchange import Exchange
from mock_server.middleware.page_policy import page_headers, with_page_policy
from mock_server.middleware.responses import Answer, bytes_answer, error_answer, json_answer
from mock_server.middleware.types import CONTROL_PREFIX, Scope, is_control_path
from mock_server.runtime.worlds import CONTROL_CALLER, Worlds

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


def bearer_token(scope: dict[str, Any]) -> bytes | None:
    """The token of ``Authorization: Bearer``, if the request has one."""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return bytes(value[7:].strip())
    return None


def admin_allowed(scope: dict[str, Any], token: bytes) -> bool:
    """Whether the request carries the admin token: ``Authorization: Bearer``, or the cookie for reads."""
    bearer = bearer_token(scope)
    if bearer is not None:
        return hmac.compare_digest(bearer, token)
    cookie = cookie_token(scope)
    return cookie is not None and hmac.compare_digest(cookie, token)


class WorldRoutes:
    """Which world a control request addresses, as spec/control.yaml declares its ``world``
    parameter: in the path (``/worlds/{world}/...``) or in the query (the Kit's ``?world=``)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.index = OperationIndex(spec)

    def world_of(self, method: str, path: str, query: bytes) -> str | None:
        """The world id the request names; None when its route takes no world, or names none."""
        entry = self.index.match(path[len(CONTROL_PREFIX) :] or "/")
        operation = entry.operations.get(method) if entry is not None else None
        if operation is None:
            return None
        for parameter in (*operation.shared_parameters, *operation.definition.get("parameters", ())):
            parameter = self.index.deref(parameter)
            if parameter.get("name") != "world":
                continue
            if parameter.get("in") == "path":
                at = operation.template.split("/").index("{world}")
                return path[len(CONTROL_PREFIX) :].split("/")[at]
            named = [v for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if k == "world"]
            return named[0] if len(named) == 1 else None  # absent: the default world's; twice: unclear
        return None


ADMIN_EXEMPT = ("/_mock/health", "/_mock/files/")
"""Open even with an admin token: the ready check, and the download target Flowdock clients follow."""
FILES_PREFIX = ADMIN_EXEMPT[1]
WORLDS_PATH = CONTROL_PREFIX + "/worlds"
_REALM = (b"www-authenticate", b'Bearer realm="flowdock-mock control API"')


class AdminGate:
    """In front of /_mock: the admin, world control and create-only tokens when an admin token is
    configured, the HTML pages' security headers, and /_mock -> /_mock/."""

    def __init__(self, settings: Any) -> None:
        admin_token: str | None = settings.admin_token
        create_token: str | None = settings.create_token
        if create_token and not admin_token:
            raise ValueError("a create-only token needs an admin token (without one, creating is open)")
        self.admin_token = admin_token.encode() if admin_token else None
        self.create_token = create_token.encode() if create_token else None
        self.worlds: Worlds | None = settings.worlds
        self.routes = WorldRoutes(load_control_spec()) if admin_token else None

    def run(self, x: Exchange) -> Answer | None:
        scope = x.scope
        path: str = scope["path"]
        if not is_control_path(path):
            return None
        if not path.startswith(FILES_PREFIX):  # uploads carry their own policy (control/files.py)
            x.send = with_page_policy(x.send)  # the mock's own HTML pages (page_policy.py)
        token = self.admin_token
        if token is not None and not path.startswith(ADMIN_EXEMPT) and not admin_allowed(scope, token):
            return self._scoped(x)
        if path == CONTROL_PREFIX:  # the inspector lives at /_mock/
            return json_answer(308, None, [(b"location", b"/_mock/")])
        return None

    @staticmethod
    def done(x: Exchange) -> None:
        if x.control_caller is not None:
            CONTROL_CALLER.reset(x.control_caller)

    def _scoped(self, x: Exchange) -> Answer | None:
        """A request without the admin token: a job creating a world, or holding a world's token."""
        scope = x.scope
        bearer = bearer_token(scope)
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == WORLDS_PATH and self._may_create(bearer):
            return None
        world = None
        if bearer is not None and self.worlds is not None:
            world = self.worlds.controlled_by(bearer.decode("latin-1"))
        if world is None or self.routes is None:
            return self._refuse(scope)
        if method == "GET" and path == WORLDS_PATH:
            addressed: str | None = world.id  # the list, of this world alone
        else:
            addressed = self.routes.world_of(method, path, scope.get("query_string") or b"")
        if addressed != world.id:
            exc = errors.Forbidden(
                errors.OTHER_WORLDS_CONTROL, {"authorization": [errors.CONTROL_TOKEN_HINT]}
            )
            return error_answer(exc)
        x.control_caller = CONTROL_CALLER.set(world.id)  # reset in done()
        return None

    def _may_create(self, bearer: bytes | None) -> bool:
        """Creating a world: open, unless a create-only token is configured (then it, or the admin's)."""
        if self.create_token is None:
            return True
        return bearer is not None and hmac.compare_digest(bearer, self.create_token)

    @staticmethod
    def _refuse(scope: Scope) -> Answer:
        if wants_html(scope):  # a browser: the page that asks for the token (inspector/)
            page = prompt_page()
            headers = [(b"cache-control", b"no-store"), _REALM, *page_headers(page)]
            return bytes_answer(401, page, b"text/html; charset=utf-8", headers)
        body = {
            "message": errors.ADMIN_TOKEN_REQUIRED,
            "errors": {"authorization": [errors.ADMIN_TOKEN_HINT]},
        }
        return json_answer(401, body, [_REALM])
