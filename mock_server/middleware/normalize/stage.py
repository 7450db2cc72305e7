"""The normalisation step as one pipeline stage: each part of a legacy request (path and method, query
string, body) rewritten onto the contract's canonical form, or refused in strict mode."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from mock_server import errors
from mock_server.middleware.exchange import Exchange, replay
from mock_server.middleware.input_guard import MAX_BODY_BYTES  # bodies above it are left for the guard (413)
from mock_server.middleware.normalize.bodies import (
    FLOW_TOKEN,
    body_flow_token,
    canonical_body,
    read_body,
)
from mock_server.middleware.normalize.paths import route_request
from mock_server.middleware.normalize.query import Pairs, rewrite_query
from mock_server.middleware.normalize.spec_index import Operation, Route, SpecIndex
from mock_server.middleware.normalize.values import Finding
from mock_server.middleware.responses import Answer, json_answer
from mock_server.middleware.types import BODY_FLOW_TOKEN, Scope

_REFUSE_EXEMPT = frozenset({errors.RULE_ACCESS_TOKEN, errors.RULE_CORS_PREFLIGHT})


@dataclass(slots=True)
class _Headers:
    """What the rules need from the request headers, in one scan."""

    content_type: str | None = None
    authorization: bytes | None = None
    length: int = 0
    chunked: bool = False

    @classmethod
    def scan(cls, headers: list[tuple[bytes, bytes]]) -> _Headers:
        found = cls()
        for key, value in headers:
            if key == b"content-type":
                found.content_type = value.decode("latin-1")
            elif key == b"content-length":
                found.length = int(value) if value.isascii() and value.isdigit() else 0
            elif key == b"transfer-encoding":
                found.chunked = b"chunked" in value.lower()
            elif key == b"authorization":
                found.authorization = value
        return found

    @property
    def has_body(self) -> bool:
        return self.length > 0 or self.chunked


@dataclass(slots=True)
class _Rewrite:
    """The canonical request being built for one legacy one: each step fills in its part."""

    path: str
    method: str
    route: Route | None
    operation: Operation | None
    receive: Any
    found: list[Finding] = dataclass_field(default_factory=list)
    query: Pairs = dataclass_field(default_factory=list)
    query_changed: bool = False
    authorization: bytes | None = None  # a new Authorization header (from ?access_token=)
    moved: dict[str, Any] = dataclass_field(default_factory=dict)  # query parameters bound for the body
    body: bytes | None = None  # None: the request's own body, unread
    content_type: bytes | None = None  # the new body's media type, when it changed


class Normalize:
    """Rewrites legacy request forms onto the contract (compatible mode) or refuses them (strict)."""

    def __init__(self, settings: Any = None, *, index: SpecIndex | None = None, strict: bool = False) -> None:
        self.index: SpecIndex = index if index is not None else settings.index
        self.strict = strict if settings is None else settings.strict

    async def run(self, x: Exchange) -> Answer | None:
        scope = x.scope
        state = x.state
        state.setdefault("normalizations", [])  # present, even empty, once the normaliser has run
        state.setdefault("violations", [])
        rewrite = self._route(scope, x.receive)
        headers = _Headers.scan(scope["headers"])
        if headers.length > MAX_BODY_BYTES:
            rewrite.operation = None  # left whole for the body guard's 413
        self._rewrite_query(scope.get("query_string"), headers, rewrite)
        if rewrite.operation is not None and (headers.has_body or rewrite.moved):
            await self._rewrite_body(scope.get("query_string"), headers, rewrite)
        if headers.authorization is None:  # credentials before the body (binding/security.py)
            self._note_body_flow_token(state, scope.get("query_string"), rewrite)
        refused = self._breaches(state, rewrite.found)
        if self.strict and refused:
            if rewrite.operation is not None:  # refused before routing: the journal still names it
                state["operation_id"] = rewrite.operation.operation_id
            allow = None
            if rewrite.route is not None and any(f.rule == errors.RULE_PATCH_AS_PUT for f in refused):
                allow = ", ".join(sorted(rewrite.route.operations))  # the contract's answer: 405 + Allow
            oauth = rewrite.path.startswith(("/oauth/authorize", "/oauth/token"))
            return _refuse(refused, oauth=oauth, allow=allow)
        self._applied(state, rewrite.found)
        if not rewrite.found and rewrite.body is None:
            return None
        x.scope = self._rewritten_scope(scope, rewrite)
        x.receive = rewrite.receive
        return None

    # -- the steps of a request
    def _route(self, scope: Scope, receive: Any) -> _Rewrite:
        """Path and method: the legacy spellings that reach an operation of the contract."""
        found: list[Finding] = []
        path, method, route, operation = route_request(self.index, scope["path"], scope["method"], found)
        return _Rewrite(path, method, route, operation, receive, found)

    def _rewrite_query(self, query_string: bytes | None, headers: _Headers, rewrite: _Rewrite) -> None:
        """Query string: access_token, boolean spellings, a write's body parameters."""
        op = rewrite.operation
        if query_string and (b"access_token" in query_string or (op is not None and op.scan_query)):
            rewrite.query, rewrite.query_changed, rewrite.authorization, rewrite.moved = rewrite_query(
                query_string, op, rewrite.method, headers.authorization, rewrite.found
            )

    async def _rewrite_body(self, query_string: bytes | None, headers: _Headers, rewrite: _Rewrite) -> None:
        """Body: parsed only when there is one (or query parameters to put in one)."""
        assert rewrite.operation is not None
        raw, complete = await read_body(rewrite.receive) if headers.has_body else (b"", True)
        if not complete:
            rewrite.receive = replay(raw, rewrite.receive, more=True)  # too big to be ours: the guard's 413
            return
        result = await canonical_body(
            raw, headers.content_type, rewrite.operation, rewrite.method, rewrite.moved, rewrite.found
        )
        rewrite.body = raw
        if result is None:
            return
        rewrite.body, rewrite.content_type, to_query = result
        if to_query:
            query = rewrite.query
            if not rewrite.query_changed and query_string:  # not parsed above: nothing in it changed
                query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
            present = {name for name, _ in query}
            rewrite.query = query + [(name, value) for name, value in to_query if name not in present]
            rewrite.query_changed = True

    @staticmethod
    def _note_body_flow_token(state: dict[str, Any], query_string: bytes | None, rewrite: _Rewrite) -> None:
        """An anonymous request's ``flow_token`` in the body, for the security layer to judge it
        before Connexion validates the body (a request with no credentials at all is then a 401)."""
        op = rewrite.operation
        if op is None or op.body is None or FLOW_TOKEN not in op.body.properties:
            return
        if b"flow_token=" in (query_string or b""):
            return
        state[BODY_FLOW_TOKEN] = body_flow_token(rewrite.body)

    @staticmethod
    def _breaches(state: dict[str, Any], found: list[Finding]) -> list[Finding]:
        """Note the contract breaches (for the journal); return them: strict mode refuses them."""
        refused = [f for f in found if f.rule not in _REFUSE_EXEMPT]
        violations: list[str] = state.setdefault("violations", [])
        for finding in refused:
            violations.append(f"{finding.field}: {finding.text()}")
        return refused

    @staticmethod
    def _applied(state: dict[str, Any], found: list[Finding]) -> None:
        """Note the rules applied to the request (for the journal)."""
        applied: list[str] = state.setdefault("normalizations", [])
        for finding in found:
            if finding.rule not in applied:
                applied.append(finding.rule)

    @staticmethod
    def _rewritten_scope(scope: Scope, rewrite: _Rewrite) -> Scope:
        """A copy of the scope carrying the canonical path, method, query, headers and body."""
        scope = dict(scope)
        if rewrite.path != scope["path"]:
            scope["path"] = rewrite.path
            scope["raw_path"] = quote(rewrite.path).encode()
        scope["method"] = rewrite.method
        if rewrite.query_changed:
            scope["query_string"] = urlencode(rewrite.query).encode()
        headers = scope["headers"]
        if rewrite.authorization is not None:
            headers = [*headers, (b"authorization", rewrite.authorization)]
        if rewrite.body is not None:
            if rewrite.content_type is not None or not rewrite.body:
                drop = (b"content-type", b"content-length", b"transfer-encoding")
                headers = [(k, v) for k, v in headers if k not in drop]
                if rewrite.body:
                    headers += [
                        (b"content-type", rewrite.content_type or b""),
                        (b"content-length", b"%d" % len(rewrite.body)),
                    ]
            rewrite.receive = replay(rewrite.body, rewrite.receive)
        scope["headers"] = headers
        return scope


def _refuse(findings: list[Finding], *, oauth: bool = False, allow: str | None = None) -> Answer:
    """Strict mode: 400 in Flowdock's shape, each broken rule under the field it concerns.

    On the OAuth endpoints the body is RFC 6749's ``invalid_request`` (what the spec declares
    there and OAuth clients parse), its description listing the same texts. A PATCH where the
    contract has only PUT is a method the path does not take: 405 with ``allow`` as the ``Allow``
    header, the body still naming the rule.
    """
    by_field: dict[str, list[str]] = {}
    for finding in findings:
        text = finding.text()
        texts = by_field.setdefault(finding.field, [])
        if text not in texts:
            texts.append(text)
    status = 400 if allow is None else 405
    message = errors.VALIDATION_ERROR if allow is None else errors.METHOD_NOT_ALLOWED
    payload: dict[str, Any] = {"message": message, "errors": by_field}
    if oauth and allow is None:
        described = "; ".join(f"{name}: {text}" for name, texts in by_field.items() for text in texts)
        payload = {"error": "invalid_request", "error_description": described}
    extra = [(b"allow", allow.encode())] if allow is not None else []
    return json_answer(status, payload, extra)
