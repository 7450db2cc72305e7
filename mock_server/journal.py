"""The request journal and contract coverage, kept by one ASGI middleware.

Every request to a Flowdock path leaves one ``Entry`` in a bounded ring (``deque(maxlen=N)``:
memory stays flat however long the server runs) and bumps the coverage counters of its operation
(one counter per operation and status, so they are bounded by the contract's size). What a client
sent is kept raw and cheap to record; credentials are redacted only when the journal is read.
Requests to the mock's own ``/_mock`` routes are not journaled; the same middleware checks the
admin token there, when one is configured.

The middleware reads the per-request state dict ``scope["flowdock"]`` (middleware.py) after the
request: ``user_id`` (auth.py), ``normalizations`` and ``violations`` (the normaliser and the
validation error handler), ``forced`` (faults.py). The operationId comes from Connexion's routing
context, which Connexion fills in the same scope.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import itertools
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from mock_server import errors

Scope = dict[str, Any]

CONTROL_PREFIX = "/_mock"
ADMIN_EXEMPT = ("/_mock/health", "/_mock/files/")
"""Open even with an admin token: the ready check, and the download target Flowdock clients follow."""

BODY_LIMIT = 4096
"""Bytes of each request body kept in the journal."""
REDACTED = "[redacted]"
SECRET_FIELDS = frozenset(
    {"access_token", "refresh_token", "password", "client_secret", "code", "flow_token", "api_token", "token"}
)
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-flowdock-mock-admin-token"})

access_log = logging.getLogger("flowdock_mock.access")

_ROUTING = "connexion_routing"


@dataclass(slots=True)
class Entry:
    """One journaled request, as recorded (raw; ``to_dict`` redacts)."""

    id: int
    time: float
    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    body_size: int
    operation_id: str | None
    status: int
    duration: float
    user_id: int | None
    normalizations: list[str]
    violations: list[str]
    forced: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.time))
            + f".{int(self.time % 1 * 1000):03d}Z",
            "method": self.method,
            "path": self.path,
            "query": redact_query(self.query),
            "operationId": self.operation_id,
            "status": self.status,
            "duration_ms": round(self.duration * 1000, 3),
            "user_id": self.user_id,
            "headers": redact_headers(self.headers),
            "body": redact_body(self.body, self.body_size, self.headers),
            "normalizations": list(self.normalizations),
            "violations": list(self.violations),
            "forced": self.forced,
        }


# --- redaction (at read time) -------------------------------------------------------------------
def redact_query(query: bytes) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, REDACTED if k.lower() in SECRET_FIELDS else v) for k, v in pairs], safe="[]:/")


def redact_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    out = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {REDACTED}".strip()
        out[name] = value
    return out


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k.lower() in SECRET_FIELDS else _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redact_body(body: bytes, size: int, headers: list[tuple[bytes, bytes]]) -> Any:
    """The body as the client sent it, credentials replaced; a summary when binary or cut short."""
    if not size:
        return None
    content_type = next((v.decode("latin-1") for k, v in headers if k == b"content-type"), "")
    summary = f"<{size} bytes {content_type}>".replace(" >", ">")
    if size > len(body) or content_type.startswith("multipart/"):
        return summary
    if "json" in content_type:
        try:
            return _redact_json(json.loads(body))
        except ValueError:
            return summary
    if content_type.startswith("application/x-www-form-urlencoded"):
        return redact_query(body)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return summary


# --- the journal and the coverage counters ------------------------------------------------------
class Journal:
    """A bounded ring of entries plus per-operation counters; one short lock around each update."""

    def __init__(self, size: int, operations: dict[str, tuple[str, str]]) -> None:
        self.size = size
        self.operations = operations  # operationId -> (METHOD, path template), in spec order
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.entries: deque[Entry] = deque(maxlen=size)
        self.violating: deque[Entry] = deque(maxlen=size)
        self.calls: dict[str | None, dict[int, int]] = {}
        self.violation_counts: dict[str | None, int] = {}

    def record(self, entry: Entry) -> None:
        with self.lock:
            entry.id = next(self.ids)
            self.entries.append(entry)
            statuses = self.calls.get(entry.operation_id)
            if statuses is None:
                statuses = self.calls[entry.operation_id] = {}
            statuses[entry.status] = statuses.get(entry.status, 0) + 1
            if entry.violations:
                self.violating.append(entry)
                self.violation_counts[entry.operation_id] = (
                    self.violation_counts.get(entry.operation_id, 0) + 1
                )

    def list(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The most recent entries, oldest first."""
        with self.lock:
            entries = list(self.entries)
        if limit is not None:
            entries = entries[-limit:] if limit else []
        return [e.to_dict() for e in entries]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()

    def clear_coverage(self) -> None:
        with self.lock:
            self.calls.clear()
            self.violating.clear()
            self.violation_counts.clear()

    def coverage(self) -> dict[str, Any]:
        """Which operations were exercised, how often, with which statuses; which requests broke the contract."""
        with self.lock:
            calls = {op: dict(statuses) for op, statuses in self.calls.items()}
            counts = dict(self.violation_counts)
            violating = list(self.violating)
        operations = []
        for op_id, (method, path) in self.operations.items():
            statuses = calls.get(op_id, {})
            operations.append(
                {
                    "operationId": op_id,
                    "method": method,
                    "path": path,
                    "calls": sum(statuses.values()),
                    "statuses": {str(s): n for s, n in sorted(statuses.items())},
                    "violations": counts.get(op_id, 0),
                }
            )
        exercised = sum(1 for op in operations if op["calls"])
        unmatched = calls.get(None, {})
        return {
            "operations_total": len(operations),
            "operations_exercised": exercised,
            "percent": round(100 * exercised / len(operations), 1) if operations else 0.0,
            "requests": sum(sum(s.values()) for s in calls.values()),
            "unmatched_requests": sum(unmatched.values()),
            "operations": operations,
            "violations": [e.to_dict() for e in violating],
        }


# --- the middleware -----------------------------------------------------------------------------
async def _send_json(
    send: Any, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    data = json.dumps(body).encode()
    headers = [
        *headers,
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(data)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class JournalMiddleware:
    """Journal and coverage for Flowdock paths, the added latency, one log line per request, and
    the admin token in front of /_mock."""

    def __init__(
        self, app: Any, journal: Journal, latency_ms: int = 0, admin_token: str | None = None
    ) -> None:
        self.app = app
        self.journal = journal
        self.latency = latency_ms / 1000
        self.admin_token = admin_token.encode() if admin_token else None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX) and path[len(CONTROL_PREFIX) : len(CONTROL_PREFIX) + 1] in (
            "",
            "/",
        ):
            await self._control(scope, receive, send)
            return

        started = time.perf_counter()
        # Connexion's routing writes the operationId into this dict; creating it here means a
        # middleware that copies the scope still shares it with us.
        routing = scope.setdefault("extensions", {}).setdefault(_ROUTING, {})
        status = 500
        body = bytearray()
        size = 0

        async def receive_and_keep() -> Any:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                if len(body) < BODY_LIMIT:
                    body.extend(chunk[: BODY_LIMIT - len(body)])
            return message

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            await self.app(scope, receive_and_keep, send_and_note)
        finally:
            state = scope.get("flowdock") or {}
            entry = Entry(
                id=0,
                time=time.time(),
                method=scope["method"],
                path=path,
                query=scope.get("query_string", b""),
                headers=scope.get("headers", []),
                body=bytes(body),
                body_size=size,
                operation_id=routing.get("operation_id"),
                status=status,
                duration=time.perf_counter() - started,
                user_id=state.get("user_id"),
                normalizations=state.get("normalizations") or [],
                violations=state.get("violations") or [],
                forced=state.get("forced"),
            )
            self.journal.record(entry)
            if access_log.isEnabledFor(logging.INFO):
                _log_request(
                    logging.INFO,
                    entry.method,
                    path,
                    entry.operation_id,
                    status,
                    entry.duration,
                    entry.user_id,
                )

    async def _control(self, scope: Scope, receive: Any, send: Any) -> None:
        path: str = scope["path"]
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if self.admin_token is not None and not path.startswith(ADMIN_EXEMPT) and not self._admin(scope):
                await _send_json(
                    send_and_note,
                    401,
                    {
                        "message": errors.ADMIN_TOKEN_REQUIRED,
                        "errors": {"authorization": [errors.ADMIN_TOKEN_HINT]},
                    },
                    [(b"www-authenticate", b'Bearer realm="flowdock-mock control API"')],
                )
                return
            await self.app(scope, receive, send_and_note)
        finally:
            # Health checks poll every few seconds: keep them out of the log unless debugging.
            level = logging.DEBUG if path == "/_mock/health" else logging.INFO
            if access_log.isEnabledFor(level):
                _log_request(level, scope["method"], path, None, status, time.perf_counter() - started, None)

    def _admin(self, scope: Scope) -> bool:
        assert self.admin_token is not None
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                return hmac.compare_digest(value[7:].strip(), self.admin_token)
        return False


def _log_request(
    level: int,
    method: str,
    path: str,
    operation_id: str | None,
    status: int,
    duration: float,
    user_id: int | None,
) -> None:
    ms = round(duration * 1000, 1)
    access_log.log(
        level,
        "%s %s %s %s %.1fms",
        method,
        path,
        status,
        operation_id or "-",
        ms,
        extra={
            "http": {
                "method": method,
                "path": path,
                "status": status,
                "operationId": operation_id,
                "duration_ms": ms,
                "user_id": user_id,
            }
        },
    )


# --- the readable report ------------------------------------------------------------------------
def render_report(coverage: dict[str, Any]) -> str:
    """/_mock/report: the coverage document as one self-contained HTML page."""
    e = html.escape
    rows = []
    for op in coverage["operations"]:
        statuses = ", ".join(f"{s}&times;{n}" for s, n in op["statuses"].items()) or "&mdash;"
        css = "hit" if op["calls"] else "miss"
        if op["violations"]:
            css += " bad"
        rows.append(
            f'<tr class="{css}"><td><code>{e(op["operationId"])}</code></td><td>{e(op["method"])}</td>'
            f"<td><code>{e(op['path'])}</code></td><td>{op['calls']}</td><td>{statuses}</td>"
            f"<td>{op['violations']}</td></tr>"
        )
    violations = [
        f"<li><code>{e(v['method'])} {e(v['path'])}</code> &rarr; {v['status']} "
        f"({e(str(v['operationId']))}): {e('; '.join(v['violations']))}</li>"
        for v in coverage["violations"]
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flowdock-mock contract coverage</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .25em .75em; border-bottom: 1px solid #ddd; text-align: left; }}
tr.miss td {{ color: #999; }} tr.bad td {{ background: #fdd; }} code {{ font-size: .95em; }}
</style></head><body>
<h1>flowdock-mock contract coverage</h1>
<p><strong>{coverage["operations_exercised"]} of {coverage["operations_total"]}</strong> operations exercised
({coverage["percent"]}%) by {coverage["requests"]} requests; {coverage["unmatched_requests"]} matched no operation;
{len(coverage["violations"])} recent requests violated the contract.</p>
<table><thead><tr><th>operationId</th><th>method</th><th>path</th><th>calls</th><th>statuses</th>
<th>violations</th></tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
<h2>Requests that violated the contract</h2>
<ul>{"".join(violations) or "<li>none</li>"}</ul>
<p>JSON: <a href="coverage">/_mock/coverage</a> &middot; journal: <a href="requests">/_mock/requests</a></p>
</body></html>
"""
