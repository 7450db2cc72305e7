"""``Prefer: code=NNN`` and the fault table, applied after routing, security and validation.

The forced response is built by the runtime's ``ResponseBook`` (runtime/faults.py) from the
operation's declared response; this layer decides when to send it, so a request that is invalid
anyway still gets its real error (Prism's order), and the store is never called.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mock_server.binding.routing import operation_id
from mock_server.middleware.responses import send_json
from mock_server.middleware.types import REQUEST_STATE, Scope
from mock_server.runtime.faults import FaultTable, Forced, ResponseBook, prefer_code


async def send_forced(send: Any, forced: Forced) -> None:
    await send_json(send, forced.status, forced.body, [(k.encode(), v.encode()) for k, v in forced.headers])


class FaultMiddleware:
    """After routing, security and validation: answer with a forced status, or add a fault's delay."""

    def __init__(self, app: Any, book: ResponseBook, table: FaultTable) -> None:
        self.app = app
        self.book = book
        self.table = table

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            op_id = operation_id(scope)
            if op_id in self.book.operations:
                code = prefer_code(scope["headers"])
                if code is not None:
                    forced = self.book.forced(op_id, code, f"Prefer: code={code}")
                    _mark(scope, "prefer", forced.status)
                    await send_forced(send, forced)
                    return
                world = scope.get(REQUEST_STATE, {}).get("world")  # each world has its own table
                fault = (self.table if world is None else world.runtime.faults).draw(op_id)
                if fault is not None:
                    if fault.latency_ms:
                        await asyncio.sleep(fault.latency_ms / 1000)
                    if fault.status is not None:
                        _mark(scope, "fault", fault.status)
                        await send_forced(send, self.book.forced(op_id, fault.status, "fault"))
                        return
        await self.app(scope, receive, send)


def _mark(scope: Scope, source: str, status: int) -> None:
    state = scope.get("flowdock")
    if state is not None:
        state["forced"] = f"{source}:{status}"
