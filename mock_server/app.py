"""The application factory: spec + store + handlers + one error shape.

``create_app()`` wires, in this order: the corrected spec (spec/openapi.yaml), the store (built
from a world document unless one is given), the resolver binding handlers to that store, the
security checkers, and the error handlers that render every failure, validation and routing
included, as Flowdock's ``{"message": ..., "errors": {...}}``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

import connexion
import yaml
from connexion.exceptions import OAuthScopeProblem, ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.options import SwaggerUIOptions
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from mock_server import errors
from mock_server.auth import REQUEST_STATE, security_map
from mock_server.cors import CorsMiddleware
from mock_server.fastpath import FastAsyncApp, FastFlaskApp, OrjsonJsonifier, validator_map
from mock_server.faults import FaultMiddleware
from mock_server.input_guard import InputGuardMiddleware
from mock_server.journal import JournalMiddleware
from mock_server.middleware import RequestStateMiddleware
from mock_server.multipart import closing_uploads
from mock_server.normalize import NormalizeMiddleware, SpecIndex
from mock_server.oauth_wire import TokenResponseEncoding
from mock_server.resolver import CONTROL_TAG_MODULES, FlowdockResolver
from mock_server.resources import control_spec_path, default_world_path, spec_path
from mock_server.runtime import Runtime
from mock_server.safety_net import SafetyNetMiddleware
from mock_server.store import Store, StoreConfig
from mock_server.validation import NamedParameterValidator

log = logging.getLogger("flowdock_mock")


class _QuietMultipleContentTypes(logging.Filter):
    """Drops Connexion's "this operation accepts multiple content types" warning.

    Connexion logs it at WARNING on every request to an operation that declares more than one
    request media type (the message posts take JSON and multipart; the OAuth token endpoint, JSON
    and form): one line per POST in a served mock's log, about nothing the user can change.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("this operation accepts multiple content types")


_QUIET = _QuietMultipleContentTypes()
logging.getLogger("connexion.operations.openapi3").addFilter(_QUIET)  # idempotent: same object

JSON = "application/json; charset=utf-8"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def _load_yaml(path: Any) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when PyYAML has it
    with open(path, encoding="utf-8") as fh:
        doc: dict[str, Any] = yaml.load(fh, Loader=loader)
    return doc


def load_spec() -> dict[str, Any]:
    """The corrected contract as a dict."""
    spec = _load_yaml(spec_path())
    spec.pop("x-error-responses", None)  # only a YAML anchor holder, merged where used
    return spec


def load_control_spec() -> dict[str, Any]:
    """The control API's own contract (spec/control.yaml)."""
    return _load_yaml(control_spec_path())


def load_default_world() -> dict[str, Any]:
    """The default world (fixtures/default-world.json, the generator's output for its defaults)."""
    with open(default_world_path(), encoding="utf-8") as fh:
        world: dict[str, Any] = json.load(fh)
    return world


# --- error rendering: one shape for everything -------------------------------------------------
def flowdock_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status,
        body=json.dumps(body),
        content_type=JSON,
        mimetype="application/json",
        headers=headers or {},
    )


_PATH_SUFFIX = re.compile(r" - '([^']*)'$")
_REQUIRED = re.compile(r"^'([^']+)' is a required property")
_PARAMETER = re.compile(r"parameter '([^']+)'")
_EXTRA = re.compile(r"Extra \w+ parameter\(s\) (.+) not in spec")


def validation_errors(detail: str) -> dict[str, list[str]]:
    """Connexion's validation text -> Flowdock's ``{field: [reason]}`` (``base`` when no field)."""
    if m := _EXTRA.search(detail):
        return {name: ["is not a parameter of this operation"] for name in m.group(1).split(",")}
    if m := _PATH_SUFFIX.search(detail):
        return {m.group(1) or "base": [detail[: m.start()]]}
    if m := _REQUIRED.search(detail):
        return {m.group(1): [errors.BLANK]}
    if m := _PARAMETER.search(detail):
        return {m.group(1): [detail]}
    return {"base": [detail]}


_OAUTH_PATHS = ("/oauth/authorize", "/oauth/token")


def _problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
    status = exc.status_code
    detail = str(exc.detail or exc.title or "")
    if status in (400, 415) and (state := request.scope.get(REQUEST_STATE)) is not None:
        state.setdefault("violations", []).append(detail)  # the journal and coverage report it
    if status == 400 and request.url.path.startswith(_OAUTH_PATHS):
        # OAuth clients parse RFC 6749 §5.2 bodies, and the spec declares that shape for these 400s.
        return flowdock_response(400, {"error": "invalid_request", "error_description": detail})
    if status == 400:
        return flowdock_response(
            400, {"message": errors.VALIDATION_ERROR, "errors": validation_errors(detail)}
        )
    if status == 401:
        message = (
            errors.AUTHENTICATION_REQUIRED if "No authorization" in detail else errors.INVALID_CREDENTIALS
        )
        return flowdock_response(
            401, {"message": message}, {"WWW-Authenticate": 'Basic realm="flowdock-mock"'}
        )
    if status == 403:
        return flowdock_response(403, {"message": errors.INSUFFICIENT_SCOPE, "errors": {"scope": [detail]}})
    if status == 415:
        return flowdock_response(
            415, {"message": errors.UNSUPPORTED_MEDIA_TYPE, "errors": {"content_type": [detail]}}
        )
    if status >= 500:
        log.error("server problem: %s", detail)
        return flowdock_response(status, {"message": errors.INTERNAL_ERROR, "errors": {"base": [detail]}})
    return flowdock_response(status, {"message": detail or errors.FORBIDDEN})


def _domain(request: ConnexionRequest, exc: errors.FlowdockError) -> ConnexionResponse:
    return flowdock_response(exc.status, exc.to_body())


def _malformed_multipart(request: ConnexionRequest, exc: MultiPartException) -> ConnexionResponse:
    """A multipart body Starlette cannot split (no boundary, garbage): the client's fault, a 400."""
    return flowdock_response(400, {"message": errors.VALIDATION_ERROR, "errors": {"body": [exc.message]}})


def _unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    log.exception("unhandled error", exc_info=exc)
    return flowdock_response(500, {"message": errors.INTERNAL_ERROR})


class _AllowTable:
    """The spec's methods for each path template, for 405 ``Allow`` headers."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.rows = []
        for template, item in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
            literal = "{" not in template
            methods = sorted(m.upper() for m in item if m in HTTP_METHODS)
            self.rows.append((not literal, pattern, methods))
        self.rows.sort(key=lambda row: row[0])  # literal paths first, as the router does

    def allowed(self, path: str) -> list[str]:
        for _, pattern, methods in self.rows:
            if pattern.match(path):
                return methods
        return []


def _http_error(allow: _AllowTable) -> Any:
    def handle(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        if exc.status_code == 405:
            methods = allow.allowed(request.url.path)
            return flowdock_response(
                405, {"message": errors.METHOD_NOT_ALLOWED}, {"Allow": ", ".join(methods)}
            )
        if exc.status_code == 404:
            return flowdock_response(404, {"message": errors.NOT_FOUND})
        if isinstance(exc, OAuthScopeProblem):  # a starlette HTTPException, not a ProblemException
            body = {"message": errors.INSUFFICIENT_SCOPE, "errors": {"scope": [str(exc.detail)]}}
            return flowdock_response(403, body)
        return flowdock_response(exc.status_code, {"message": str(exc.detail)})

    return handle


def create_app(
    store: Store | None = None,
    *,
    world: dict[str, Any] | None = None,
    config: StoreConfig | None = None,
    validate_responses: bool = True,
    strict: bool | None = None,
    journal_size: int = 1000,
    latency_ms: int = 0,
    admin_token: str | None = None,
    flavor: str = "async",
) -> Any:
    """Create and configure one mock server: a fresh store unless ``store`` is given.

    ``world`` replaces the default dataset; ``validate_responses`` checks every response body
    against the spec (a violation is a 500, so tests fail loudly); ``strict`` refuses query
    parameters the contract does not declare and every legacy request form (normalize.py) with a
    400; when not given it is read from the environment, ``FLOWDOCK_MOCK_STRICT=1``.
    ``journal_size`` bounds the request journal, ``latency_ms`` delays every Flowdock request, and
    ``admin_token`` (when set) guards the control API (runtime.py, journal.py).
    """
    if strict is None:
        strict = os.environ.get("FLOWDOCK_MOCK_STRICT", "").strip().lower() in ("1", "true", "yes", "on")
    spec = load_spec()
    if store is None:
        store = Store(world if world is not None else load_default_world(), config)
    runtime = Runtime(store, spec, journal_size=journal_size, latency_ms=latency_ms, admin_token=admin_token)
    # Connexion's AsyncApp with its per-request set-up moved to startup (fastpath.py); the
    # internal ``flavor="flask"`` builds the FlaskApp equivalent, only to measure it (README).
    asynchronous = flavor == "async"
    app_cls = FastAsyncApp if asynchronous else FastFlaskApp
    app = app_cls(__name__, middlewares=None, jsonifier=OrjsonJsonifier())
    app.add_api(
        spec,
        resolver=FlowdockResolver(spec, store, coroutines=asynchronous),
        security_map=security_map(store),
        validator_map=closing_uploads(validator_map(NamedParameterValidator)),
        validate_responses=validate_responses,
        strict_validation=strict,
        pythonic_params=True,
        # Publish the corrected spec at /openapi.json; no Swagger UI (not installed, not needed).
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=True),
    )
    control = load_control_spec()
    app.add_api(
        control,
        base_path="/_mock",
        resolver=FlowdockResolver(
            control,
            store,
            package="mock_server.control",
            tag_modules=CONTROL_TAG_MODULES,
            bindings=dict.fromkeys(("state", "journal", "coverage", "faults"), runtime),
        ),
        validate_responses=validate_responses,
        pythonic_params=True,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=True),
    )
    app.add_error_handler(errors.FlowdockError, _domain)
    app.add_error_handler(ProblemException, _problem)
    app.add_error_handler(HTTPException, _http_error(_AllowTable(spec)))
    app.add_error_handler(MultiPartException, _malformed_multipart)
    app.add_error_handler(Exception, _unexpected)
    # Added first, so outermost: an exception escaping the layers outside Connexion's exception
    # handling (below) still gets Flowdock's 500 instead of no response (safety_net.py says why).
    app.add_middleware(SafetyNetMiddleware, position=connexion.middleware.MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(
        RequestStateMiddleware, position=connexion.middleware.MiddlewarePosition.BEFORE_EXCEPTION
    )
    # Right inside the request state, outside everything else: it sees the request as the client
    # sent it and the final status, and reads what the inner layers recorded (journal.py).
    app.add_middleware(
        JournalMiddleware,
        position=connexion.middleware.MiddlewarePosition.BEFORE_EXCEPTION,
        journal=runtime.journal,
        latency_ms=latency_ms,
        admin_token=admin_token,
    )
    # Inside the request state (they record in it), outside everything that routes or validates:
    # CORS answers preflights for any path; the normaliser maps legacy request forms onto the spec.
    app.add_middleware(CorsMiddleware, position=connexion.middleware.MiddlewarePosition.BEFORE_EXCEPTION)
    # Before the normaliser and everything else that routes or parses a body: absurd URLs and
    # bodies (too large, undecodable, nested too deep, overflowing ints) get a 4xx, never a 500.
    app.add_middleware(
        InputGuardMiddleware, position=connexion.middleware.MiddlewarePosition.BEFORE_EXCEPTION
    )
    app.add_middleware(
        NormalizeMiddleware,
        position=connexion.middleware.MiddlewarePosition.BEFORE_EXCEPTION,
        index=SpecIndex(spec),
        strict=strict,
    )
    # Outside response validation, which checks the JSON the token handler returns: a 200 from
    # /oauth/token is re-encoded as a form unless the client sent Accept: application/json.
    app.add_middleware(
        TokenResponseEncoding, position=connexion.middleware.MiddlewarePosition.BEFORE_VALIDATION
    )
    # After routing, security and validation (the operation is known, the request is valid):
    # Prefer: code=NNN and the fault table answer in place of the handler (faults.py).
    app.add_middleware(
        FaultMiddleware,
        position=connexion.middleware.MiddlewarePosition.BEFORE_CONTEXT,
        book=runtime.book,
        table=runtime.faults,
    )
    app.store = store
    app.spec = spec
    app.runtime = runtime
    return app
