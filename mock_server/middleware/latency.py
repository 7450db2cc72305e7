"""``--latency-ms``: every Flowdock request waits this long before it is handled.

After the journal stage, so a journaled duration includes the delay the client saw; /_mock and the
published spec are not delayed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mock_server.middleware.exchange import Exchange
from mock_server.middleware.types import is_flowdock_request


class Latency:
    """Delays each Flowdock request by ``latency_ms`` (0: no stage at all)."""

    def __init__(self, settings: Any) -> None:
        self.latency = settings.latency_ms / 1000
        if not self.latency:
            self.run = None  # type: ignore[assignment]  # nothing to do on any request

    async def run(self, x: Exchange) -> None:
        if is_flowdock_request(x.scope["path"]):
            await asyncio.sleep(self.latency)
