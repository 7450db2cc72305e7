"""Credentials checked against the store, plugged into Connexion's security layer.

Flowdock accepted (docs/flowdock.md §2.1, §2.2): HTTP Basic with a personal API token as the username
and any password (``""``, ``DUMMY``, ``BATMAN``, ``undefined``...); Basic with email + password;
``Authorization: Bearer`` with an OAuth access token (``?access_token=`` is mapped onto that
header by the normalisation step). Connexion enforces which of these an operation allows and
which OAuth scopes it needs, as the spec's ``security`` says; this module only answers "who is
this?" from the store of the request's world (chosen before routing by middleware/worlds.py from
the same credentials). The answer is also recorded on the request so that every authenticated
response can carry ``Flowdock-User``.

Two more kinds of caller, each a scheme of the spec: a source's ``flowToken``
(docs/flowdock.md §2.3: an API key in the query, or in the body of an anonymous POST/PUT, which
the handler then reads), and an OAuth client authenticating to ``/oauth/token`` with HTTP Basic (``oauthClient``,
RFC 6749 §2.3.1), whose credentials the OAuth store judges so that failures come out as RFC 6749
errors.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from connexion.security import ApiKeySecurityHandler, BasicSecurityHandler, OAuthSecurityHandler

from mock_server.errors import Unauthorized
from mock_server.middleware.types import REQUEST_STATE

if TYPE_CHECKING:
    from collections.abc import Callable

    from mock_server.store import Store

CHECKER_KEY = "x-checker"
"""Vendor key of a security scheme naming the checker to use when it is not the scheme type's own."""


def _remember(request: Any, info: dict[str, Any]) -> dict[str, Any]:
    state = request.scope.get(REQUEST_STATE)
    if state is not None:
        state["user_id"] = info["sub"]
    return info


def basic_checker(current: Callable[[], Store]) -> Callable[..., dict[str, Any] | None]:
    """``(username, password) -> token_info`` for HTTP Basic: API token first, then email."""

    def check(username: str, password: str, request: Any = None) -> dict[str, Any] | None:
        store = current()
        with store.lock:
            user = store.users.by_api_token(username) or store.users.by_email_password(username, password)
        if user is None:
            return None
        return _remember(request, {"sub": user.id, "scope": [], "via": "basic"})

    return check


def bearer_checker(current: Callable[[], Store]) -> Callable[..., dict[str, Any] | None]:
    """``token -> token_info`` for OAuth access tokens issued by /oauth/token."""

    def check(token: str, request: Any = None) -> dict[str, Any] | None:
        store = current()
        with store.lock:
            found = store.oauth.token_info(token)
        if found is None:
            return None
        info = {
            "sub": found.user_id,
            "scope": list(found.scopes),
            "via": "oauth",
            "application": found.application_id,
        }
        return _remember(request, info)

    return check


def oauth_client_checker() -> Callable[..., dict[str, Any]]:
    """``(client_id, client_secret) -> token_info`` for /oauth/token; the store judges them later.

    Never None: a wrong secret must come back as RFC 6749 ``invalid_client``, not Flowdock's 401.
    """

    def check(username: str, password: str) -> dict[str, Any]:
        return {"sub": None, "scope": [], "via": "oauth_client", "client": (username, password)}

    return check


def flow_token_checker(current: Callable[[], Store]) -> Callable[..., Any]:
    """``flow_token -> token_info`` for integrations: 401 if unknown, 410 once its source is deleted."""

    def check(token: str) -> dict[str, Any] | None:
        store = current()
        try:
            with store.lock:
                source = store.sources.authenticate_flow_token(token)
        except Unauthorized:
            return None
        return {"sub": None, "scope": [], "via": "flow_token", "source": source.id}

    return check


ANONYMOUS_BODY_METHODS = frozenset({"POST", "PUT"})


def security_map(current: Callable[[], Store]) -> dict[str, type]:
    """Connexion security handler classes whose checkers ask ``current()`` for the store: the
    store of the request's world (runtime/worlds.py)."""
    check_basic = basic_checker(current)
    check_bearer = bearer_checker(current)
    check_client = oauth_client_checker()
    check_flow_token = flow_token_checker(current)

    class StoreBasic(BasicSecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            return check_client if security_scheme.get(CHECKER_KEY) == "oauth_client" else check_basic

    class StoreFlowToken(ApiKeySecurityHandler):  # type: ignore[misc]
        """``flow_token`` in the query; or, on a POST/PUT with no Authorization header, in the body.

        The body is not read at this stage, so such a request passes as anonymous and the
        operation's handler authenticates the body's flow_token (or answers 401 without one).
        A request that does carry an Authorization header is judged by the other schemes only, so
        wrong credentials stay 401 and a token without the scope stays 403.
        """

        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            return check_flow_token

        def _get_verify_func(
            self, func: Any, loc: str, name: str, required_scopes: Any
        ) -> Callable[..., Any]:
            verify_query = super()._get_verify_func(func, loc, name, required_scopes)

            def wrapper(request: Any) -> Any:
                if name in request.query_params:
                    return verify_query(request)
                if request.method in ANONYMOUS_BODY_METHODS and not request.headers.get("Authorization"):
                    return {"sub": None, "scope": [], "via": "anonymous"}
                return verify_query(request)  # NO_VALUE: no flow_token anywhere we can see

            return wrapper

    class StoreOAuth(OAuthSecurityHandler):  # type: ignore[misc]
        def get_tokeninfo_func(self, security_definition: dict[str, Any]) -> Callable[..., Any]:
            return check_bearer

    # Connexion asks inspect.signature, on every request, whether a checker takes ``request`` or
    # ``required_scopes``; the checkers are fixed per app, so each is inspected once.
    accepts_kwarg = staticmethod(functools.cache(BasicSecurityHandler._accepts_kwarg))
    for handler in (StoreBasic, StoreOAuth, StoreFlowToken):
        handler._accepts_kwarg = accepts_kwarg

    return {"basic": StoreBasic, "oauth2": StoreOAuth, "apiKey": StoreFlowToken}
