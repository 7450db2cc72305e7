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
import hmac
import logging
import time
from typing import Any

from mock_server import errors
from mock_server.binding.routing import OPERATION_ID, routing_context
from mock_server.middleware.responses import send_json
from mock_server.middleware.types import Scope
from mock_server.runtime.journal import Entry, Journal

CONTROL_PREFIX = "/_mock"
ADMIN_EXEMPT = ("/_mock/health", "/_mock/files/")
"""Open even with an admin token: the ready check, and the download target Flowdock clients follow."""

BODY_LIMIT = 4096
"""Bytes of each request body kept in the journal."""

access_log = logging.getLogger("flowdock_mock.access")


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
        routing = routing_context(scope)
        status = 500
        body = bytearray()
        size = 0
        response_size = 0

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
            nonlocal status, response_size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                response_size += len(message.get("body", b""))
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
                operation_id=routing.get(OPERATION_ID) or state.get("operation_id"),
                status=status,
                duration=time.perf_counter() - started,
                user_id=state.get("user_id"),
                normalizations=state.get("normalizations") or [],
                violations=state.get("violations") or [],
                forced=state.get("forced"),
                response_type=state.get("content_type") or b"",
                response_size=response_size,
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
                await send_json(
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
