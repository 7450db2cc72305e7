"""``--latency-ms``: every Flowdock request waits this long before it is handled.

Inside the journal, so a journaled duration includes the delay the client saw; /_mock and the
published spec are not delayed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mock_server.middleware.types import Scope, is_flowdock_request


class LatencyMiddleware:
    """Delays each Flowdock request by ``latency_ms`` (0: a pass-through)."""

    def __init__(self, app: Any, latency_ms: int = 0) -> None:
        self.app = app
        self.latency = latency_ms / 1000

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.latency and scope["type"] == "http" and is_flowdock_request(scope["path"]):
            await asyncio.sleep(self.latency)
        await self.app(scope, receive, send)
