"""The one normalisation step: legacy Flowdock client requests -> the contract's canonical form.

Real clients (docs/flowdock.md §1.1, §1.2, §8) send requests the contract never described: a ``/v1`` or
``/v2`` prefix, ``//flows``, ``/users/``, ``/flows.json``; PATCH for PUT; form-encoded or multipart
bodies where the contract takes JSON; every parameter in the query string of a POST with an empty
body and no Content-Type (go-flowdock); filters as a JSON body on a GET (flowdock-api-wrapper);
``tags`` as a comma string; booleans as ``1``/``0``/``"true"``; ``null`` for optional fields; and
``?access_token=`` for ``Authorization: Bearer``. This pipeline stage runs before routing and
validation and rewrites each of those onto the form the spec declares, so validation
and handlers only ever see canonical requests.

Every rewrite has a rule name (``mock_server.errors.RULE_*``). The names applied to a request go in
``scope["flowdock"]["normalizations"]`` and a readable line per contract breach in
``scope["flowdock"]["violations"]`` (the journal and the coverage report read both). In strict mode
a request that needs any rule but ``access-token`` is refused with 400 in Flowdock's error shape,
naming the rule, so a user checking a client's conformance sees every deviation.

The spec is indexed once (``SpecIndex``): which operation a path and method reach, which parameters
are query parameters, and the type of each body property. Per request the work is a header scan, a
dict lookup or a few regex matches, and body parsing only when a body is present.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from mock_server import errors
from mock_server.contract import OperationIndex, PathEntry
from mock_server.middleware.exchange import Exchange
from mock_server.middleware.exchange import replay as _replay
from mock_server.middleware.input_guard import MAX_BODY_BYTES  # bodies above it are left for the guard (413)
from mock_server.middleware.responses import Answer, json_answer
from mock_server.middleware.types import BODY_FLOW_TOKEN, Scope

Message = dict[str, Any]

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"
_NO_BODY_METHODS = frozenset({"GET", "DELETE", "HEAD"})
_VERSION_PREFIXES = ("/v1", "/v2")
_FLOW_TOKEN = "flow_token"
_INFLUX_PUSH = "/messages/influx/"
_TEAM_INBOX_PUSH = "/messages/team_inbox/"
_SLASHES = re.compile(r"//+")
_INTEGER = re.compile(r"-?\d+")
_REFUSE_EXEMPT = frozenset({errors.RULE_ACCESS_TOKEN, errors.RULE_CORS_PREFLIGHT})
_TRUE_VALUES: dict[Any, bool] = {"true": True, "false": False, "1": True, "0": False}


# --- the spec, indexed once ----------------------------------------------------------------------
@dataclass(slots=True)
class Field:
    """What a body property may hold, reduced to what the conversions need."""

    kind: str  # boolean | integer | number | string | tags | array | object | any
    nullable: bool = False
    properties: dict[str, Field] = dataclass_field(default_factory=dict)
    required: frozenset[str] = frozenset()

    @property
    def sensitive(self) -> bool:
        """True when a JSON value of this field may need converting (tags string, boolean)."""
        if self.kind in ("boolean", "tags"):
            return True
        return any(f.sensitive for f in self.properties.values())


@dataclass(slots=True)
class Operation:
    """One operation: its query parameters, its body's fields and the media types it consumes."""

    operation_id: str
    query: dict[str, str]  # name -> "int01" | "boolean" | "true" (a text enum with "true") | "other"
    body: Field | None
    consumes: frozenset[str]
    json_sensitive: bool
    scan_query: bool  # a query parameter may need respelling, or belong in the body


@dataclass(slots=True)
class Route:
    """A path template and its operations by (upper-case) method."""

    template: str
    operations: dict[str, Operation]
    keeps_suffix: bool  # the last segment is a file name, so ".json" is part of it


class SpecIndex:
    """Paths -> operations, with each operation's parameter locations and body field types.

    Built on the contract's ``OperationIndex`` (which matches paths onto templates); this adds
    what the conversions need to know about each operation.
    """

    def __init__(self, index: OperationIndex) -> None:
        self._index = index
        self.routes = {
            entry.template: Route(
                entry.template, self._operations(entry), entry.template.endswith("{filename}")
            )
            for entry in index.paths
        }

    def match(self, path: str) -> Route | None:
        """The route a concrete path reaches, literal paths first (as Connexion's router does)."""
        entry = self._index.match(path)
        return self.routes[entry.template] if entry is not None else None

    # -- building
    def _deref(self, node: Any) -> Any:
        return self._index.deref(node)

    def _operations(self, entry: PathEntry) -> dict[str, Operation]:
        found = {}
        for method, spec_op in entry.operations.items():
            op = spec_op.definition
            query = {}
            for param in [*spec_op.shared_parameters, *op.get("parameters", [])]:
                param = self._deref(param)
                if param.get("in") == "query":
                    query[param["name"]] = self._query_kind(self._deref(param.get("schema", {})))
            body = None
            consumes: frozenset[str] = frozenset()
            if "requestBody" in op:
                content = self._deref(op["requestBody"]).get("content", {})
                consumes = frozenset(content)
                schema = content.get(JSON_TYPE, {}).get("schema")
                body = self._field(schema) if schema is not None else Field("any")
            found[method] = Operation(
                spec_op.operation_id,
                query,
                body,
                consumes,
                body is not None and body.sensitive,
                body is not None or any(kind != "other" for kind in query.values()),
            )
        return found

    @staticmethod
    def _query_kind(schema: dict[str, Any]) -> str:
        if schema.get("type") == "boolean":
            return "boolean"
        if schema.get("type") == "integer" and sorted(schema.get("enum", [])) == [0, 1]:
            return "int01"
        if schema.get("type") == "string" and "true" in schema.get("enum", []):
            return "true"  # the stream's active=true|idle: Python clients send active=True
        return "other"

    def _field(self, schema: Any, depth: int = 0) -> Field:
        schema = self._deref(schema)
        if not isinstance(schema, dict) or depth > 6:
            return Field("any")
        nullable = bool(schema.get("nullable"))
        if "allOf" in schema and len(schema["allOf"]) == 1:
            inner = self._field(schema["allOf"][0], depth + 1)
            inner.nullable = inner.nullable or nullable
            return inner
        branches = [b for key in ("allOf", "oneOf", "anyOf") for b in schema.get(key, [])]
        if branches and "properties" not in schema:
            return self._merged(schema, branches, nullable, depth)
        kind = schema.get("type")
        if kind == "array":
            items = self._deref(schema.get("items", {}))
            return Field("tags" if items.get("type") == "string" else "array", nullable)
        if kind == "object" or "properties" in schema:
            props = {name: self._field(sub, depth + 1) for name, sub in schema.get("properties", {}).items()}
            return Field("object", nullable, props, frozenset(schema.get("required", [])))
        if kind in ("boolean", "integer", "number", "string"):
            return Field(kind, nullable)
        return Field("any", nullable)

    def _merged(self, schema: dict[str, Any], branches: list[Any], nullable: bool, depth: int) -> Field:
        """One object field for a body with one shape per event: every branch's properties.

        A field is required when every ``oneOf``/``anyOf`` branch requires it, or an ``allOf`` part does.
        """
        parts = [self._field(b, depth + 1) for b in branches]
        objects = [f for f in parts if f.kind == "object"]
        if not objects:
            return parts[0] if len(parts) == 1 else Field("any", nullable)
        props: dict[str, Field] = {}
        for part in objects:
            for name, sub in part.properties.items():
                props.setdefault(name, sub)
        every = [f.required for f in objects]
        required = frozenset.intersection(*every) if "allOf" not in schema else frozenset().union(*every)
        return Field("object", nullable, props, required)


# --- conversions ---------------------------------------------------------------------------------
@dataclass(slots=True)
class Finding:
    """One rule applied to one part of the request."""

    rule: str
    field: str
    detail: tuple[str, ...] = ()

    def text(self) -> str:
        return errors.rule_text(self.rule, *self.detail)


def _coerce_object(data: dict[str, Any], plan: Field, textual: bool, found: list[Finding]) -> dict[str, Any]:
    """Convert an object's values to the types ``plan`` declares (``textual``: they came as text)."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        spec = plan.properties.get(name)
        if spec is None:
            out[name] = value
        elif value is None:
            if spec.nullable or name in plan.required:
                out[name] = value  # meaningful, or validation will name it
            else:
                found.append(Finding(errors.RULE_NULL_OPTIONAL, name))
        else:
            out[name] = _coerce_value(name, value, spec, textual, found)
    return out


def _coerce_value(name: str, value: Any, spec: Field, textual: bool, found: list[Finding]) -> Any:
    kind = spec.kind
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        key = value.lower() if isinstance(value, str) else str(value) if value in (0, 1) else None
        if key in _TRUE_VALUES:
            # "true" is simply how a form says true; Python's True/False are a legacy spelling
            if not (textual and value in ("true", "false")):
                found.append(Finding(errors.RULE_BOOLEAN, name, ("a boolean", json.dumps(value))))
            return _TRUE_VALUES[key]
        return value
    if kind == "tags":
        if isinstance(value, str) and textual and "," not in value:
            return [value]  # one form field: how a form says a one-element array, no legacy form
        if isinstance(value, str):
            found.append(Finding(errors.RULE_TAGS_STRING, name))
            return [tag.strip() for tag in value.split(",") if tag.strip()]
        return value
    if not textual:
        if kind == "object" and isinstance(value, dict):
            return _coerce_object(value, spec, False, found)
        return value
    # Text from a form, multipart or query string: give it the declared JSON type.
    if isinstance(value, list) and kind != "array":
        value = value[-1]  # a repeated key of a single-valued field: the last one wins (Rails)
    if kind == "integer" and isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    if kind == "number" and isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if kind == "object" and isinstance(value, dict):
        return _coerce_object(value, spec, True, found)
    if kind == "array" and isinstance(value, str):
        return [value]
    return value


def _nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form pairs -> a dict: ``a[]`` and repeated keys make lists, ``a[b]`` makes objects (Rails)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key.endswith("]") and "[" in key:
            head, _, rest = key.partition("[")
            *parents, last = [head, *rest[:-1].split("][")]
        else:
            parents, last = [], key
        appends = last == "" and bool(parents)  # a bare "" key (form "=x") is just a key
        if appends:
            last = parents.pop()
        target: Any = out
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                break
        else:
            existing = target.get(last)
            if appends or last in target:
                if isinstance(existing, list):
                    existing.append(value)
                else:
                    target[last] = [value] if existing is None else [existing, value]
            else:
                target[last] = value
    return out


def _query_text(value: Any, kind: str, name: str, found: list[Finding]) -> str | None:
    """A JSON value moved into the query string, as the contract's text for that parameter."""
    if value is None:
        return None
    if isinstance(value, bool):
        if kind == "int01":
            found.append(Finding(errors.RULE_BOOLEAN, name, ("0 or 1", json.dumps(value))))
            return "1" if value else "0"
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _query_value(value: str, kind: str, name: str, found: list[Finding]) -> str:
    """A query parameter's text in the contract's spelling (``users=true`` -> ``users=1``)."""
    lowered = value.lower()
    if kind == "int01" and lowered in ("true", "false"):
        found.append(Finding(errors.RULE_BOOLEAN, name, ("0 or 1", json.dumps(value))))
        return "1" if lowered == "true" else "0"
    if kind == "boolean" and (lowered in ("1", "0") or (lowered in ("true", "false") and value != lowered)):
        found.append(Finding(errors.RULE_BOOLEAN, name, ("true or false", json.dumps(value))))
        return "false" if lowered in ("0", "false") else "true"
    if kind == "true" and lowered == "true" and value != "true":
        found.append(Finding(errors.RULE_BOOLEAN, name, ("true", json.dumps(value))))
        return "true"
    return value


# --- the middleware ------------------------------------------------------------------------------
_SOURCE_FIELDS = {
    errors.RULE_NO_CONTENT_TYPE: "content_type",
    errors.RULE_FORM_BODY: "body",
    errors.RULE_MULTIPART_BODY: "body",
}
Pairs = list[tuple[str, str]]


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
        path = scope["path"]
        route = self.index.match(path)
        if (
            route is None
            or path.endswith((".json", "/"))
            or "//" in path
            or path.startswith(_VERSION_PREFIXES)
        ):
            path, route = self._normalise_path(path, route, found)
        method = scope["method"]
        if (
            route is not None
            and method == "PATCH"
            and "PATCH" not in route.operations
            and "PUT" in route.operations
        ):
            method = "PUT"
            found.append(Finding(errors.RULE_PATCH_AS_PUT, "method"))
        operation = route.operations.get(method) if route is not None else None
        return _Rewrite(path, method, route, operation, receive, found)

    def _rewrite_query(self, query_string: bytes | None, headers: _Headers, rewrite: _Rewrite) -> None:
        """Query string: access_token, boolean spellings, a write's body parameters."""
        op = rewrite.operation
        if query_string and (b"access_token" in query_string or (op is not None and op.scan_query)):
            rewrite.query, rewrite.query_changed, rewrite.authorization, rewrite.moved = self._query(
                query_string, op, rewrite.method, headers.authorization, rewrite.found
            )

    async def _rewrite_body(self, query_string: bytes | None, headers: _Headers, rewrite: _Rewrite) -> None:
        """Body: parsed only when there is one (or query parameters to put in one)."""
        assert rewrite.operation is not None
        raw, complete = await _read_body(rewrite.receive) if headers.has_body else (b"", True)
        if not complete:
            rewrite.receive = _replay(raw, rewrite.receive, more=True)  # too big to be ours: the guard's 413
            return
        result = await self._body(
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
        if op is None or op.body is None or _FLOW_TOKEN not in op.body.properties:
            return
        if b"flow_token=" in (query_string or b""):
            return
        state[BODY_FLOW_TOKEN] = _body_flow_token(rewrite.body)

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
            rewrite.receive = _replay(rewrite.body, rewrite.receive)
        scope["headers"] = headers
        return scope

    def _normalise_path(
        self, path: str, route: Route | None, found: list[Finding]
    ) -> tuple[str, Route | None]:
        """Doubled slashes, /v1 or /v2, /messages/influx, a trailing slash, .json: applied only if the
        result routes."""
        rules: list[Finding] = []
        candidate = path
        if "//" in candidate:
            candidate = _SLASHES.sub("/", candidate)
            rules.append(Finding(errors.RULE_DOUBLE_SLASH, "path"))
        prefix = candidate[:3]
        if prefix in _VERSION_PREFIXES and (len(candidate) == 3 or candidate[3] == "/"):
            candidate = candidate[3:] or "/"
            rules.append(Finding(errors.RULE_VERSION_PREFIX, "path", (prefix,)))
        if candidate.startswith(_INFLUX_PUSH):  # python-flowdock 0.1 (2011): the team inbox's old name
            candidate = _TEAM_INBOX_PUSH + candidate[len(_INFLUX_PUSH) :]
            rules.append(Finding(errors.RULE_INFLUX_PUSH, "path"))
        if len(candidate) > 1 and candidate.endswith("/"):
            candidate = candidate.rstrip("/") or "/"
            rules.append(Finding(errors.RULE_TRAILING_SLASH, "path"))
        if candidate.endswith(".json"):
            stripped = self.index.match(candidate[:-5])
            if stripped is not None and not stripped.keeps_suffix:
                candidate = candidate[:-5]
                rules.append(Finding(errors.RULE_JSON_SUFFIX, "path"))
        if not rules:
            return path, route
        normalised = self.index.match(candidate)
        if normalised is None:
            return path, route  # not a Flowdock path either way: routing answers 404
        found.extend(rules)
        return candidate, normalised

    @staticmethod
    def _query(
        query_string: bytes,
        op: Operation | None,
        method: str,
        authorization: bytes | None,
        found: list[Finding],
    ) -> tuple[Pairs, bool, bytes | None, dict[str, Any]]:
        """access_token -> Authorization; ``users=true`` -> ``users=1``; a write's body params out.

        A parameter the contract takes in the query or the body (``flow_token``) is also copied
        into the body, so the body's schema (``flow`` unless ``flow_token``) sees it either way.
        """
        changed = False
        new_authorization = None
        kept: Pairs = []
        moved: Pairs = []
        takes_body = op is not None and op.body is not None and method not in _NO_BODY_METHODS
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if name == "access_token":
                changed = True
                found.append(Finding(errors.RULE_ACCESS_TOKEN, "access_token"))
                if authorization is None and new_authorization is None:
                    new_authorization = b"Bearer " + value.encode("latin-1")
                continue
            kind = op.query.get(name) if op is not None else None
            if kind is None and takes_body:
                changed = True
                moved.append((name, value))
                found.append(Finding(errors.RULE_QUERY_TO_BODY, name))
                continue
            in_body_too = op is not None and op.body is not None and name in op.body.properties
            if kind is not None and takes_body and in_body_too:  # flow_token: either place
                moved.append((name, value))  # the body's own value wins; the query keeps it too
            if kind is not None and kind != "other":
                spelled = _query_value(value, kind, name, found)
                changed = changed or spelled != value
                value = spelled
            kept.append((name, value))
        return kept, changed, new_authorization, _nest(moved)

    async def _body(
        self,
        raw: bytes,
        content_type: str | None,
        op: Operation,
        method: str,
        moved: dict[str, Any],
        found: list[Finding],
    ) -> tuple[bytes, bytes | None, Pairs] | None:
        """(body, content type, parameters for the query string), or None when ``raw`` is canonical."""
        media = content_type.split(";", 1)[0].strip().lower() if content_type else None
        data: dict[str, Any] | None = None
        textual = False
        source_rule = None
        if not raw:
            data = {}
        elif media is None:
            data, textual = _parse_unlabelled(raw)
            source_rule = errors.RULE_NO_CONTENT_TYPE
        elif media == JSON_TYPE or media.endswith("+json"):
            if op.body is not None and not op.json_sensitive and not moved and b"null" not in raw:
                return None  # nothing in it can need converting
            data = _parse_json(raw)
        elif media == FORM_TYPE:
            if FORM_TYPE in op.consumes and not moved:
                return None  # the contract's own form (the Push API): validated as that form
            data, textual = _parse_form(raw), True
            source_rule = None if FORM_TYPE in op.consumes else errors.RULE_FORM_BODY
        elif media == MULTIPART_TYPE:
            data, has_file = await _parse_multipart(raw, content_type or "")
            if has_file:
                return None  # a file upload: the contract's own multipart form, or a 415
            textual = True
            source_rule = errors.RULE_MULTIPART_BODY
        if data is None:
            return None  # unreadable or unknown: validation says so
        if op.body is None or method in _NO_BODY_METHODS:
            return self._body_to_query(data, op, method, found) if raw else None
        if JSON_TYPE not in op.consumes:
            return None  # no canonical JSON form to give it: validation answers

        plan = op.body
        before = len(found)
        if source_rule is not None:
            found.append(Finding(source_rule, _SOURCE_FIELDS[source_rule]))
        if plan.kind == "object":
            data = _coerce_object(data, plan, textual, found)
            if moved:
                data = {**_coerce_object(moved, plan, True, found), **data}
        elif moved:
            data = {**moved, **data}
        if len(found) == before and not moved:
            return None
        return json.dumps(data).encode(), b"application/json", []

    @staticmethod
    def _body_to_query(
        data: dict[str, Any], op: Operation, method: str, found: list[Finding]
    ) -> tuple[bytes, bytes | None, Pairs]:
        """A GET's or DELETE's body parameters, for the query string (where the query wins)."""
        if data:
            found.append(Finding(errors.RULE_BODY_TO_QUERY, "body", (method,)))
        pairs: Pairs = []
        for name, value in data.items():
            text = _query_text(value, op.query.get(name, "other"), name, found)
            if text is not None:
                pairs.append((name, text))
        return b"", None, pairs


# --- body helpers --------------------------------------------------------------------------------
def _body_flow_token(body: bytes | None) -> str | None:
    """The ``flow_token`` of a JSON body (the canonical form by now), if it is a non-empty string."""
    data = _parse_json(body) if body else None
    token = data.get(_FLOW_TOKEN) if data is not None else None
    return token if isinstance(token, str) and token else None


def _parse_json(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _parse_form(raw: bytes) -> dict[str, Any] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the body guard's 400
    return _nest(parse_qsl(text, keep_blank_values=True))


def _parse_unlabelled(raw: bytes) -> tuple[dict[str, Any] | None, bool]:
    """No Content-Type: JSON if it parses as a JSON object, else a form (docs/flowdock.md §1.2)."""
    data = _parse_json(raw)
    if data is not None:
        return data, False
    if raw.lstrip()[:1] in (b"{", b"["):
        return None, False
    form = _parse_form(raw)
    return (form or None), True


async def _parse_multipart(raw: bytes, content_type: str) -> tuple[dict[str, Any] | None, bool]:
    """Multipart fields as a dict, and whether any part is a file."""
    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", content_type.encode("latin-1"))]}
    try:
        async with Request(scope, _replay(raw, None)).form() as form:
            if any(isinstance(value, UploadFile) for _, value in form.multi_items()):
                return None, True
            return _nest([(k, v) for k, v in form.multi_items()]), False
    except MultiPartException:
        return None, False  # malformed: validation reports it


async def _read_body(receive: Any) -> tuple[bytes, bool]:
    """The whole body and True; or, past the size limit, what was read so far and False."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
        if size > MAX_BODY_BYTES:
            return b"".join(chunks), False
    return b"".join(chunks), True


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
