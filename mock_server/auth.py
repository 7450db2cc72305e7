"""Credentials checked against the store, plugged into Connexion's security layer.

Flowdock accepted (reference §2.1, §2.2): HTTP Basic with a personal API token as the username
and any password (``""``, ``DUMMY``, ``BATMAN``, ``undefined``...); Basic with email + password;
``Authorization: Bearer`` with an OAuth access token (``?access_token=`` is mapped onto that
header by the normalisation step). Connexion enforces which of these an operation allows and
which OAuth scopes it needs, as the spec's ``security`` says; this module only answers "who is
this?" from the store. The answer is also recorded on the request so that every authenticated
response can carry ``Flowdock-User``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connexion.security import BasicSecurityHandler, OAuthSecurityHandler

if TYPE_CHECKING:
    from collections.abc import Callable

    from mock_server.store import Store

REQUEST_STATE = "flowdock"
"""Key of the per-request state dict that middleware.py puts in the ASGI scope."""


def _remember(request: Any, info: dict[str, Any]) -> dict[str, Any]:
    state = request.scope.get(REQUEST_STATE)
    if state is not None:
        state["user_id"] = info["sub"]
    return info


def basic_checker(store: Store) -> Callable[..., dict[str, Any] | None]:
    """``(username, password) -> token_info`` for HTTP Basic: API token first, then email."""

    def check(username: str, password: str, request: Any = None) -> dict[str, Any] | None:
        with store.lock:
            user = store.users.by_api_token(username) or store.users.by_email_password(username, password)
        if user is None:
            return None
        return _remember(request, {"sub": user.id, "scope": [], "via": "basic"})

    return check


def bearer_checker(store: Store) -> Callable[..., dict[str, Any] | None]:
    """``token -> token_info`` for OAuth access tokens issued by /oauth/token."""

    def check(token: str, request: Any = None) -> dict[str, Any] | None:
        with store.lock:
            found = store.oauth.token_info(token)
        if found is None:
            return None
        info = {"sub": found.user_id, "scope": list(found.scopes), "via": "oauth", "application": found.application_id}
        return _remember(request, info)

    return check


def security_map(store: Store) -> dict[str, type]:
    """Connexion security handler classes whose checkers are bound to ``store``."""
    check_basic = basic_checker(store)
    check_bearer = bearer_checker(store)

    class StoreBasic(BasicSecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            return check_basic

    class StoreOAuth(OAuthSecurityHandler):  # type: ignore[misc]
        def get_tokeninfo_func(self, security_definition: dict[str, Any]) -> Callable[..., Any]:
            return check_bearer

    return {"basic": StoreBasic, "oauth2": StoreOAuth}
