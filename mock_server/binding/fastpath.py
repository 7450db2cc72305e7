"""Connexion 3.3 with its per-request set-up work moved to startup (docs/performance-report.md).

On every request Connexion rebuilds things that depend only on the operation: the decorator chain
around the handler (two ``inspect.signature`` calls and a fresh closure per layer), the URI parser,
and a jsonschema validator for each parameter value, each request body and each response body
(``Draft4Validator(schema)`` plus a deep copy of the parameter). The subclasses here build each of
these once, per operation or per schema object, and reuse it. Validation itself is unchanged:
the same validator classes, format checker, schemas and error texts, so every request is
validated exactly as before, only without rebuilding the validators. A response validator also
remembers the bodies it has passed, by their bytes (``PassedBodies``): the same bytes are not
parsed and judged again.

The caches live in the objects of one app (``validator_map()`` makes a fresh set per
``create_app``), never at module level, so apps built by tests do not share or leak state.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import re
import threading
from collections.abc import AsyncIterator
from typing import Any

import jsonschema_rs
import orjson
from connexion.apps.asynchronous import AsyncApi, AsyncApp, AsyncASGIApp, AsyncOperation
from connexion.context import receive, scope
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator
from connexion.exceptions import BadRequestProblem, NonConformingResponseBody
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
    TextResponseBodyValidator,
)
from connexion.validators.parameter import draft4_format_checker
from jsonschema import Draft4Validator

from mock_server.middleware.types import scope_header


class OrjsonJsonifier:
    """Connexion's Jsonifier interface over orjson: the same JSON, encoded several times faster."""

    _OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE

    def dumps(self, data: Any, **kwargs: Any) -> str:
        return orjson.dumps(data, option=self._OPTIONS).decode()

    def loads(self, data: str | bytes) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return data.decode() if isinstance(data, bytes) else data


# --- handlers: decorate once per operation ---------------------------------------------------------
class _CachedNamesParameterDecorator(AsyncParameterDecorator):  # type: ignore[misc]
    """Connexion's parameter decorator whose name sanitiser (``pythonic``: three regular
    expressions per parameter name, on every request) remembers each name it converted; the
    names are the spec's, so the cache is bounded by it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        sanitize: Any = getattr(self, "sanitize_fn")  # noqa: B009 (mypy: Connexion's attribute is untyped)
        self.sanitize_fn = functools.lru_cache(maxsize=1024)(sanitize)


class _OnceDecorator(StarletteDecorator):  # type: ignore[misc]
    """StarletteDecorator that wraps the handler once instead of on every request.

    The stock ``__call__`` calls ``self.decorate(function)`` (parameter and response decorators,
    each inspecting the handler's signature) and builds a URI parser per request. Both depend
    only on the operation, which is fixed for the operation object this decorator serves.
    """

    @property
    def _parameter_decorator_cls(self) -> type:
        return _CachedNamesParameterDecorator

    def __call__(self, function: Any) -> Any:
        decorated = self.decorate(function)
        parser: list[Any] = []

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not parser:
                parser.append(self.uri_parser)
            request = self.framework.get_request(uri_parser=parser[0], scope=scope, receive=receive)
            return await decorated(request)

        return wrapper


class _OnceOperation(AsyncOperation):  # type: ignore[misc]
    @functools.cached_property
    def fn(self) -> Any:
        return _OnceDecorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)(self._fn)


class _OnceApi(AsyncApi):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> AsyncOperation:
        return _OnceOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class _OnceASGIApp(AsyncASGIApp):  # type: ignore[misc]
    api_cls = _OnceApi


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[None]:
    """The server's lifespan: what exists when it starts (spec, validators, world) is frozen for the GC.

    Those ~65k objects live as long as the server; left in the collector's generations, every full
    collection during the load walks them all (about 12% of the CPU of a ``GET /flows``). No
    ``gc.collect()`` first: it would add ~40 ms to the startup to free a few dozen objects.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class FastAsyncApp(AsyncApp):  # type: ignore[misc]
    """``connexion.AsyncApp`` whose operations decorate their handler once, at the first request,
    and whose startup heap is frozen for the garbage collector (``serving``)."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        kwargs.setdefault("lifespan", serving)
        super().__init__(import_name, **kwargs)
        # AsyncApp hard-codes its inner app; swap it before any API is added (the middleware
        # stack is built lazily, on the first request).
        self._middleware_app = self.middleware.app = _OnceASGIApp()


# --- validators: build once per schema ---------------------------------------------------------------
class _Cycle(Exception):
    """The schema refers to itself; it stays with the exact validator only."""


def _refs_in(node: Any, found: set[str]) -> None:
    """Every ``$ref`` string under ``node``, into ``found``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            _refs_in(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs_in(item, found)


def _reachable(schema: Any) -> Any:
    """``schema`` with only the parts of its ``components`` that a ``$ref`` reaches.

    Connexion hands a body validator the operation's schema, its references already resolved, and
    the whole document's ``components`` beside it for any that are left (about 300 KB of JSON for
    every body schema of this contract, which references nothing in it). The compiled validator
    reads what it is given once, when built: kept whole, that was nine tenths of building each
    operation's validator on its first request. A reference it cannot follow keeps everything."""
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), dict):
        return schema
    kept: dict[str, Any] = {key: value for key, value in schema.items() if key != "components"}
    pending: set[str] = set()
    _refs_in(kept, pending)
    done: set[str] = set()
    components: dict[str, Any] = {}
    while pending:
        ref = pending.pop()
        done.add(ref)
        hash_, *path = [part.replace("~1", "/").replace("~0", "~") for part in ref.split("/")]
        if hash_ != "#":
            return schema  # another document's
        if path[:1] != ["components"]:
            continue  # a part of the schema itself, kept already
        *within, name = path[1:] or [""]
        node, into = schema["components"], components
        for part in [*within, name]:
            if not isinstance(node, dict) or part not in node:
                return schema
            node = node[part]
        for part in within:
            into = into.setdefault(part, {})
        into[name] = node
        found: set[str] = set()
        _refs_in(node, found)
        pending |= found - done
    if components:
        kept["components"] = components
    return kept


def _compiled_schema(schema: Any, *, nullable: bool, write_only: bool) -> Any:
    """``schema`` in plain Draft 4 for jsonschema-rs, with Connexion's OpenAPI extensions spelled out.

    Connexion's validators let ``None`` through ``type`` and ``enum`` where the node says
    ``nullable`` (or ``x-nullable``), and the response validator fails any node that says
    ``writeOnly``. Here those become ``"null"`` in ``type``, ``None`` in ``enum`` and an
    unsatisfiable ``not: {}``. Nodes next to ``$ref`` are left alone: Draft 4 ignores them.
    Only the ``components`` a reference reaches are kept (``_reachable``).
    """
    schema = _reachable(schema)
    active: set[int] = set()

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        if id(node) in active:
            raise _Cycle
        active.add(id(node))
        out = {key: convert(value) for key, value in node.items()}
        active.discard(id(node))
        if "$ref" in node:
            return out
        if nullable and (node.get("nullable") or node.get("x-nullable") is True):
            if "type" in out:
                kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
                out["type"] = [*kinds, "null"] if "null" not in kinds else kinds
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        if write_only and ("writeOnly" in node or "x-writeOnly" in node):
            out["not"] = {}
        return out

    return convert(schema)


class _FastThenExact:
    """jsonschema-rs decides what is valid; what it rejects is judged again by the exact validator.

    The compiled validator is at least as strict as Connexion's (it also checks ``uri``, and
    ``email`` by RFC 5321, where jsonschema checks less), so a value it accepts is one Connexion
    accepts; for anything else the jsonschema validator gives the verdict and the error text,
    exactly as before.
    """

    def __init__(self, exact: Any, fast: Any) -> None:
        self.exact = exact
        self.fast = fast

    def _fast_ok(self, instance: Any) -> bool:
        try:
            return bool(self.fast.is_valid(instance))
        except (ValueError, TypeError, OverflowError, RecursionError):  # a value it cannot take (huge int...)
            return False

    def validate(self, instance: Any) -> None:
        if not self._fast_ok(instance):
            self.exact.validate(instance)

    def is_valid_fast(self, instance: Any) -> bool:
        """The compiled validator's verdict alone (it also checks formats jsonschema skips)."""
        return self._fast_ok(instance)

    def is_valid(self, instance: Any) -> bool:
        return self._fast_ok(instance) or bool(self.exact.is_valid(instance))

    def iter_errors(self, instance: Any) -> Any:
        return iter(()) if self._fast_ok(instance) else self.exact.iter_errors(instance)


def fast_then_exact(exact: Any, schema: Any, *, nullable: bool, write_only: bool) -> Any:
    """``exact`` (a jsonschema validator) behind a compiled jsonschema-rs validator, when one can be built."""
    try:
        fast = jsonschema_rs.Draft4Validator(
            _compiled_schema(schema, nullable=nullable, write_only=write_only), validate_formats=True
        )
    except (_Cycle, ValueError, TypeError, RecursionError, jsonschema_rs.ReferencingError):
        # a self-referring or unusual schema: the exact validator alone
        return exact
    return _FastThenExact(exact, fast)


def _utf8(encoding: str) -> bool:
    """Whether a body validator's encoding (from the Content-Type's charset) is UTF-8, orjson's."""
    return encoding.lower().replace("-", "") == "utf8"


def _parse_json_response(self: Any, stream: Any) -> Any:
    """``JSONResponseBodyValidator._parse`` with orjson (UTF-8 bodies; others take the stock path)."""
    if not _utf8(self._encoding):
        return JSONResponseBodyValidator._parse(self, stream)
    body = b"".join(stream)
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise NonConformingResponseBody(str(e)) from None


JSON_BODY = "flowdock_mock.json_body"
"""Scope key under which the request body validator leaves ``(body bytes, parsed value)`` for the
handler's arguments (invoke.py ``Invoker.arguments_of``), which take the value once, instead of
parsing the same bytes again."""

_LONG_DIGITS = re.compile(rb"\d{19}")
"""19 digits in a row: a number orjson may round (beyond 64 bits it gives a float) where Python's
json gives the exact integer; a body holding one is parsed by Python's json alone."""


def _parse_json_request(self: Any, raw: bytes) -> Any:
    """``JSONRequestBodyValidator._parse`` of a body's bytes, a UTF-8 one through orjson where that
    gives the very same value.

    orjson refuses what Python's json takes beyond JSON proper (``NaN``, ``Infinity``, numbers
    beyond a double, lone surrogates, a byte order mark) and bytes that are not UTF-8: then, as for
    any text it refuses, Connexion's parse decides, decoding the body as it does (with its errors)
    and answering with its value or its 400. What orjson takes it parses to the values json does
    (duplicate keys: the last wins in both; tests/unit/test_fastpath.py), numbers of 19 digits or
    more aside, which never reach it; so a body orjson takes is not decoded a second time."""
    if _utf8(self._encoding) and not _LONG_DIGITS.search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    text = raw.decode(self._encoding)
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadRequestProblem(detail=str(e)) from None


async def _wrap_json_request(self: Any, receive: Any, *, scope: Any) -> Any:
    """``AbstractRequestBodyValidator.wrap_receive`` for a JSON body that has a length: the same
    messages read, parsed, validated and replayed, without the async generator Connexion streams
    them through, the parse ``_parse_json_request``'s; the parsed value is left in the scope
    (``JSON_BODY``). A request without a Content-Length, or with 0, takes Connexion's own path
    (its default body, its "RequestBody is required")."""
    length = scope_header(scope, b"content-length")
    if length is None or not int(length):
        return await JSONRequestBodyValidator.wrap_receive(self, receive, scope=scope)
    messages = []
    chunks = []
    more_body = True
    while more_body:
        message = await receive()
        messages.append(message)
        more_body = message.get("more_body", False)
        chunks.append(message.get("body", b""))
    raw = b"".join(chunks)
    body = _parse_json_request(self, raw)
    if body is not None:
        scope[JSON_BODY] = (raw, body)
    if not (body is None and self._nullable):
        self._validate(body)
    return self._insert_messages(receive, messages=messages), scope


STREAM_KEY = "x-stream"
"""Vendor key of a response schema whose body never ends (the Streaming API): not validated as one
body, which would wait for its end; its events are checked against spec/asyncapi.yaml instead."""


BYTES_KEY = "x-bytes"
"""Vendor key of a response schema whose body is opaque bytes under whatever type they were given
(an uploaded file, spec/control.yaml): not parsed as that type, which they need not be
(dispatch.py leaves such a response unvalidated)."""


class PassedBodies:
    """Response bodies each response validator has passed, by their exact bytes, so the same bytes
    are not parsed and validated again (a bounded memo, one per app).

    A response validator is a pure function of the body's bytes (its schema, media type and
    encoding are fixed per validator), so bytes it has passed once pass again: a list read again
    while nothing changed is checked by one dict lookup instead of a parse and a validation. What
    fails is never remembered; a body over ``max_body`` bytes is not remembered; the oldest bodies
    are forgotten first once ``budget`` bytes are held.
    """

    def __init__(self, budget: int = 8 * 1024 * 1024, max_body: int = 256 * 1024) -> None:
        self.budget = budget
        self.max_body = max_body
        self.held = 0
        self._passed: dict[tuple[Any, bytes], None] = {}
        self._lock = threading.Lock()  # apps served by several threads (tests) share nothing else

    def __contains__(self, key: tuple[Any, bytes]) -> bool:
        return key in self._passed

    def add(self, validator: Any, body: bytes) -> None:
        size = len(body)
        if size > self.max_body:
            return
        with self._lock:
            passed = self._passed
            while passed and self.held + size > self.budget:
                oldest = next(iter(passed))
                del passed[oldest]
                self.held -= len(oldest[1])
            if (validator, body) not in passed:
                passed[(validator, body)] = None
                self.held += size


def _remembering_wrap_send(passed: PassedBodies) -> Any:
    """``AbstractResponseBodyValidator.wrap_send`` that skips the bytes ``passed`` holds for it
    and, for a GET operation's answers, adds what it passes (a write's answer is new each time)."""

    def wrap_send(self: Any, send: Any) -> Any:
        messages: list[Any] = []
        remember = (self._scope or {}).get("method") == "GET"  # a write's answer is never sent again

        async def send_(message: Any) -> None:
            messages.append(message)
            if message["type"] == "http.response.start" or message.get("more_body", False):
                return
            body = b"".join(m.get("body", b"") for m in messages)
            if (self, body) not in passed:
                parsed = self._parse(iter((body,)))
                if not (parsed is None and self._nullable):
                    self._validate(parsed)
                if remember:
                    passed.add(self, body)
            while messages:
                await send(messages.pop(0))

        return send_

    return wrap_send


def _unless_stream(wrap_send: Any) -> Any:
    def wrap(self: Any, send: Any) -> Any:
        schema = self._schema
        if isinstance(schema, dict) and (schema.get(STREAM_KEY) or schema.get(BYTES_KEY)):
            return send
        return wrap_send(self, send)

    return wrap


def validator_map(parameter: Any = ParameterValidator) -> dict[str, Any]:
    """Connexion's validator map with each jsonschema validator built once per schema object.

    ``parameter`` is the parameter validator class to speed up (its error texts are kept).

    Connexion hands the validators the same schema dicts (parts of the loaded spec) on every
    request, so a validator is cached under the schema's identity, kept alive by the cache.
    """
    cache: dict[tuple[str, int], tuple[Any, Any]] = {}
    passed = PassedBodies()

    def once(kind: str, schema: Any, build: Any) -> Any:
        key = (kind, id(schema))
        hit = cache.get(key)
        if hit is None or hit[0] is not schema:
            hit = cache[key] = (schema, build())
        return hit[1]

    class Parameters(parameter):  # type: ignore[misc]
        """Valid values pass a cached validator; anything else takes ``parameter``'s own path,
        so errors (and their text) are exactly those of the class it extends."""

        def validate_parameter(
            self, parameter_type: str, value: Any, param: Any, param_name: Any = None
        ) -> Any:
            if value is not None and not (is_nullable(param) and is_null(value)):
                validator = once(
                    "parameter",
                    param,
                    lambda: fast_then_exact(
                        Draft4Validator(param.get("schema", param), format_checker=draft4_format_checker),
                        param.get("schema", param),
                        nullable=False,
                        write_only=False,
                    ),
                )
                if validator.is_valid(value):
                    return None
            return parameter.validate_parameter(parameter_type, value, param, param_name)

    def cached_validator(base: type, kind: str) -> type:
        response = issubclass(base, JSONResponseBodyValidator)
        attr = "validator" if response else "_validator"
        build = getattr(base, attr).fget

        def get(self: Any) -> Any:
            return once(
                kind,
                self._schema,
                lambda: fast_then_exact(build(self), self._schema, nullable=True, write_only=response),
            )

        members: dict[str, Any] = {attr: property(get), "__doc__": base.__doc__}
        if base is JSONResponseBodyValidator:
            members["_parse"] = _parse_json_response
        if base is JSONRequestBodyValidator:
            members["wrap_receive"] = _wrap_json_request
        if response:
            members["wrap_send"] = _unless_stream(_remembering_wrap_send(passed))
        return type(base.__name__, (base,), members)

    body = MediaTypeDict(VALIDATOR_MAP["body"])
    for media_type, base in body.items():
        if base in (JSONRequestBodyValidator, FormDataValidator, MultiPartFormDataValidator):
            body[media_type] = cached_validator(base, f"request:{base.__name__}")
    response = MediaTypeDict(VALIDATOR_MAP["response"])
    for media_type, base in response.items():
        if base in (JSONResponseBodyValidator, TextResponseBodyValidator):
            response[media_type] = cached_validator(base, f"response:{base.__name__}")
    return {"parameter": Parameters, "body": body, "response": response}
