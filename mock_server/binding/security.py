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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from connexion.security import (
    NO_VALUE,
    ApiKeySecurityHandler,
    BasicSecurityHandler,
    BearerSecurityHandler,
    OAuthSecurityHandler,
)

from mock_server import errors
from mock_server.errors import Unauthorized
from mock_server.middleware.types import BODY_FLOW_TOKEN, REQUEST_STATE
from mock_server.store import keys as kinds

if TYPE_CHECKING:
    from mock_server.store import Store

CHECKER_KEY = "x-checker"
"""Vendor key of a security scheme naming the checker to use when it is not the scheme type's own."""


def _remember(request: Any, info: dict[str, Any]) -> dict[str, Any]:
    state = request.scope.get(REQUEST_STATE)
    if state is not None:
        state["user_id"] = info["sub"]
    return info


def record_legacy(request: Any, rule: str, field: str) -> None:
    """A legacy allowance applied to this request: recorded as the normaliser records its rules."""
    _record_in(request.scope.get(REQUEST_STATE) if request is not None else None, rule, field)


def _record_in(state: dict[str, Any] | None, rule: str, field: str) -> None:
    if state is None:
        return
    applied = state.setdefault("normalizations", [])
    if rule not in applied:
        applied.append(rule)
    state.setdefault("violations", []).append(f"{field}: {errors.rule_text(rule)}")


class LegacyAllowance:
    """Handed to handlers in ``token_info["legacy"]``: may this request use a legacy allowance?

    Compatible mode allows what published clients do beyond the contract (a personal API token
    creating a source) and records the rule; strict mode allows none of it.
    """

    __slots__ = ("allowed", "state")

    def __init__(self, request: Any, *, allowed: bool) -> None:
        # the request's state, not the request: the request's scope holds this object (in the
        # security context), and a cycle would leave every request to the garbage collector
        self.state = request.scope.get(REQUEST_STATE) if request is not None else None
        self.allowed = allowed

    def record(self, rule: str, field: str = "credentials") -> None:
        _record_in(self.state, rule, field)


def _user_of_token(store: Store, username: str, password: str) -> Any:
    return store.users.by_api_token(username)


def _user_of_login(store: Store, username: str, password: str) -> Any:
    return store.users.by_email_password(username, password)


BASIC_USERS: dict[str, Callable[[Store, str, str], Any]] = {
    kinds.API_TOKEN: _user_of_token,
    kinds.LOGIN: _user_of_login,
}
"""The user behind each kind ``kinds.CARRIERS[BASIC]`` lists (an OAuth client id is the
``oauthClient`` scheme's, judged by the OAuth store)."""


def basic_checker(
    current: Callable[[], Store], *, strict: bool = False
) -> Callable[..., dict[str, Any] | None]:
    """``(username, password) -> token_info`` for HTTP Basic: in the order of ``kinds.CARRIERS``
    (API token, then email and password), as the world router looks them up."""
    lookups = [BASIC_USERS[kind] for kind in kinds.CARRIERS[kinds.BASIC] if kind in BASIC_USERS]

    def check(username: str, password: str, request: Any = None) -> dict[str, Any] | None:
        store = current()
        user = None
        with store.lock:
            for lookup in lookups:
                user = lookup(store, username, password)
                if user is not None:
                    break
        if user is None:
            return None
        legacy = LegacyAllowance(request, allowed=not strict)
        return _remember(request, {"sub": user.id, "scope": [], "via": "basic", "legacy": legacy})

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


def _source_of_flow_token(store: Store, token: str, request: Any, strict: bool) -> Any:
    """A source's flow token: its live source (410 once deleted)."""
    try:
        return store.sources.authenticate_flow_token(token)
    except Unauthorized:
        return None


def _source_of_flow_api_token(store: Store, token: str, request: Any, strict: bool) -> Any:
    """A flow's API token: the flow's default source in compatible mode (rule ``flow-api-token``)."""
    flow = store.flows.by_api_token(token)
    if flow is None:
        return None
    if strict:
        raise Unauthorized(errors.rule_text(errors.RULE_FLOW_API_TOKEN))
    source = store.sources.api_token_source(flow)
    record_legacy(request, errors.RULE_FLOW_API_TOKEN, "flow_token")
    return source


FLOW_TOKEN_SOURCES: dict[str, Callable[[Store, str, Any, bool], Any]] = {
    kinds.FLOW_TOKEN: _source_of_flow_token,
    kinds.PUSH: _source_of_flow_api_token,
}
"""The source behind each kind ``kinds.CARRIERS[FLOW_TOKEN_PARAM]`` lists."""


def flow_token_checker(current: Callable[[], Store], *, strict: bool = False) -> Callable[..., Any]:
    """``flow_token -> token_info`` for integrations: 401 if unknown, 410 once its source is deleted.

    A flow's API token (the one its settings show, which the Ruby gem's ``post_to_thread`` users
    hold) stands for the flow's default source in compatible mode, created on first use (rule
    ``flow-api-token``); strict mode answers 401 naming the rule. The kinds are tried in the order
    of ``kinds.CARRIERS``, the order the world router follows.
    """
    lookups = [FLOW_TOKEN_SOURCES[kind] for kind in kinds.CARRIERS[kinds.FLOW_TOKEN_PARAM]]

    def check(token: str, request: Any = None) -> dict[str, Any] | None:
        store = current()
        source = None
        with store.lock:
            for lookup in lookups:
                source = lookup(store, token, request, strict)
                if source is not None:
                    break
        if source is None:
            return None
        return {"sub": None, "scope": [], "via": "flow_token", "source": source.id}

    return check


ANONYMOUS_BODY_METHODS = frozenset({"POST", "PUT"})


def security_map(current: Callable[[], Store], *, strict: bool = False) -> dict[str, type]:
    """Connexion security handler classes whose checkers ask ``current()`` for the store: the
    store of the request's world (runtime/worlds.py)."""
    check_basic = basic_checker(current, strict=strict)
    check_bearer = bearer_checker(current)
    check_client = oauth_client_checker()
    check_flow_token = flow_token_checker(current, strict=strict)

    class StoreBasic(BasicSecurityHandler):  # type: ignore[misc]
        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            return check_client if security_scheme.get(CHECKER_KEY) == "oauth_client" else check_basic

    class StoreFlowToken(ApiKeySecurityHandler):  # type: ignore[misc]
        """``flow_token`` in the query; or, on a POST/PUT with no Authorization header, in the body.

        Credentials come before the body: the normaliser, which reads bodies before Connexion
        does, leaves the body's flow_token in the request state (``body_flow_token``), so it is
        judged here like a query one, and a request with no credentials at all is a 401 before
        its body is validated. A request that does carry an Authorization header is judged by the
        other schemes only, so wrong credentials stay 401 and a token without the scope stays 403.
        """

        def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
            return check_flow_token

        def _get_verify_func(
            self, func: Any, loc: str, name: str, required_scopes: Any
        ) -> Callable[..., Any]:
            verify_query = super()._get_verify_func(func, loc, name, required_scopes)
            verify_token = self.check_api_key(func)

            def wrapper(request: Any) -> Any:
                if name in request.query_params:
                    return verify_query(request)
                if request.method in ANONYMOUS_BODY_METHODS and not request.headers.get("Authorization"):
                    token = (request.scope.get(REQUEST_STATE) or {}).get(BODY_FLOW_TOKEN)
                    if token:
                        return verify_token(request, token, required_scopes=required_scopes)
                return NO_VALUE  # no flow_token anywhere: 401 unless another scheme matched

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


class GateChecked(BearerSecurityHandler):  # type: ignore[misc]
    """The control API's ``controlToken`` (``type: http, scheme: bearer``, spec/control.yaml): the
    admin gate (middleware/admin_gate.py) has judged the token before routing, as it must for the
    inspector page and its feed too; here it only lets the request through to the spec's other
    alternative (``{}``), so Connexion neither asks for a token again nor warns about a checker."""

    def _resolve_func(self, security_scheme: dict[str, Any]) -> Callable[..., Any]:
        return lambda token: None

    def _get_verify_func(self, token_info_func: Any) -> Callable[..., Any]:
        return lambda request: NO_VALUE


CONTROL_SECURITY_MAP = {"bearer": GateChecked}
"""The control API's security handlers (spec/control.yaml declares only ``controlToken``)."""
