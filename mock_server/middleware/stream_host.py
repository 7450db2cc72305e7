"""``Host: stream.*`` -> the Streaming API's routes, without their ``/stream`` prefix.

Flowdock served the stream from its own host (``stream.flowdock.com/flows``); some clients can
only be pointed elsewhere by a domain (oulu builds ``stream.<FLOWDOCK_DOMAIN>``,
docs/flowdock.md §10). A request whose ``Host`` starts with ``stream.`` is routed as ``/stream<path>``; the mock's
own ``/_mock`` routes stay where they are.
"""

from __future__ import annotations

from typing import Any

from mock_server.middleware.exchange import Exchange
from mock_server.middleware.types import Scope

PREFIX = "/stream"


def is_stream_host(scope: Scope) -> bool:
    for key, value in scope.get("headers") or ():
        if key == b"host":
            return bool(value[:7].lower() == b"stream.")
    return False


class StreamHost:
    """Prefixes ``/stream`` to the path of requests sent to a ``stream.`` host."""

    def __init__(self, settings: Any) -> None:
        pass

    def run(self, x: Exchange) -> None:
        scope = x.scope
        if is_stream_host(scope):
            path: str = scope["path"]
            if not path.startswith((PREFIX + "/", "/_mock")) and path != PREFIX:
                scope = x.scope = {**scope, "path": PREFIX + path}
                if scope.get("raw_path"):
                    scope["raw_path"] = PREFIX.encode() + scope["raw_path"]
