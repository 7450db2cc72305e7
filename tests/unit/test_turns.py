"""mock_server/turns.py: what a busy loop's requests write is kept to the end of its turn."""

from __future__ import annotations

import asyncio
from typing import Any

from mock_server.serving import HttpLimits, OneWrite, protocol_class
from mock_server.turns import TurnEnd


class Transport:
    def __init__(self, name: str, log: list[tuple[str, bytes]]) -> None:
        self.name = name
        self.log = log
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, f"{self.name}: written after close"
        self.log.append((self.name, data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


class Cycle:
    def __init__(self) -> None:
        self.response_started = False
        self.chunked_encoding = False
        self.expected_content_length = 5
        self.scope = {"method": "GET"}


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"


def respond(out: OneWrite, cycle: Cycle, *bodies: bytes) -> None:
    cycle.response_started = True
    out.write(HEAD)
    for body in bodies:
        out.write(body)


def run_turn(*handlers: Any) -> list[list[tuple[str, bytes]]]:
    """``handlers`` run in one turn of a fresh loop (each a ready callback); what was written by the
    end of each handler, and after the turn's end."""
    loop = asyncio.new_event_loop()
    seen: list[list[tuple[str, bytes]]] = []
    written: list[tuple[str, bytes]] = []

    async def next_turns() -> None:
        pass

    try:
        turn = TurnEnd.for_loop(loop)

        def step(handler: Any, last: bool) -> None:
            handler(turn, written)
            seen.append(list(written))
            if last:
                loop.stop()  # the loop ends this turn, with nothing more put in its queue

        for n, handler in enumerate(handlers, 1):
            loop.call_soon(step, handler, n == len(handlers))
        loop.run_forever()
        loop.run_until_complete(next_turns())  # the turn's end, kept for the next turn, runs
        seen.append(list(written))
    finally:
        loop.close()
    return seen


def responder(name: str, *bodies: bytes) -> Any:
    def handler(turn: TurnEnd, written: list[tuple[str, bytes]]) -> None:
        cycle = Cycle()
        respond(OneWrite(Transport(name, written), cycle, turn), cycle, *bodies)

    return handler


def test_responses_made_while_other_work_is_ready_go_out_together_at_the_turns_end() -> None:
    *during, after = run_turn(responder("a", b"hello"), responder("b", b"world"), responder("c", b"there"))
    assert during[0] == [] and during[1] == []  # the loop had more ready: kept
    # the last handler of the turn finds nothing else ready but the turn's end: out at once,
    # after what was kept, in the order it was made
    assert during[2] == after == [("a", HEAD + b"hello"), ("b", HEAD + b"world"), ("c", HEAD + b"there")]


def test_a_response_made_with_nothing_else_ready_is_written_at_once() -> None:
    [during, after] = run_turn(responder("only", b"hello"))
    assert during == after == [("only", HEAD + b"hello")]


def test_the_rest_of_a_kept_response_follows_it() -> None:
    *during, after = run_turn(responder("a", b"he", b"llo"), responder("b", b"world"))
    assert during[0] == []
    assert after == [("a", HEAD + b"he"), ("a", b"llo"), ("b", HEAD + b"world")]


def test_closing_a_connection_writes_what_is_kept_for_it_first() -> None:
    def closes(turn: TurnEnd, written: list[tuple[str, bytes]]) -> None:
        cycle = Cycle()
        out = OneWrite(transport := Transport("closing", written), cycle, turn)
        respond(out, cycle, b"hello")
        out.close()  # uvicorn closes the cycle's transport after a Connection: close response
        assert transport.closed

    *during, after = run_turn(responder("a", b"hello"), closes, responder("b", b"world"))
    assert during[1] == [("a", HEAD + b"hello"), ("closing", HEAD + b"hello")]
    assert after[-1] == ("b", HEAD + b"world")


def test_a_connection_closed_by_its_client_meanwhile_gets_nothing() -> None:
    def gone(turn: TurnEnd, written: list[tuple[str, bytes]]) -> None:
        cycle = Cycle()
        respond(OneWrite(transport := Transport("gone", written), cycle, turn), cycle, b"hello")
        transport.closed = True  # the client went away before the turn ended

    *_, after = run_turn(gone, responder("b", b"world"))
    assert after == [("b", HEAD + b"world")]


def test_callbacks_kept_to_the_turns_end_run_after_the_kept_responses() -> None:
    def logs(turn: TurnEnd, written: list[tuple[str, bytes]]) -> None:
        turn.soon(lambda: written.append(("log", b"lines")))

    *during, after = run_turn(responder("a", b"hello"), logs, responder("b", b"world"))
    assert during[1] == []
    assert after == [("a", HEAD + b"hello"), ("b", HEAD + b"world"), ("log", b"lines")]


def test_a_server_stopping_writes_the_kept_responses_before_closing_idle_connections() -> None:
    protocol_type = protocol_class(HttpLimits(http="httptools"))

    def stops(turn: TurnEnd, written: list[tuple[str, bytes]]) -> None:
        protocol = object.__new__(protocol_type)
        protocol._turn = turn  # type: ignore[attr-defined]
        protocol.cycle = None  # type: ignore[attr-defined]
        protocol.transport = Transport("idle", written)  # type: ignore[attr-defined]
        protocol.shutdown()  # type: ignore[attr-defined]
        assert protocol.transport.closed  # type: ignore[attr-defined]

    *during, _ = run_turn(responder("a", b"hello"), stops, responder("b", b"world"))
    assert during[1] == [("a", HEAD + b"hello")]


def test_a_loop_has_one_turn_end_and_lets_it_go_when_it_is_gone() -> None:
    import gc
    import weakref

    loop = asyncio.new_event_loop()
    turn = TurnEnd.for_loop(loop)
    assert TurnEnd.for_loop(loop) is turn
    gone = weakref.ref(loop)
    loop.close()
    del loop, turn
    gc.collect()
    assert gone() is None


def test_per_loop__one_instance_per_loop_and_class_none_keeping_its_loop() -> None:
    import gc
    import weakref

    from mock_server.serving import IdleConnections

    loop = asyncio.new_event_loop()
    turn = TurnEnd.for_loop(loop)
    assert TurnEnd.for_loop(loop) is turn
    idle = IdleConnections.for_loop(loop)
    assert IdleConnections.for_loop(loop) is idle and idle is not turn  # each class its own
    gone = weakref.ref(loop)
    loop.close()
    del loop, turn, idle
    gc.collect()
    assert gone() is None  # neither instance kept its loop (nor so its own entry) alive
