"""serving.py's head timer (httptools): armed only while a request head is unfinished."""

from __future__ import annotations

import asyncio

from mock_server.settings import HttpLimits
from tests.unit.fake_connection import connected


def finish(loop: asyncio.AbstractEventLoop) -> None:
    """Run the requests' tasks the protocol started to their end."""
    tasks = asyncio.all_tasks(loop)
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks))


def test_a_head_that_arrives_whole_arms_no_timer() -> None:
    loop = asyncio.new_event_loop()
    try:
        protocol, _ = connected(loop)
        armed: list[float] = []
        real_call_later = loop.call_later
        loop.call_later = lambda delay, *a: armed.append(delay) or real_call_later(delay, *a)  # type: ignore[method-assign,func-returns-value]
        protocol.data_received(b"GET /flows HTTP/1.1\r\nHost: x\r\n\r\n")
        assert protocol._head_timer is None
        assert HttpLimits().header_timeout not in armed
        finish(loop)
    finally:
        loop.close()


def test_an_unfinished_head_is_timed_from_its_first_bytes_until_it_ends() -> None:
    loop = asyncio.new_event_loop()
    try:
        protocol, transport = connected(loop)
        protocol.data_received(b"GET /flows HTTP/1.1\r\nHo")
        timer = protocol._head_timer
        assert timer is not None and not timer.cancelled()
        protocol.data_received(b"st: x\r\n")
        assert protocol._head_timer is timer, "more bytes of the same head keep the first deadline"
        protocol.data_received(b"\r\n")
        assert protocol._head_timer is None and timer.cancelled()
        finish(loop)
        protocol.data_received(b"GET /flows HTTP/1.1\r\n")  # a second request on the connection
        assert protocol._head_timer is not None
        protocol._head_timed_out()
        assert transport.closed and transport.writes[-1].startswith(b"HTTP/1.1 408")
    finally:
        loop.close()
