"""serving.py's IdleConnections: a keep-alive connection's deadline noted per response, one timer
for all of them, and the connection closed once its deadline has passed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mock_server.serving import IdleConnections
from tests.unit.fake_connection import WAIT, Transport, connected


class Connection:
    """What IdleConnections calls: uvicorn's ``timeout_keep_alive_handler``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.closed_at: float | None = None
        self.closed = loop.create_future()

    def timeout_keep_alive_handler(self) -> None:
        assert self.closed_at is None, "closed twice"
        self.closed_at = self.loop.time()
        self.closed.set_result(None)


def until_closed(loop: asyncio.AbstractEventLoop, *connections: Connection) -> None:
    loop.run_until_complete(asyncio.wait_for(asyncio.gather(*(c.closed for c in connections)), WAIT))


@pytest.fixture
def loop() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_a_connection_is_closed_once_its_deadline_has_passed_not_before(
    loop: asyncio.AbstractEventLoop,
) -> None:
    idle = IdleConnections.for_loop(loop)
    connection = Connection(loop)
    armed_at = loop.time()
    idle.arm(connection, 0.2)
    until_closed(loop, connection)
    assert connection.closed_at is not None
    assert connection.closed_at >= armed_at + 0.2
    assert connection not in idle.deadlines


def test_a_cancelled_mark_keeps_its_connection_open(loop: asyncio.AbstractEventLoop) -> None:
    idle = IdleConnections.for_loop(loop)
    kept, closed = Connection(loop), Connection(loop)
    idle.arm(kept, 0.05).cancel()  # its next request arrived
    idle.arm(closed, 0.1)
    until_closed(loop, closed)
    assert kept.closed_at is None
    assert idle.deadlines == {}


def test_rearming_moves_the_deadline(loop: asyncio.AbstractEventLoop) -> None:
    idle = IdleConnections.for_loop(loop)
    connection = Connection(loop)
    idle.arm(connection, 0.05).cancel()
    rearmed_at = loop.time()
    idle.arm(connection, 0.2)  # the response to its next request
    until_closed(loop, connection)
    assert connection.closed_at is not None and connection.closed_at >= rearmed_at + 0.2


def test_an_earlier_deadline_than_the_timers_sets_the_timer_earlier(loop: asyncio.AbstractEventLoop) -> None:
    idle = IdleConnections.for_loop(loop)
    late, early = Connection(loop), Connection(loop)
    idle.arm(late, 3.0)
    idle.arm(early, 0.1)  # another server's shorter keep-alive, on the same loop
    until_closed(loop, early)
    assert late.closed_at is None
    assert early.closed_at is not None and early.closed_at < loop.time() + 1.0
    assert list(idle.deadlines) == [late]


def test_one_loop_one_watch_and_each_connection_at_its_own_deadline(loop: asyncio.AbstractEventLoop) -> None:
    assert IdleConnections.for_loop(loop) is IdleConnections.for_loop(loop)
    idle = IdleConnections.for_loop(loop)
    connections = [Connection(loop) for _ in range(3)]
    deadlines = []
    for delay, connection in zip((0.1, 0.2, 0.3), connections, strict=True):
        deadlines.append(loop.time() + delay)
        idle.arm(connection, delay)
    until_closed(loop, *connections)
    closed = [c.closed_at for c in connections]
    assert all(at is not None and at >= deadline for at, deadline in zip(closed, deadlines, strict=True))
    assert closed == sorted(closed)  # type: ignore[type-var]


# -- the httptools protocol's keep-alive goes through it -------------------------------------------


REQUEST = b"GET /flows HTTP/1.1\r\nHost: x\r\n\r\n"


def answered(loop: asyncio.AbstractEventLoop, transport: Transport, count: int) -> None:
    """Run the loop until ``count`` responses have been written in all."""
    transport.until(loop, lambda: sum(w.startswith(b"HTTP/1.1 204") for w in transport.writes) >= count)


def test_a_response_notes_the_deadline_and_arms_no_timer_of_its_own(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = connected(loop, keep_alive=30)
    timers: list[Any] = []
    real_call_at = loop.call_at

    def call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
        timers.append(callback)  # call_later goes through call_at
        return real_call_at(when, callback, *args, **kwargs)

    loop.call_at = call_at  # type: ignore[method-assign]
    idle = IdleConnections.for_loop(loop)
    for count in range(1, 4):
        protocol.data_received(REQUEST)
        assert protocol not in idle.deadlines  # a request in flight has no deadline
        answered(loop, transport, count)
        assert protocol in idle.deadlines
    assert protocol.timeout_keep_alive_handler not in timers  # uvicorn's timer per response
    assert [t for t in timers if getattr(t, "__self__", None) is idle] == [idle._expire]  # one watch
    protocol.connection_lost(None)
    assert protocol not in idle.deadlines


def test_an_idle_connection_after_a_response_is_closed_after_the_keep_alive_timeout(
    loop: asyncio.AbstractEventLoop,
) -> None:
    protocol, transport = connected(loop, keep_alive=0.2)
    protocol.data_received(REQUEST)
    answered(loop, transport, 1)
    answered_at = loop.time()
    transport.until(loop, lambda: transport.closed)
    assert loop.time() >= answered_at + 0.2


def test_a_pipelined_request_still_starts_when_the_first_response_completes(
    loop: asyncio.AbstractEventLoop,
) -> None:
    protocol, transport = connected(loop, keep_alive=30)
    protocol.data_received(REQUEST + REQUEST)
    answered(loop, transport, 2)
    assert protocol.server_state.total_requests == 2
