"""Streaming tag: the connect requests of the Streaming API (docs/flowdock.md §8.1).

Bound to the world's stream hub (mock_server/stream/hub.py) instead of the store: the store
resolves and checks the flows (404/403 in Flowdock's shape before anything is streamed), then the
hub answers with the stream, which registers the connection and streams until it ends.
"""

from __future__ import annotations

from typing import Any

__all__ = ["stream_flow", "stream_flows"]


def stream_flows(hub: Any, user: int, filter_: str | None = None, **query: Any) -> Any:
    return hub.respond(user, hub.store.events.stream_flows(filter_, user))


def stream_flow(hub: Any, user: int, organization: str, flow: str, **query: Any) -> Any:
    return hub.respond(user, hub.store.events.stream_flow(organization, flow, user))
