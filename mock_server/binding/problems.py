"""Error rendering: every failure, Connexion's included, as Flowdock's ``{"message", "errors"}``.

The store's domain errors (``FlowdockError``), Connexion's validation and security problems,
routing 404/405 (with ``Allow`` from the spec), malformed multipart bodies and anything unexpected
all leave here in the one shape. ``install_error_handlers`` registers them on a Connexion app.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from typing import Any

from connexion.exceptions import OAuthScopeProblem, ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from mock_server import errors
from mock_server.binding.validation import NON_BLANK
from mock_server.contract import OperationIndex
from mock_server.middleware.types import REQUEST_STATE

log = logging.getLogger("flowdock_mock")

JSON = "application/json; charset=utf-8"


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
_UNEXPECTED = re.compile(r"^Additional properties are not allowed \((.+) (?:was|were) unexpected\)")
_BLANK_REASONS = (
    re.compile(r"^'\s*' (is too short|should be non-empty)$"),
    re.compile(rf"^.* does not match {re.escape(repr(NON_BLANK))}$", re.DOTALL),
)


def validation_errors(detail: str) -> dict[str, list[str]]:
    """Connexion's validation text -> Flowdock's ``{field: [reason]}`` (``base`` when no field)."""
    if m := _EXTRA.search(detail):
        return {name: ["is not a parameter of this operation"] for name in m.group(1).split(",")}
    if m := _UNEXPECTED.search(detail):
        suffix = _PATH_SUFFIX.search(detail)
        prefix = f"{suffix.group(1)}." if suffix else ""
        try:
            names = ast.literal_eval(f"[{m.group(1)}]")
        except (ValueError, SyntaxError):
            names = ["base"]
        return {f"{prefix}{name}": ["is not a parameter of this operation"] for name in names}
    if m := _PATH_SUFFIX.search(detail):
        reason = detail[: m.start()]
        blank = any(p.match(reason) for p in _BLANK_REASONS)
        return {m.group(1) or "base": [errors.BLANK if blank else reason]}
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


def _http_error(index: OperationIndex) -> Any:
    def handle(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
        if exc.status_code == 405:
            entry = index.match(request.url.path)  # the spec's methods for the path: the Allow header
            methods = entry.methods if entry is not None else ()
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


def install_error_handlers(app: Any, index: OperationIndex) -> None:
    """Register the renderers above on a Connexion app, most specific first."""
    app.add_error_handler(errors.FlowdockError, _domain)
    app.add_error_handler(ProblemException, _problem)
    app.add_error_handler(HTTPException, _http_error(index))
    app.add_error_handler(MultiPartException, _malformed_multipart)
    app.add_error_handler(Exception, _unexpected)
