"""A connection for serving.py's httptools protocol in a test: no socket, the loop the test runs.

``connected(loop)`` makes the protocol (with ``serving.protocol_class``, as the server does) over
a ``Transport`` that keeps what is written, notes a close, and lets the test wait, bounded, for
either (``Transport.until``) instead of polling the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from mock_server.serving import protocol_class
from mock_server.settings import HttpLimits

WAIT = 5.0
"""The longest a test waits for what it expects a connection to do."""


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self._changed = asyncio.Event()

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self._changed.set()

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
        self._changed.set()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1234) if name in ("peername", "sockname") else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def until(self, loop: asyncio.AbstractEventLoop, condition: Callable[[], bool]) -> None:
        """Run ``loop`` until ``condition()`` holds, checked after each write and close; fails
        after ``WAIT`` seconds."""

        async def changes() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        loop.run_until_complete(asyncio.wait_for(changes(), WAIT))


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def connected(
    loop: asyncio.AbstractEventLoop, keep_alive: float = HttpLimits().keep_alive_timeout
) -> tuple[Any, Transport]:
    """The httptools protocol, connected, answering every request 204; ``keep_alive``: uvicorn's
    ``timeout_keep_alive``."""
    config = Config(_app, http="httptools", lifespan="off", log_config=None, timeout_keep_alive=keep_alive)  # type: ignore[arg-type]
    config.load()
    protocol = protocol_class(HttpLimits(http="httptools"))(config, ServerState(), {}, loop)
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport
