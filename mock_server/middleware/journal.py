"""The journal middleware: records every Flowdock request, adds the latency, gates /_mock.

Every request to a Flowdock path leaves one entry in the runtime's journal (runtime/journal.py)
and bumps the coverage counters of its operation. Requests to the mock's own ``/_mock`` routes are
not journaled; the same middleware checks the admin token there, when one is configured.

The middleware reads the per-request state dict ``scope["flowdock"]`` (request_state.py) after the
request: ``user_id`` (binding/security.py), ``normalizations`` and ``violations`` (the normaliser
and the validation error handler), ``forced`` (faults.py), ``content_type`` (the response's, as
request_state.py sends it). The operationId comes from Connexion's
routing context, which Connexion fills in the same scope, or, for a request strict mode refused
before routing, from ``operation_id`` (the normaliser).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from mock_server import errors
from mock_server.binding.routing import OPERATION_ID, routing_context
from mock_server.inspector.page import prompt_page
from mock_server.middleware.admin_gate import admin_allowed, wants_html
from mock_server.middleware.responses import send_json
from mock_server.middleware.types import REQUEST_STATE, Scope
from mock_server.runtime.journal import Entry, Journal

CONTROL_PREFIX = "/_mock"
ADMIN_EXEMPT = ("/_mock/health", "/_mock/files/")
"""Open even with an admin token: the ready check, and the download target Flowdock clients follow."""
SPEC_DOCUMENTS = frozenset({"/openapi.json", "/openapi.yaml"})
"""The published contract: read by Swagger UI and tools, not a Flowdock request, so not journaled."""

BODY_LIMIT = 4096
"""Bytes of each request body kept in the journal."""

access_log = logging.getLogger("flowdock_mock.access")


class JournalMiddleware:
    """Journal and coverage for Flowdock paths, the added latency, one log line per request, and
    the admin token in front of /_mock."""

    def __init__(
        self,
        app: Any,
        journal: Journal,
        latency_ms: int = 0,
        admin_token: str | None = None,
        server_journal: Journal | None = None,
    ) -> None:
        self.app = app
        self.journal = journal
        self.server_journal = server_journal
        """Every world's requests together (runtime/worlds.py), for ``flowdock-mock run``'s reports."""
        self.latency = latency_ms / 1000
        self.admin_token = admin_token.encode() if admin_token else None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif _is_control(scope["path"]):
            await self._control(scope, receive, send)
        elif scope["path"] in SPEC_DOCUMENTS:
            await self.app(scope, receive, send)
        else:
            await self._journaled(scope, receive, send)

    async def _journaled(self, scope: Scope, receive: Any, send: Any) -> None:
        """A Flowdock request: delayed by the latency, then recorded and logged once it ends."""
        started = time.perf_counter()
        # Connexion's routing writes the operationId into this dict; creating it here means a
        # middleware that copies the scope still shares it with us.
        routing = routing_context(scope)
        exchange = _Exchange(receive, send)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
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
                    entry.path,
                    entry.operation_id,
                    entry.status,
                    entry.duration,
                    entry.user_id,
                )

    async def _control(self, scope: Scope, receive: Any, send: Any) -> None:
        """A /_mock request: not journaled; refused without the admin token when one is set."""
        path: str = scope["path"]
        started = time.perf_counter()
        exchange = _Exchange(receive, send)
        try:
            if (
                self.admin_token is not None
                and not path.startswith(ADMIN_EXEMPT)
                and not admin_allowed(scope, self.admin_token)
            ):
                if wants_html(scope):  # a browser: the page that asks for the token (inspector/)
                    await _send_html(exchange.send, 401, prompt_page())
                    return
                await send_json(
                    exchange.send,
                    401,
                    {
                        "message": errors.ADMIN_TOKEN_REQUIRED,
                        "errors": {"authorization": [errors.ADMIN_TOKEN_HINT]},
                    },
                    [(b"www-authenticate", b'Bearer realm="flowdock-mock control API"')],
                )
                return
            if path == CONTROL_PREFIX:  # the inspector lives at /_mock/
                await send_json(exchange.send, 308, None, [(b"location", b"/_mock/")])
                return
            await self.app(scope, receive, exchange.send)
        finally:
            # Health checks poll every few seconds: keep them out of the log unless debugging.
            level = logging.DEBUG if path == "/_mock/health" else logging.INFO
            if access_log.isEnabledFor(level):
                duration = time.perf_counter() - started
                _log_request(level, scope["method"], path, None, exchange.status, duration, None)


async def _send_html(send: Any, status: int, page: bytes) -> None:
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(page)).encode()),
        (b"cache-control", b"no-store"),
        (b"www-authenticate", b'Bearer realm="flowdock-mock control API"'),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": page})


def _is_control(path: str) -> bool:
    """``/_mock`` or anything under ``/_mock/`` (not ``/_mockery``)."""
    return path.startswith(CONTROL_PREFIX) and path[len(CONTROL_PREFIX) : len(CONTROL_PREFIX) + 1] in (
        "",
        "/",
    )


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
