"""Request heads and idle connections are bounded by the server; responses in flight are not.

A real uvicorn server on 127.0.0.1 with small limits (mock_server/serving.py), driven over raw
sockets, once on each HTTP parser the server can run on (httptools, and h11 where httptools is
missing): what a slow or hostile client does before its headers are complete gets a 431 or a 408
and a closed connection, an idle connection is closed, and a long-lived response (the journal's
event stream) outlives every one of those timeouts.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import errors
from mock_server.app import create_app
from mock_server.serving import HTTP_IMPLEMENTATIONS, HttpLimits
from tests.clients.conftest import serve

LIMITS = HttpLimits(max_header_bytes=4096, max_headers=20, header_timeout=1, keep_alive_timeout=1)
WAIT = 10.0
"""Upper bound on any wait for the server (it answers in about a timeout, 1 s here)."""


@pytest.fixture(scope="module", params=HTTP_IMPLEMENTATIONS)
def address(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    with serve(create_app(), dataclasses.replace(LIMITS, http=request.param)) as live:
        host, port = live.base_url.removeprefix("http://").split(":")
        yield host, int(port)


def connect(address: tuple[str, int]) -> socket.socket:
    conn = socket.create_connection(address, timeout=WAIT)
    return conn


def read_until_closed(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by ``WAIT``)."""
    chunks = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    else:
        raise AssertionError("the server kept the connection open")
    return b"".join(chunks)


def status_and_body(raw: bytes) -> tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body) if body else None


def test_request_head_over_the_byte_limit__is_431_and_closed(address: tuple[str, int]) -> None:
    with connect(address) as conn:
        conn.sendall(b"GET /flows HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n")
        status, body = status_and_body(read_until_closed(conn))
    assert status == 431
    assert body["message"] == errors.HEADERS_TOO_LARGE


def test_unfinished_headers_streamed_without_end__are_cut_at_the_limit(address: tuple[str, int]) -> None:
    cap = 64 * 1024 * 1024
    with connect(address) as conn:
        conn.sendall(b"GET /flows HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        sent = 0
        refused = False
        try:
            while sent < cap:  # without the limit, the server would take all of it
                conn.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            refused = True
    # What the client wrote before noticing is what the kernel's socket buffers took, not the server.
    assert refused, f"the server read {sent} bytes of an unfinished head"


def test_too_many_header_fields__is_431(address: tuple[str, int]) -> None:
    headers = b"".join(b"X-H%d: 1\r\n" % i for i in range(40))
    with connect(address) as conn:
        conn.sendall(b"GET /flows HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        status, body = status_and_body(read_until_closed(conn))
    assert status == 431
    assert "headers" in body["errors"]


def test_request_head_that_never_ends__is_408_after_the_header_timeout(address: tuple[str, int]) -> None:
    with connect(address) as conn:
        started = time.monotonic()
        conn.sendall(b"GET /flows HTTP/1.1\r\nHost: x\r\n")
        status, body = status_and_body(read_until_closed(conn))
    assert status == 408
    assert body["message"] == errors.REQUEST_TIMEOUT
    assert time.monotonic() - started >= LIMITS.header_timeout * 0.9


def test_connection_that_sends_nothing__is_closed_after_the_keep_alive_timeout(
    address: tuple[str, int],
) -> None:
    with connect(address) as conn:
        assert read_until_closed(conn) == b""


def test_idle_connection_after_a_response__is_closed(address: tuple[str, int]) -> None:
    with connect(address) as conn:
        conn.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = read_until_closed(conn)
    assert raw.startswith(b"HTTP/1.1 200")


def test_a_response_in_flight__outlives_every_timeout(address: tuple[str, int]) -> None:
    """The journal's event stream stays open well past the header and keep-alive timeouts."""
    with connect(address) as stream:
        stream.sendall(b"GET /_mock/requests/feed HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        stream.settimeout(WAIT)
        assert stream.recv(65536).startswith(b"HTTP/1.1 200")
        # Past both timeouts, a request on another connection still reaches this stream.
        stream.settimeout(LIMITS.header_timeout + LIMITS.keep_alive_timeout + 0.5)
        with pytest.raises(TimeoutError):
            while True:
                assert stream.recv(65536), "the stream was closed"
        stream.settimeout(WAIT)
        with connect(address) as other:
            other.sendall(b"GET /flows HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            read_until_closed(other)
        received = b""
        while b"event: request" not in received:
            chunk = stream.recv(65536)
            assert chunk, "the stream was closed"
            received += chunk


def test_auto__is_httptools_when_it_imports_else_h11(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from mock_server.serving import chosen_http, protocol_class

    assert chosen_http(HttpLimits()) == "httptools"
    monkeypatch.setitem(sys.modules, "httptools", None)  # as on a platform without its wheels
    assert chosen_http(HttpLimits()) == "h11"
    assert protocol_class(HttpLimits()).__name__ == "LimitedH11Protocol"
    with pytest.raises(ValueError):
        chosen_http(HttpLimits(http="wsproto"))
