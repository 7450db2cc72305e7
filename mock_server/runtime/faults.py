"""Making the mock misbehave on purpose: ``Prefer: code=NNN`` and the fault table of /_mock/faults.

Both end in the same place: a response with the forced status and a body that conforms to the
contract, built here from the operation's declared response (an error status gets Flowdock's
``{"message": ..., "errors": {...}}``; a declared success status gets a minimal body valid for its
schema, or a 400 explaining why none can be produced). The forced response is sent after routing,
security and request validation (Prism's order), so a request that is invalid anyway still gets
its real error, and the store is never called.

The fault table is per-app runtime state (``Runtime.faults``); its random source is seeded, so
the same table and the same sequence of requests give the same failures.

Its ``streams`` part (``StreamFaults``) makes the world's Streaming API misbehave instead: cut
the open streams (now, or after N more events each), stall every stream (no byte, keep-alives
included) for S seconds, send the last event again to a client that reconnects, refuse new
stream connections with a 503 for S seconds. This module keeps the settings and the deadlines;
the world's stream hub (mock_server/stream/hub.py) subscribes to them and acts on its
connections.
"""

from __future__ import annotations

import http
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server import errors
from mock_server.contract import OperationIndex, deref

FORCED_HEADER = "flowdock-mock-forced"
"""Response header naming what forced the status: ``prefer`` or ``fault``."""

_PREFER_CODE = re.compile(r"(?:^|[\s,;])code=\"?(\d+)\"?", re.IGNORECASE)

ERROR_MESSAGES = {
    400: errors.VALIDATION_ERROR,
    401: errors.AUTHENTICATION_REQUIRED,
    403: errors.FORBIDDEN,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    410: errors.SOURCE_GONE,
    413: errors.PAYLOAD_TOO_LARGE,
    415: errors.UNSUPPORTED_MEDIA_TYPE,
    500: errors.INTERNAL_ERROR,
    501: errors.NOT_IMPLEMENTED,
}
"""The message a forced error carries: the mock's own text for the statuses it produces itself."""


class CannotSynthesize(Exception):
    """A schema this module cannot produce an instance of (a pattern, ``not``, deep recursion)."""


@dataclass(frozen=True, slots=True)
class Forced:
    """A ready response: status, JSON body (None: no body) and extra headers."""

    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Fault:
    """One row of the fault table: force ``status`` (or only delay) with ``probability``."""

    status: int | None = None
    latency_ms: int = 0
    probability: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "latency_ms": self.latency_ms, "probability": self.probability}


# --- building spec-conformant bodies ------------------------------------------------------------
class ResponseBook:
    """Every Flowdock operation's declared responses, and the forced response for a status."""

    def __init__(self, index: OperationIndex) -> None:
        self.spec = index.spec
        self.operations: dict[str, dict[str, Any]] = {}
        self.methods: dict[str, list[str]] = {}
        for entry in index.paths:
            for op in entry.operations.values():
                self.operations[op.operation_id] = op.definition.get("responses", {})
                self.methods[op.operation_id] = list(entry.methods)
        self._cache: dict[tuple[str, int, str], Forced] = {}

    def deref(self, node: Any) -> Any:
        return deref(self.spec, node)

    def forced(self, operation_id: str, status: int, why: str) -> Forced:
        """The response for ``status`` on this operation (a 400 explaining when none can be given)."""
        key = (operation_id, status, why)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._build(operation_id, status, why)
        return found

    def check(self, operation_id: str, status: int) -> str | None:
        """Why ``status`` cannot be forced on this operation, or None when it can."""
        forced = self._build(operation_id, status, "check")
        if forced.status != status:
            return str(forced.body["errors"]["status"][0])
        return None

    def _explain(self, text: str) -> Forced:
        return Forced(400, {"message": errors.VALIDATION_ERROR, "errors": {"status": [text]}})

    def _build(self, operation_id: str, status: int, why: str) -> Forced:
        responses = self.operations[operation_id]
        declared = self.deref(responses.get(str(status)))
        if not 100 <= status <= 599:
            return self._explain(f"{status} is not an HTTP status")
        if status >= 400:
            return self._error(operation_id, status, declared, why)
        if declared is None:
            listed = ", ".join(sorted(responses)) or "none"
            return self._explain(f"{status} is not a response {operation_id} declares (it declares {listed})")
        if any(h.get("required") for h in (declared.get("headers") or {}).values()) or status < 200:
            return self._explain(
                f"flowdock-mock cannot produce a conformant {status} response for {operation_id}"
            )
        content = declared.get("content") or {}
        if not content:
            return Forced(status, None, ((FORCED_HEADER, why),))
        media = next((m for m in content if m.startswith("application/json")), None)
        if media is None:
            return self._explain(
                f"flowdock-mock cannot produce a {', '.join(content)} body for {operation_id}"
            )
        if content[media].get("x-stream"):  # the JSON stream: events until it ends, not one body
            return self._explain(
                f"flowdock-mock cannot produce a {status} stream for {operation_id} on demand; connect to it"
            )
        try:
            body = self.instance(content[media].get("schema") or {})
        except CannotSynthesize as exc:
            return self._explain(
                f"flowdock-mock cannot produce a conformant {status} body for {operation_id}: {exc}"
            )
        return Forced(status, body, ((FORCED_HEADER, why),))

    def _error(self, operation_id: str, status: int, declared: dict[str, Any] | None, why: str) -> Forced:
        headers: list[tuple[str, str]] = [(FORCED_HEADER, why)]
        if status == 401:
            headers.append(("www-authenticate", 'Basic realm="flowdock-mock"'))
        elif status == 405:
            headers.append(("allow", ", ".join(self.methods[operation_id])))
        elif status in (429, 503):
            headers.append(("retry-after", "1"))
        schema = None
        if declared is not None:
            media = next(
                (m for m in (declared.get("content") or {}) if m.startswith("application/json")), None
            )
            schema = declared["content"][media].get("schema") if media else None
        if schema is not None and schema.get("$ref", "").rsplit("/", 1)[-1] != "Error":
            try:  # an error shape of its own (OAuth's {"error": ...}): a minimal valid instance
                return Forced(status, self.instance(schema), tuple(headers))
            except CannotSynthesize:
                pass
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = f"Error {status}"
        body = {
            "message": ERROR_MESSAGES.get(status, phrase),
            "errors": {"base": [f"forced by flowdock-mock ({why})"]},
        }
        return Forced(status, body, tuple(headers))

    def instance(self, schema: dict[str, Any], depth: int = 0) -> Any:
        """A minimal instance of an OpenAPI 3.0 schema: required properties only, smallest values."""
        if depth > 20:
            raise CannotSynthesize("the schema is too deep")
        schema = self.deref(schema)
        if "example" in schema:
            return schema["example"]
        if "enum" in schema:
            return schema["enum"][0]
        if "default" in schema:
            return schema["default"]
        if "allOf" in schema:
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for part in schema["allOf"]:
                part = self.deref(part)
                if "properties" not in part and "required" not in part:
                    return self.instance(part, depth + 1)
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
            return self.instance(merged, depth + 1)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self.instance(schema[key][0], depth + 1)
        if "not" in schema:
            raise CannotSynthesize("a 'not' constraint")
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        if kind is None:
            return None if schema.get("nullable") else {}
        if kind == "object":
            props = schema.get("properties", {})
            return {
                name: self.instance(props.get(name, {}), depth + 1) for name in schema.get("required", [])
            }
        if kind == "array":
            count = int(schema.get("minItems", 0))
            return [self.instance(schema.get("items", {}), depth + 1) for _ in range(count)]
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            low = schema.get("minimum", 0)
            if schema.get("exclusiveMinimum"):
                low += 1
            return int(low) if kind == "integer" else float(low)
        if kind == "boolean":
            return False
        raise CannotSynthesize(f"type {kind!r}")


_FORMATS = {
    "date-time": "2023-08-15T00:00:00.000Z",
    "date": "2023-08-15",
    "uri": "http://127.0.0.1:8080/",
    "url": "http://127.0.0.1:8080/",
    "email": "alice@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


_PATTERN_CANDIDATES = ("mock", "0", "a", "A", "mock-1", *("0" * n for n in (8, 16, 24, 32, 40, 64)))
"""Tried in turn against a ``pattern`` (the contract's are simple: hex tokens, slugs, no spaces)."""


def _string(schema: dict[str, Any]) -> str:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    pattern = schema.get("pattern")
    if pattern is None:
        text = "mock".ljust(low, "x")
        return text[:high] if high is not None else text
    for text in _PATTERN_CANDIDATES:
        if re.search(pattern, text) and len(text) >= low and (high is None or len(text) <= high):
            return text
    raise CannotSynthesize(f"no string matching {pattern!r}")


# --- stream faults ------------------------------------------------------------------------------
STREAM_FAULT_KEYS = ("cut_after_events", "stall_s", "refuse_s", "duplicate_on_reconnect")


class StreamFaults:
    """The stream faults of one world: what was set, and until when the timed ones hold.

    - ``cut_after_events``: every stream open when it is set ends after sending that many more
      events (0: at once); streams opened later are not cut. Its client reconnects.
    - ``stall_s``: for that many seconds from now, no stream sends a byte (events wait in their
      queues, keep-alives are skipped); then what waited is sent.
    - ``refuse_s``: for that many seconds from now, a stream connection is refused with 503 in
      Flowdock's error shape and a ``Retry-After``.
    - ``duplicate_on_reconnect``: while set, a user's new stream first receives again the last
      event that user's previous stream was sent.

    Setting them calls the listeners (the world's stream hub) with the settings, from the thread
    that set them.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.settings: dict[str, Any] = {}
        self.stall_until = 0.0
        self.refuse_until = 0.0
        self.cut_pending = 0
        """Streams a ``cut_after_events`` has still to end (the hub counts them down)."""
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener) if listener in self.listeners else None

    def apply(self, settings: dict[str, Any]) -> None:
        """Set the stream faults (``{}``: none); a cut and the timed faults start now."""
        now = time.monotonic()
        given = {k: settings[k] for k in STREAM_FAULT_KEYS if settings.get(k) is not None}
        if not given.get("duplicate_on_reconnect", True):
            del given["duplicate_on_reconnect"]
        with self.lock:
            self.settings = given
            self.stall_until = now + float(given["stall_s"]) if "stall_s" in given else 0.0
            self.refuse_until = now + float(given["refuse_s"]) if "refuse_s" in given else 0.0
            self.cut_pending = 0
        for listener in list(self.listeners):
            listener(given)

    def clear(self) -> None:
        self.apply({})

    @property
    def duplicate(self) -> bool:
        return bool(self.settings.get("duplicate_on_reconnect"))

    def stall_remaining(self) -> float:
        return max(0.0, self.stall_until - time.monotonic())

    def refuse_remaining(self) -> float:
        return max(0.0, self.refuse_until - time.monotonic())

    def export(self) -> dict[str, Any]:
        """The settings as given, and what is still in effect."""
        with self.lock:
            out: dict[str, Any] = dict(self.settings)
        out["stall_remaining_s"] = round(self.stall_remaining(), 3)
        out["refuse_remaining_s"] = round(self.refuse_remaining(), 3)
        out["cut_pending"] = self.cut_pending
        return out


# --- the fault table ----------------------------------------------------------------------------
class FaultTable:
    """operationId -> Fault, with its own seeded random source (re-seeded whenever it is replaced),
    and the world's stream faults (``streams``)."""

    def __init__(self, seed: int) -> None:
        self.default_seed = seed
        self.lock = threading.Lock()
        self.seed = seed
        self.rules: dict[str, Fault] = {}
        self.random = random.Random(seed)
        self.streams = StreamFaults()

    def replace(
        self, rules: dict[str, Fault], seed: int | None = None, streams: dict[str, Any] | None = None
    ) -> None:
        """Replace the operation faults; the stream faults too when ``streams`` is given (a PUT
        without it leaves them as they are, so re-saving the table does not cut streams again)."""
        with self.lock:
            self.seed = self.default_seed if seed is None else seed
            self.rules = dict(rules)
            self.random = random.Random(self.seed)
        if streams is not None:
            self.streams.apply(streams)

    def clear(self) -> None:
        self.replace({}, streams={})

    def export(self) -> dict[str, Any]:
        with self.lock:
            table = {"seed": self.seed, "faults": {op: f.to_dict() for op, f in sorted(self.rules.items())}}
        table["streams"] = self.streams.export()
        return table

    def draw(self, operation_id: str) -> Fault | None:
        """The fault to apply to this request, if any (one seeded draw per faulted request)."""
        if not self.rules:
            return None
        with self.lock:
            fault = self.rules.get(operation_id)
            if fault is None:
                return None
            if fault.probability < 1.0 and self.random.random() >= fault.probability:
                return None
            return fault


def prefer_code(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The status a ``Prefer: code=NNN`` header asks for, if any."""
    for name, value in headers:
        if name == b"prefer":
            m = _PREFER_CODE.search(value.decode("latin-1"))
            if m:
                digits = m.group(1).lstrip("0") or "0"
                if len(digits) > 3:  # no status has more; int() refuses past 4300 digits anyway
                    text = errors.NOT_A_STATUS.format(code=f"{digits[:8]}..." if len(digits) > 8 else digits)
                    raise errors.ValidationFailed.field("status", text)
                return int(digits)
    return None
