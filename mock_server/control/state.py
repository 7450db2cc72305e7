"""State tag: reset to the seeded world, export and replace the whole world document."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response

from mock_server.runtime import Runtime

__all__ = ["get_state", "replace_state", "reset_state"]


def reset_state(runtime: Runtime) -> Any:
    return runtime.reset_state(), 200


async def get_state(runtime: Runtime) -> Any:
    # A large world takes a while to write: off the event loop (Runtime.state_json).
    data = await asyncio.to_thread(runtime.state_json)
    return Response(data, media_type="application/json")


async def replace_state(runtime: Runtime, body: dict[str, Any]) -> Any:
    # Checking, building and exporting a large world takes a while: in a worker thread, so the
    # event loop keeps serving other requests meanwhile.
    return await asyncio.to_thread(runtime.replace_state, body), 200
