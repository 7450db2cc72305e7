"""``Prefer: code=NNN`` and the fault table, applied after routing, security and validation.

The forced response is built by the runtime's ``ResponseBook`` (runtime/faults.py) from the
operation's declared response; this stage decides when to send it, so a request that is invalid
anyway still gets its real error (Prism's order), and the store is never called.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mock_server.middleware.exchange import Exchange
from mock_server.middleware.responses import Answer, json_answer
from mock_server.runtime.faults import FaultTable, Forced, ResponseBook, prefer_code


def forced_answer(forced: Forced) -> Answer:
    return json_answer(forced.status, forced.body, [(k.encode(), v.encode()) for k, v in forced.headers])


class Faults:
    """After routing, security and validation: answer with a forced status, or add a fault's delay."""

    def __init__(self, settings: Any) -> None:
        self.book: ResponseBook = settings.runtime.book
        self.table: FaultTable = settings.runtime.faults

    async def run(self, x: Exchange) -> Answer | None:
        op_id = x.operation_id
        if op_id not in self.book.operations:
            return None
        code = prefer_code(x.scope["headers"])
        if code is not None:
            forced = self.book.forced(op_id, code, f"Prefer: code={code}")
            x.state["forced"] = f"prefer:{forced.status}"
            return forced_answer(forced)
        world = x.state.get("world")  # each world has its own table
        fault = (self.table if world is None else world.runtime.faults).draw(op_id)
        if fault is not None:
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.status is not None:
                x.state["forced"] = f"fault:{fault.status}"
                return forced_answer(self.book.forced(op_id, fault.status, "fault"))
        return None
