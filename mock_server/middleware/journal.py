"""The journal stage: records every Flowdock request and logs one line per request.

Every request to a Flowdock path leaves one entry in the runtime's journal (runtime/journal.py)
and bumps the coverage counters of its operation. Requests to the mock's own ``/_mock`` routes are
not journaled, only logged (the admin token is checked by admin_gate.py; the added latency is
latency.py's).

The stage is first in the pipeline (pipeline.py) and does its work once the response has ended
(``done``), from what the exchange holds then: the request as the client sent it, the response's
status and size, the operation routing matched, and the per-request state ``scope["flowdock"]``:
``user_id`` (binding/security.py), ``normalizations`` and ``violations`` (the normaliser and the
validation error renderer), ``forced`` (faults.py), ``content_type`` (the response's, as the client
got it), or, for a request strict mode refused before routing, ``operation_id`` (the normaliser).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from mock_server.logs import write_access_line
from mock_server.middleware.exchange import Exchange
from mock_server.middleware.types import SPEC_DOCUMENTS, is_control_path
from mock_server.runtime.journal import Entry
from mock_server.runtime.journal import Journal as Journal_

BODY_LIMIT = 4096
"""Bytes of each request body kept in the journal."""

access_log = logging.getLogger("flowdock_mock.access")


class _Capture:
    """The first bytes of a journaled request's body and its size, as the client sent it."""

    __slots__ = ("_receive", "body", "kind", "size", "started")

    def __init__(self, receive: Any, kind: int) -> None:
        self._receive = receive
        self.kind = kind
        self.started = time.perf_counter()
        self.body = bytearray()
        self.size = 0

    async def receive(self) -> Any:
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if len(self.body) < BODY_LIMIT:
                self.body.extend(chunk[: BODY_LIMIT - len(self.body)])
        return message


_FLOWDOCK, _CONTROL = 1, 2


class Journal:
    """The pipeline's journal stage: journal and coverage for Flowdock paths, one log line per request."""

    def __init__(self, settings: Any) -> None:
        self.journal: Journal_ = settings.runtime.journal
        self.worlds = settings.worlds
        """Whose ``journal``, when kept, has every world's requests together (runtime/worlds.py):
        ``flowdock-mock run``'s reports."""

    def run(self, x: Exchange) -> None:
        path: str = x.scope["path"]
        if is_control_path(path):
            x.journal = _Capture(None, _CONTROL)
        elif path not in SPEC_DOCUMENTS:
            capture = x.journal = _Capture(x.receive, _FLOWDOCK)
            x.receive = capture.receive
        else:
            return
        # Recorded as the last bytes of the answer go out, not after: a client reading the journal
        # once it has its answer (the pytest plugin's ``requests()``) finds the request there.
        # A request that ends with no answer sent is recorded when the pipeline finishes.
        x.before_end = self.done

    def done(self, x: Exchange) -> None:
        capture = x.journal
        if capture is None:
            return
        x.journal = None  # recorded once: before the answer's end, or when the pipeline finishes
        duration = time.perf_counter() - capture.started
        if capture.kind == _CONTROL:
            # Health checks poll every few seconds: keep them out of the log unless debugging.
            path = x.original["path"]
            level = logging.DEBUG if path == "/_mock/health" else logging.INFO
            if access_log.isEnabledFor(level):
                _log_request(level, x.original["method"], path, None, x.status, duration, None)
            return
        entry = _entry(x, capture, duration)
        world = x.state.get("world")  # middleware/worlds.py
        (self.journal if world is None else world.runtime.journal).record(entry)  # each its own
        server_journal = self.worlds.journal
        if server_journal is not None:
            server_journal.record(entry.copy())  # its own id there
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


def _entry(x: Exchange, capture: _Capture, duration: float) -> Entry:
    """The journal entry of a finished request, from what the stages recorded."""
    scope = x.original
    state = x.state
    return Entry(
        id=0,
        time=time.time(),
        method=scope["method"],
        path=scope["path"],
        query=scope.get("query_string", b""),
        headers=scope.get("headers", []),
        body=bytes(capture.body),
        body_size=capture.size,
        operation_id=x.operation_id or state.get("operation_id"),
        status=x.status,
        duration=duration,
        user_id=state.get("user_id"),
        normalizations=state.get("normalizations") or [],
        violations=state.get("violations") or [],
        forced=state.get("forced"),
        response_type=state.get("content_type") or b"",
        response_size=x.response_size,
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
    extra = {
        "http": {
            "method": method,
            "path": path,
            "status": status,
            "operationId": operation_id,
            "duration_ms": ms,
            "user_id": user_id,
        }
    }
    args = (method, path, status, operation_id or "-", ms)
    if write_access_line(access_log, level, _ACCESS_LINE % args, extra["http"]):
        return  # the server's own handler, nothing else listening: no record needed (logs.py)
    # Made directly: Logger.log would search the call stack for a file and line nobody reads here.
    record = access_log.makeRecord(access_log.name, level, __file__, 0, _ACCESS_LINE, args, None, extra=extra)
    access_log.handle(record)


_ACCESS_LINE = "%s %s %s %s %.1fms"
