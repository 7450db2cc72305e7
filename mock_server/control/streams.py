"""Streams tag: the open Streaming API connections of every world (mock_server/stream/hub.py)."""

from __future__ import annotations

from typing import Any

from mock_server.runtime.worlds import Worlds
from mock_server.stream import StreamHub

__all__ = ["list_streams"]


def list_streams(worlds: Worlds) -> Any:
    streams: list[dict[str, Any]] = []
    for world in worlds.list():
        if world.store.streams is not None:
            streams.extend({**s, "world": world.id} for s in StreamHub.of(world.store).list())
    return {"streams": streams, "last_event_id": worlds.default.store.events.last_seq}, 200
