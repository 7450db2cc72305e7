"""Request bodies at the edges of HTTP/1.1, over a real socket: a 413 answered before the body
arrives closes the connection, and a JSON body of unknown length (``Transfer-Encoding: chunked``,
no ``Content-Length``, what generators, Node streams and Go clients send) is read like any other."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mock_server import errors
from mock_server.app import create_app
from mock_server.middleware.input_guard import MAX_BODY_BYTES
from mock_server.serving import HttpLimits
from tests.clients.conftest import LiveServer, serve
from tests.conftest import ALICE

LIMITS = HttpLimits(header_timeout=30, keep_alive_timeout=30)
"""Timeouts far longer than any wait here: a connection closed in time was closed by the 413."""
WAIT = 10.0


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with serve(create_app(), LIMITS) as live:
        yield live


def address(server: LiveServer) -> tuple[str, int]:
    host, port = server.base_url.removeprefix("http://").split(":")
    return host, int(port)


def response_then_close(conn: socket.socket) -> tuple[bytes, bool]:
    """What the server sends, and whether it closed the connection within ``WAIT``."""
    chunks = []
    deadline = time.monotonic() + WAIT
    conn.settimeout(WAIT)
    while time.monotonic() < deadline:
        try:
            chunk = conn.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return b"".join(chunks), True
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def head_and_body(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ", 2)[1]), headers, json.loads(body) if body else None


@pytest.mark.parametrize("path", ["/flows/acme/main/messages", "/_mock/faults"])
def test_413_before_the_body__says_close_and_closes(server: LiveServer, path: str) -> None:
    with socket.create_connection(address(server), timeout=WAIT) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n{{".encode()
        )
        raw, closed = response_then_close(conn)
    status, headers, body = head_and_body(raw)
    assert status == 413
    assert headers["connection"] == "close"
    assert body["message"] == errors.PAYLOAD_TOO_LARGE
    assert closed, "the connection stayed open, waiting for a body nobody will read"


def test_413_while_reading_a_chunked_body__says_close(server: LiveServer) -> None:
    with socket.create_connection(address(server), timeout=WAIT) as conn:
        conn.sendall(
            b"POST /flows/acme/main/messages HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * (1024 * 1024)
        try:
            for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        raw, closed = response_then_close(conn)
    status, headers, _ = head_and_body(raw)
    assert status == 413
    assert headers["connection"] == "close"
    assert closed


def test_a_chunked_json_body__is_read(server: LiveServer) -> None:
    payload = json.dumps({"event": "message", "content": "sent without a length"}).encode()

    def pieces() -> Iterator[bytes]:  # httpx sends a generator with Transfer-Encoding: chunked
        yield payload[:10]
        yield payload[10:]

    with httpx.Client(base_url=server.base_url, timeout=WAIT, trust_env=False) as c:
        r = c.post(
            "/flows/acme/main/messages",
            content=pieces(),
            headers={"Content-Type": "application/json"},
            auth=(ALICE["api_token"], ""),
        )
        assert r.request.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in r.request.headers
        assert r.status_code == 201, r.text
        assert r.json()["content"] == "sent without a length"
        r = c.put(
            "/_mock/faults", content=iter([b'{"faults": {}}']), headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 200, r.text
