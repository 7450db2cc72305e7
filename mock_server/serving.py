"""The HTTP server under the app: uvicorn, with request heads and idle connections bounded.

uvicorn's httptools protocol keeps whatever a client sends before its headers end (a client
streaming 200 MB of unfinished headers made the server hold 200 MB), and a connection that never
sends a byte, or sends a request head one byte a minute, stays open for good. ``HttpLimits`` bounds
both, and ``protocol_class`` builds the protocol that enforces them:

- a request head (request line and headers) larger than ``max_header_bytes``, or with more than
  ``max_headers`` header fields: **431** (RFC 6585 §5), and the connection is closed;
- a request head not complete ``header_timeout`` seconds after its first byte: **408**
  (RFC 9110 §15.5.9), and the connection is closed;
- a connection with no request in flight for ``keep_alive_timeout`` seconds (a new connection that
  sends nothing, or one idle after its last response): closed without a response (uvicorn's
  keep-alive timeout, also armed for new connections here).

Only the time before a request's headers are complete is bounded: once a request is in flight
its response may take as long as it takes, so long-lived responses (event streams, the journal
feed) are never cut. The error bodies are Flowdock's ``{"message": ..., "errors": {...}}``.

This subclasses uvicorn's httptools protocol and relies on its parser callbacks and attributes;
tests/unit/test_uvicorn_internals.py names each one so an upgrade that moves them fails loudly there.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from mock_server import errors

DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """What a client may do before its request is in flight (``--max-header-bytes`` etc.)."""

    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT


def _response(status: int, reason: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/json; charset=utf-8\r\n"
        f"content-length: {len(data)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + data


def protocol_class(limits: HttpLimits) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, enforcing ``limits`` (pass it as ``uvicorn.Config(http=...)``)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    too_large = _response(
        431,
        "Request Header Fields Too Large",
        {
            "message": errors.HEADERS_TOO_LARGE,
            "errors": {
                "headers": [
                    errors.HEADERS_LIMIT.format(bytes=limits.max_header_bytes, count=limits.max_headers)
                ]
            },
        },
    )
    too_slow = _response(
        408,
        "Request Timeout",
        {
            "message": errors.REQUEST_TIMEOUT,
            "errors": {"headers": [errors.HEADERS_TIMEOUT.format(seconds=limits.header_timeout)]},
        },
    )

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        """Counts what arrives while a request head is unfinished, and times it."""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._reading_head = True  # the next bytes are a request head
            self._head_bytes = 0
            self._head_size = 0
            self._header_count = 0
            self._head_timer: asyncio.TimerHandle | None = None
            # uvicorn arms its keep-alive timer only after a response; a connection that never
            # sends a request gets the same grace.
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._reading_head:
                self._head_bytes += len(data)
            super().data_received(data)
            if (
                self._reading_head
                and not self.transport.is_closing()
                and (self._head_bytes > limits.max_header_bytes or self._header_count > limits.max_headers)
            ):
                self._refuse(too_large)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._reading_head = True
            self._head_size = self._header_count = 0
            self._stop_head_timer()
            self._head_timer = self.loop.call_later(limits.header_timeout, self._head_timed_out)

        def on_url(self, url: bytes) -> None:
            self._head_size += len(url)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._head_size += len(name) + len(value) + 4
            self._header_count += 1
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._stop_head_timer()
            self._reading_head = False
            self._head_bytes = 0
            if self._head_size > limits.max_header_bytes or self._header_count > limits.max_headers:
                self._refuse(too_large)
                return
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._reading_head = True  # what follows is the next request

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._reading_head and not self.transport.is_closing():
                self._refuse(too_slow)

        def _refuse(self, response: bytes) -> None:
            self._stop_head_timer()
            self._reading_head = False
            if not self.transport.is_closing():
                self.transport.write(response)
                self.transport.close()

    return LimitedHttpToolsProtocol


def uvicorn_options(limits: HttpLimits) -> dict[str, Any]:
    """The ``uvicorn.Config`` options that apply ``limits``."""
    return {
        "http": protocol_class(limits),
        "timeout_keep_alive": limits.keep_alive_timeout,
        # Used only if uvicorn runs its h11 protocol instead (no httptools): the head size bound.
        "h11_max_incomplete_event_size": limits.max_header_bytes,
    }
