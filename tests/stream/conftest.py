"""Stream tests run against a real server over real sockets (a stream never ends: no test client).

``stream_server`` (tests/clients/conftest.py, shared with the streaming clients' tests) is one
server for the module with a short keep-alive; ``live`` resets its default world.
``open_stream`` connects as a user and returns a ``Stream`` that parses either wire format and
checks every event against spec/asyncapi.yaml. ``wait_until`` polls a condition with a deadline.
"""

from __future__ import annotations

import base64
import http.client
import json
import select
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest

from tests import waiting
from tests.clients.conftest import LiveServer, stream_server, streaming
from tests.stream.asyncapi import assert_valid_event

__all__ = ["stream_server"]  # the shared fixture, for this directory's tests

TIMEOUT = 10.0


def wait_until(condition: Callable[[], Any], timeout: float = TIMEOUT, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy (returned) or ``timeout`` passes (fail)."""
    return waiting.wait_until(condition, timeout, what)


def basic(token: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{token}:{password}".encode()).decode()


@dataclass
class Stream:
    """One open stream on a raw socket: status, headers, the decoded body so far, its events.

    The chunked transfer encoding is decoded here (so a test sees that the server uses it), and
    the body is parsed as the clients parse it: ``\r\n``-terminated JSON lines and lone ``\n``
    keep-alives, or SSE blocks with ``id:``/``data:`` lines and ``:`` comments.
    """

    sock: socket.socket
    status: int
    headers: dict[str, str]
    sse: bool
    raw: bytearray = field(default_factory=bytearray)
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    keepalives: int = 0
    ended: bool = False
    """The body ended: the last chunk arrived (``clean``) or the connection closed."""
    clean: bool = False
    _wire: bytearray = field(default_factory=bytearray)
    _pos: int = 0

    def getheader(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def _pump(self, timeout: float) -> None:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.ended = True
            return
        self._wire.extend(data)
        self._dechunk()
        self._parse()

    def _dechunk(self) -> None:
        while not self.clean:
            line_end = self._wire.find(b"\r\n")
            if line_end == -1:
                return
            size = int(bytes(self._wire[:line_end]).split(b";")[0], 16)
            if len(self._wire) < line_end + 2 + size + 2:
                return
            self.raw.extend(self._wire[line_end + 2 : line_end + 2 + size])
            assert self._wire[line_end + 2 + size : line_end + 4 + size] == b"\r\n"
            del self._wire[: line_end + 4 + size]
            if size == 0:
                self.clean = self.ended = True

    def _parse(self) -> None:
        if self.sse:
            while (end := self.raw.find(b"\n\n", self._pos)) != -1:
                block = bytes(self.raw[self._pos : end]).decode()
                self._pos = end + 2
                lines = block.split("\n")
                if all(line.startswith(":") for line in lines):
                    self.keepalives += 1
                    continue
                fields = dict(line.split(": ", 1) for line in lines)
                self.ids.append(int(fields["id"]))
                self._add(json.loads(fields["data"]))
        else:
            while self._pos < len(self.raw):
                if self.raw[self._pos : self._pos + 1] == b"\n":
                    self.keepalives += 1
                    self._pos += 1
                    continue
                end = self.raw.find(b"\r\n", self._pos)
                if end == -1:
                    return
                self._add(json.loads(self.raw[self._pos : end]))
                self._pos = end + 2

    def _add(self, event: dict[str, Any]) -> None:
        assert_valid_event(event)
        self.events.append(event)

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """The first event received so far or later that matches ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            if self.ended or time.monotonic() > deadline:
                raise AssertionError(f"no matching event; got {[e.get('event') for e in self.events]}")
            self._pump(min(0.2, max(0.01, deadline - time.monotonic())))

    def wait_keepalives(self, count: int, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.keepalives < count:
            if self.ended or time.monotonic() > deadline:
                raise AssertionError(f"{self.keepalives} keep-alives, wanted {count}")
            self._pump(0.2)

    def wait_end(self, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self.ended:
            if time.monotonic() > deadline:
                raise AssertionError("the stream did not end")
            self._pump(0.2)

    def close(self) -> None:
        self.sock.close()


def connect(port: int, path: str, headers: dict[str, str], timeout: float = TIMEOUT) -> Stream:
    """Send a GET on a new socket and read the response head; the body is left to ``Stream``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"] if "Host" not in headers else [f"GET {path} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = bytearray()
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in head:
        if time.monotonic() > deadline:
            raise AssertionError("no response head")
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before the response head: {bytes(head)!r}")
        head.extend(chunk)
    text, _, rest = bytes(head).partition(b"\r\n\r\n")
    status_line, *header_lines = text.decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    stream = Stream(
        sock,
        int(status_line.split()[1]),
        fields,
        fields.get("content-type", "").startswith("text/event-stream"),
    )
    stream._wire.extend(rest)
    stream._dechunk()
    stream._parse()
    return stream


@dataclass
class Opener:
    live: LiveServer
    opened: list[Stream] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.live.base_url.rsplit(":", 1)[1])

    def request(
        self, path: str, headers: dict[str, str] | None = None, **params: Any
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        query = urlencode({k: v for k, v in params.items() if v is not None})
        conn.request("GET", path + ("?" + query if query else ""), headers=headers or {})
        return conn, conn.getresponse()

    def __call__(
        self,
        user_id: int | None = 1,
        path: str = "/stream/flows",
        *,
        sse: bool = False,
        headers: dict[str, str] | None = None,
        wait: bool = True,
        **params: Any,
    ) -> Stream:
        """A stream for ``user_id`` (Basic token auth), registered on the server when it returns."""
        before = {(s["world"], s["id"]) for s in self.streams()}
        all_headers = dict(headers or {})
        if user_id is not None:
            all_headers.setdefault("Authorization", basic(self.live.token(user_id)))
        if sse:
            all_headers.setdefault("Accept", "text/event-stream")
        query = urlencode({k: v for k, v in params.items() if v is not None})
        stream = connect(self.port, path + ("?" + query if query else ""), all_headers)
        assert stream.status == 200, stream.headers
        self.opened.append(stream)
        if wait:
            wait_until(
                lambda: {(s["world"], s["id"]) for s in self.streams()} - before,
                what="the stream to register",
            )
        return stream

    def streams(self) -> list[dict[str, Any]]:
        conn, response = self.request("/_mock/streams")
        body = json.loads(response.read())
        conn.close()
        return list(body["streams"])


@pytest.fixture
def live(stream_server: LiveServer) -> Iterator[LiveServer]:
    with streaming(stream_server, "default") as server:
        yield server


@pytest.fixture
def open_stream(live: LiveServer) -> Iterator[Opener]:
    opener = Opener(live)
    yield opener
    for stream in opener.opened:
        stream.close()
