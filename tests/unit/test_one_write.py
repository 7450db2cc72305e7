"""serving.py's OneWrite: a response head of known length goes out with its body, in one write."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.serving import OneWrite


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return name


class Cycle:
    def __init__(self, *, chunked: bool | None, length: int, method: str = "GET") -> None:
        self.response_started = False
        self.chunked_encoding = chunked
        self.expected_content_length = length
        self.scope = {"method": method}


def respond(cycle: Cycle, out: OneWrite, *bodies: bytes) -> None:
    cycle.response_started = True
    out.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
    for body in bodies:
        out.write(body)


def test_a_head_with_a_length_goes_out_with_the_body() -> None:
    transport, cycle = Transport(), Cycle(chunked=False, length=5)
    respond(cycle, out := OneWrite(transport, cycle), b"hello")
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"]
    out.write(b"next")  # what follows is written as it comes
    assert transport.writes[-1] == b"next"


def test_a_body_in_pieces_takes_the_head_with_its_first_piece() -> None:
    transport, cycle = Transport(), Cycle(chunked=False, length=5)
    respond(cycle, OneWrite(transport, cycle), b"he", b"llo")
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhe", b"llo"]


@pytest.mark.parametrize(
    "cycle",
    [
        Cycle(chunked=True, length=0),
        Cycle(chunked=False, length=0),
        Cycle(chunked=False, length=5, method="HEAD"),
    ],
    ids=["stream (chunked)", "empty body", "HEAD"],
)
def test_a_head_with_no_body_to_wait_for_is_written_at_once(cycle: Cycle) -> None:
    transport = Transport()
    respond(cycle, OneWrite(transport, cycle))
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"]


def test_a_write_before_the_response_starts_is_not_held() -> None:
    transport, cycle = Transport(), Cycle(chunked=False, length=5)
    OneWrite(transport, cycle).write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]


def test_closing_with_a_head_held_writes_it_first() -> None:
    transport, cycle = Transport(), Cycle(chunked=False, length=5)
    respond(cycle, out := OneWrite(transport, cycle))
    assert transport.writes == []
    out.close()
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"] and transport.closed
    assert out.get_extra_info("peername") == "peername"
