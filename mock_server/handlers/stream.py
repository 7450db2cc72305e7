"""Streaming tag: the connect requests of the Streaming API (docs/flowdock.md §8.1).

Bound to the world's stream endpoint (``StreamEndpoint``, mock_server/stream/response.py) instead
of the store: the store resolves and checks the flows (404/403 in Flowdock's shape before anything
is streamed), then the endpoint answers with the stream, which registers the connection with the
world's hub and streams until it ends.
"""

from __future__ import annotations

from typing import Any

__all__ = ["stream_flow", "stream_flows"]


def stream_flows(endpoint: Any, user: int, selection: dict[str, Any] | None = None, **query: Any) -> Any:
    """``selection``: the query's ``filter`` and ``user`` (one object in the contract, which states
    that at least one is given; binding/exploded.py); ``user``: the caller."""
    flows = (selection or {}).get("filter")
    return endpoint.respond(user, endpoint.store.events.stream_flows(flows, user))


def stream_flow(endpoint: Any, user: int, organization: str, flow: str, **query: Any) -> Any:
    return endpoint.respond(user, endpoint.store.events.stream_flow(organization, flow, user))
