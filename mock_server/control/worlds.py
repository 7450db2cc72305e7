"""Worlds tag: create, list, show and delete worlds, and each world's state, journal, coverage and
faults (runtime/worlds.py keeps them; the routes without a world id address the default one)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response

from mock_server.runtime.core import collector_paused
from mock_server.runtime.worlds import Worlds

__all__ = [
    "clear_world_coverage",
    "clear_world_faults",
    "clear_world_requests",
    "create_world",
    "delete_world",
    "export_world_history",
    "get_world",
    "get_world_coverage",
    "get_world_faults",
    "get_world_state",
    "list_world_requests",
    "list_worlds",
    "load_world_history",
    "replace_world_faults",
    "replace_world_state",
    "reset_world",
]


def list_worlds(worlds: Worlds) -> Any:
    return worlds.summary(), 200


async def create_world(worlds: Worlds, body: dict[str, Any] | None = None) -> Any:
    # Generating and building a large world takes a while: in a worker thread, with the cyclic
    # collector paused, so the event loop keeps serving every other world meanwhile.
    return await asyncio.to_thread(_create, worlds, body or {}), 201


def _create(worlds: Worlds, body: dict[str, Any]) -> dict[str, Any]:
    with collector_paused():
        return worlds.create_from(body)


def get_world(worlds: Worlds, world: str) -> Any:
    return worlds.describe(worlds.get(world), credentials=True), 200


def delete_world(worlds: Worlds, world: str) -> Any:
    worlds.delete(world)
    return None, 204


def reset_world(worlds: Worlds, world: str) -> Any:
    return worlds.get(world).runtime.reset_state(), 200


async def get_world_state(worlds: Worlds, world: str) -> Any:
    # As GET /_mock/state (control/state.py): written off the event loop.
    data = await asyncio.to_thread(worlds.get(world).runtime.state_json)
    return Response(data, media_type="application/json")


def replace_world_state(worlds: Worlds, world: str, body: dict[str, Any]) -> Any:
    return worlds.get(world).runtime.replace_state(body), 200


def list_world_requests(worlds: Worlds, world: str, limit: int | None = None) -> Any:
    journal = worlds.get(world).runtime.journal
    return {"size": journal.size, "requests": journal.list(limit)}, 200


def clear_world_requests(worlds: Worlds, world: str) -> Any:
    worlds.get(world).runtime.journal.clear()
    return None, 204


def get_world_coverage(worlds: Worlds, world: str) -> Any:
    return worlds.get(world).runtime.journal.coverage(), 200


def clear_world_coverage(worlds: Worlds, world: str) -> Any:
    worlds.get(world).runtime.journal.clear_coverage()
    return None, 204


def get_world_faults(worlds: Worlds, world: str) -> Any:
    return worlds.get(world).runtime.faults.export(), 200


def replace_world_faults(worlds: Worlds, world: str, body: dict[str, Any]) -> Any:
    return worlds.get(world).runtime.replace_faults(body), 200


def clear_world_faults(worlds: Worlds, world: str) -> Any:
    worlds.get(world).runtime.faults.clear()
    return None, 204


async def export_world_history(worlds: Worlds, world: str, organization: str, flow: str) -> Any:
    """The flow as a Flowdock export; built off the event loop (a large flow takes a while)."""
    from mock_server.runtime import history  # here: histories are ~5 ms of a start that may never use them

    store = worlds.get(world).store
    data = await asyncio.to_thread(history.export_zip, store, organization, flow)
    disposition = f'attachment; filename="{flow}.zip"'
    return Response(data, headers={"Content-Type": "application/zip", "Content-Disposition": disposition})


async def load_world_history(worlds: Worlds, world: str, organization: str, flow: str, body: bytes) -> Any:
    """The zip in the body loaded as ``organization/flow``: read and checked off the event loop."""
    from mock_server.runtime import history

    runtime = worlds.get(world).runtime
    return await asyncio.to_thread(history.load_into, runtime, body, organization, flow), 201
