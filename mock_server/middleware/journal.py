"""The journal middleware: records every Flowdock request and logs one line per request.

Every request to a Flowdock path leaves one entry in the runtime's journal (runtime/journal.py)
and bumps the coverage counters of its operation. Requests to the mock's own ``/_mock`` routes are
not journaled, only logged (the admin token is checked inside, by admin_gate.py; the added latency
is latency.py's).

The middleware reads the per-request state dict ``scope["flowdock"]`` (request_state.py) after the
request: ``user_id`` (binding/security.py), ``normalizations`` and ``violations`` (the normaliser
and the validation error handler), ``forced`` (faults.py), ``content_type`` (the response's, as
request_state.py sends it). The operationId comes from Connexion's
routing context, which Connexion fills in the same scope, or, for a request strict mode refused
before routing, from ``operation_id`` (the normaliser).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from typing import Any

from mock_server.binding.routing import OPERATION_ID, routing_context
from mock_server.middleware.types import REQUEST_STATE, SPEC_DOCUMENTS, Scope, is_control_path
from mock_server.runtime.journal import Entry, Journal

BODY_LIMIT = 4096
"""Bytes of each request body kept in the journal."""

access_log = logging.getLogger("flowdock_mock.access")


class JournalMiddleware:
    """Journal and coverage for Flowdock paths, and one log line per request."""

    def __init__(
        self,
        app: Any,
        journal: Journal,
        server_journal: Journal | None = None,
    ) -> None:
        self.app = app
        self.journal = journal
        self.server_journal = server_journal
        """Every world's requests together (runtime/worlds.py), for ``flowdock-mock run``'s reports."""

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif is_control_path(scope["path"]):
            await self._control(scope, receive, send)
        elif scope["path"] in SPEC_DOCUMENTS:
            await self.app(scope, receive, send)
        else:
            await self._journaled(scope, receive, send)

    async def _journaled(self, scope: Scope, receive: Any, send: Any) -> None:
        """A Flowdock request: recorded and logged once it ends."""
        started = time.perf_counter()
        # Connexion's routing writes the operationId into this dict; creating it here means a
        # middleware that copies the scope still shares it with us.
        routing = routing_context(scope)
        exchange = _Exchange(receive, send)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        finally:
            entry = _entry(scope, routing, exchange, time.perf_counter() - started)
            world = (scope.get(REQUEST_STATE) or {}).get("world")  # middleware/worlds.py
            (self.journal if world is None else world.runtime.journal).record(entry)  # each its own
            if self.server_journal is not None:
                self.server_journal.record(dataclasses.replace(entry))
            if access_log.isEnabledFor(logging.INFO):
                _log_request(
                    logging.INFO,
                    entry.method,
                    self.journal.credentials.redact_path(entry.path),
                    entry.operation_id,
                    entry.status,
                    entry.duration,
                    entry.user_id,
                )

    async def _control(self, scope: Scope, receive: Any, send: Any) -> None:
        """A /_mock request: not journaled, logged (health checks only when debugging)."""
        path: str = scope["path"]
        started = time.perf_counter()
        exchange = _Exchange(receive, send)
        try:
            await self.app(scope, receive, exchange.send)
        finally:
            # Health checks poll every few seconds: keep them out of the log unless debugging.
            level = logging.DEBUG if path == "/_mock/health" else logging.INFO
            if access_log.isEnabledFor(level):
                duration = time.perf_counter() - started
                _log_request(level, scope["method"], path, None, exchange.status, duration, None)


class _Exchange:
    """One request passing through: the first bytes of its body, its sizes and the response status."""

    __slots__ = ("_receive", "_send", "body", "response_size", "size", "status")

    def __init__(self, receive: Any, send: Any) -> None:
        self._receive = receive
        self._send = send
        self.status = 500  # until a response starts
        self.body = bytearray()
        self.size = 0
        self.response_size = 0

    async def receive(self) -> Any:
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if len(self.body) < BODY_LIMIT:
                self.body.extend(chunk[: BODY_LIMIT - len(self.body)])
        return message

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.response_size += len(message.get("body", b""))
        await self._send(message)


def _entry(scope: Scope, routing: dict[str, Any], exchange: _Exchange, duration: float) -> Entry:
    """The journal entry of a finished request, from what the layers recorded in its scope."""
    state = scope.get("flowdock") or {}
    return Entry(
        id=0,
        time=time.time(),
        method=scope["method"],
        path=scope["path"],
        query=scope.get("query_string", b""),
        headers=scope.get("headers", []),
        body=bytes(exchange.body),
        body_size=exchange.size,
        operation_id=routing.get(OPERATION_ID) or state.get("operation_id"),
        status=exchange.status,
        duration=duration,
        user_id=state.get("user_id"),
        normalizations=state.get("normalizations") or [],
        violations=state.get("violations") or [],
        forced=state.get("forced"),
        response_type=state.get("content_type") or b"",
        response_size=exchange.response_size,
    )


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _log_request(
    level: int,
    method: str,
    path: str,
    operation_id: str | None,
    status: int,
    duration: float,
    user_id: int | None,
) -> None:
    # A decoded path may hold a newline or an escape sequence (%0A, %1B): one line per request.
    path = _CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", path)
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
