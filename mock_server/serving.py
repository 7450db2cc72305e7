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
  keep-alive timeout, also armed for new connections here; after a response, httptools'
  connections note their deadline in ``IdleConnections`` instead of a timer each).

Only the time before a request's headers are complete is bounded: once a request is in flight
its response may take as long as it takes, so long-lived responses (event streams, the journal
feed) are never cut. The error bodies are Flowdock's ``{"message": ..., "errors": {...}}``.

uvicorn parses HTTP with httptools when it is installed and with h11 otherwise; both protocols
are subclassed here with the same limits, the same answers and the same timers, and
``HttpLimits.http`` picks one (``auto``: httptools when it imports, else h11), so the limits hold
on whichever the server runs on (tests/clients/test_http_limits.py runs every test on both). This
relies on uvicorn's parser callbacks and attributes; tests/unit/test_uvicorn_internals.py names
each one so an upgrade that moves them fails loudly there.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from dataclasses import dataclass
from typing import Any

from mock_server import errors
from mock_server.turns import PerLoop, TurnEnd

ABORT = "flowdock.abort"
"""Scope key of the connection's ``transport.abort`` (read by mock_server/stream/response.py)."""
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
    http: str = "auto"
    """The HTTP parser: ``httptools``, ``h11``, or ``auto`` (httptools when it imports, else h11)."""


HTTP_IMPLEMENTATIONS = ("httptools", "h11")


def _response(status: int, reason: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/json; charset=utf-8\r\n"
        f"content-length: {len(data)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + data


def _refusals(limits: HttpLimits) -> tuple[bytes, bytes]:
    """The 431 and 408 answers, whole (written as they are, then the connection is closed)."""
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
    return too_large, too_slow


def chosen_http(limits: HttpLimits) -> str:
    """The parser ``limits.http`` names; ``auto``: httptools when it imports, else h11."""
    if limits.http != "auto":
        if limits.http not in HTTP_IMPLEMENTATIONS:
            raise ValueError(f"unknown HTTP implementation {limits.http!r}")
        return limits.http
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def protocol_class(limits: HttpLimits) -> type[asyncio.Protocol]:
    """uvicorn's protocol for the chosen parser, enforcing ``limits`` (``uvicorn.Config(http=...)``)."""
    if chosen_http(limits) == "h11":
        return _h11_protocol(limits)
    return _httptools_protocol(limits)


class _HeadGuard(asyncio.Protocol):
    """What both limited protocols add to uvicorn's: the head timer's stop, the keep-alive grace of
    a connection that has sent no request yet, and a refusal written before the connection closes.
    Mixed in before uvicorn's protocol class, whose attributes it uses."""

    loop: Any
    transport: Any
    timeout_keep_alive: Any
    timeout_keep_alive_handler: Any
    timeout_keep_alive_task: Any
    _head_timer: asyncio.TimerHandle | None

    def _guard(self) -> None:
        """Called by ``connection_made`` once uvicorn's has run."""
        self._head_timer = None
        # uvicorn arms its keep-alive timer only after a response; a connection that never sends
        # a request gets the same grace.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)
        idle = self.timeout_keep_alive_task
        if idle is not None:  # uvicorn cancels it only on a clean close
            idle.cancel()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self, response: bytes) -> None:
        self._stop_head_timer()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()


def _httptools_protocol(limits: HttpLimits) -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    too_large, too_slow = _refusals(limits)

    class LimitedHttpToolsProtocol(_HeadGuard, HttpToolsProtocol):
        """Counts what arrives while a request head is unfinished, and times it."""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._reading_head = True  # the next bytes are a request head
            self._in_head = False  # a head has begun and is not complete
            self._head_bytes = 0
            self._head_size = 0
            self._header_count = 0
            self._turn = TurnEnd.for_loop(self.loop)
            self._idle = IdleConnections.for_loop(self.loop)
            self._guard()

        def data_received(self, data: bytes) -> None:
            if self._reading_head:
                self._head_bytes += len(data)
            super().data_received(data)
            if self._reading_head and not self.transport.is_closing():
                if self._head_bytes > limits.max_header_bytes or self._header_count > limits.max_headers:
                    self._refuse(too_large)
                elif self._in_head and self._head_timer is None:
                    # A head still unfinished once these bytes are read is timed from here. One that
                    # arrives whole (nearly every request) never arms the timer: no timer handle
                    # made and cancelled per request.
                    self._head_timer = self.loop.call_later(limits.header_timeout, self._head_timed_out)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._reading_head = True
            self._in_head = True
            self._head_size = self._header_count = 0
            self._stop_head_timer()

        def on_url(self, url: bytes) -> None:
            self._head_size += len(url)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._head_size += len(name) + len(value) + 4
            self._header_count += 1
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._stop_head_timer()
            self._reading_head = self._in_head = False
            self._head_bytes = 0
            if self._head_size > limits.max_header_bytes or self._header_count > limits.max_headers:
                self._refuse(too_large)
                return
            super().on_headers_complete()
            # How a response drops its connection at once, unsent buffer and all (a stream whose
            # client stopped reading, mock_server/stream/response.py); ASGI has no word for it.
            self.scope[ABORT] = self.transport.abort  # type: ignore[literal-required]
            cycle = self.cycle
            if cycle is not None:  # its task has not started: it writes through OneWrite
                cycle.transport = OneWrite(self.transport, cycle, self._turn)  # type: ignore[assignment]

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._reading_head = True  # what follows is the next request

        def on_response_complete(self) -> None:
            if self.pipeline or self.transport.is_closing():
                super().on_response_complete()  # uvicorn's own: the next pipelined request starts
                return
            # uvicorn's, but for its keep-alive timer: a mark in the loop's IdleConnections, not a
            # timer made and cancelled per response (tests/unit/test_uvicorn_internals.py
            # checks that uvicorn's method still does these steps).
            self.server_state.total_requests += 1
            self._unset_keepalive_if_required()
            self.flow.resume_reading()
            self.timeout_keep_alive_task = self._idle.arm(self, self.timeout_keep_alive)

        def shutdown(self) -> None:
            # uvicorn closes an idle connection here: a response kept to the end of this turn
            # (mock_server/turns.py) is written before, or closing would drop it.
            self._turn.write_kept()
            super().shutdown()

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self._reading_head and not self.transport.is_closing():
                self._refuse(too_slow)

        def _refuse(self, response: bytes) -> None:
            self._reading_head = False
            super()._refuse(response)

    return LimitedHttpToolsProtocol


class IdleConnections(PerLoop):
    """The keep-alive deadlines of one loop's connections, watched by one timer (``for_loop``).

    uvicorn arms a keep-alive timer after every response (``loop.call_later``) and cancels it
    when the connection's next request arrives: a timer handle made, pushed on the loop's heap
    (its comparisons are Python calls) and cancelled per request, and the heap of cancelled
    handles swept now and then. Here a response only notes its connection's deadline in a dict;
    one timer, at the earliest deadline, closes the connections whose deadline has passed
    (uvicorn's ``timeout_keep_alive_handler``) and is set again for the next. A connection's
    next request takes it out of the dict (``IdleMark.cancel``, called where uvicorn cancels
    its timer). Once it has fired, it is set again no sooner than ``RESOLUTION`` seconds later
    (many connections going idle at different moments are swept at most twenty times a second),
    so a connection may be closed that much after its deadline, never before. On the bench's
    ``GET /flows`` at 32 connections this took about a tenth off the server's CPU per request
    (docs/performance-report.md).
    """

    RESOLUTION = 0.05

    __slots__ = ("_loop", "_when", "deadlines")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Weakly (PerLoop). No timer handle is kept either (a handle holds its loop): a timer
        # overtaken by an earlier one fires idle.
        self._loop = weakref.ref(loop)
        self.deadlines: dict[Any, float] = {}
        self._when: float | None = None
        """When the timer is set for; None while none is."""

    def arm(self, protocol: Any, delay: float) -> IdleMark:
        """``protocol`` closed (its ``timeout_keep_alive_handler``) ``delay`` seconds from now
        unless the returned mark is cancelled first."""
        loop = self._loop()
        assert loop is not None  # a protocol's loop outlives it
        deadline = loop.time() + delay
        self.deadlines[protocol] = deadline
        if self._when is None or deadline < self._when:
            self._set(loop, deadline)
        return IdleMark(self.deadlines, protocol)

    def _set(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        self._when = when
        loop.call_at(when, self._expire, when)

    def _expire(self, when: float) -> None:
        loop = self._loop()
        if when != self._when or loop is None:
            return  # overtaken by an earlier deadline's timer
        self._when = None
        now = loop.time()
        deadlines = self.deadlines
        for protocol in [p for p, deadline in deadlines.items() if deadline <= now]:
            del deadlines[protocol]
            protocol.timeout_keep_alive_handler()
        if deadlines:
            self._set(loop, max(min(deadlines.values()), now + self.RESOLUTION))


class IdleMark:
    """A connection's place in ``IdleConnections``: what uvicorn holds as its keep-alive timer."""

    __slots__ = ("deadlines", "protocol")

    def __init__(self, deadlines: dict[Any, float], protocol: Any) -> None:
        self.deadlines = deadlines
        self.protocol = protocol

    def cancel(self) -> None:
        self.deadlines.pop(self.protocol, None)


class OneWrite:
    """The transport a request's response is written through (httptools): a response head with a
    Content-Length is held until the body's first bytes and written with them, at the end of the
    loop's turn when the loop is busy (mock_server/turns.py).

    uvicorn writes a response's head and its body with two ``write`` calls: two sends, two TCP
    segments and two wake-ups of the client for every response. A body of known length follows
    its head at once (the app sends it next), so the two go out as one write; a head without a
    length (a stream, chunked) or of an empty body is written at once, as before, and so is
    everything of a response whose head and first bytes went out already. Should the
    connection close with a head still held, it is written first, after anything kept for it.
    """

    __slots__ = ("cycle", "held", "started", "transport", "turn")

    def __init__(self, transport: Any, cycle: Any, turn: TurnEnd | None = None) -> None:
        self.transport = transport
        self.cycle = cycle
        self.turn = turn
        self.held: bytes | None = None
        self.started = False

    def write(self, data: bytes) -> None:
        held = self.held
        turn = self.turn
        if held is not None:
            self.held = None
            if turn is not None:
                turn.write(self.transport, held + data)
            else:
                self.transport.write(held + data)
            return
        if turn is not None and turn.keeps(self.transport):
            turn.keep(self.transport, data)  # after this response's first bytes
            return
        cycle = self.cycle
        if not self.started and cycle.response_started:  # this write is the response head
            self.started = True
            self.cycle = None  # read for the head only: no cycle <-> transport reference cycle left
            if (
                cycle.chunked_encoding is False
                and cycle.expected_content_length > 0
                and cycle.scope["method"] != "HEAD"
            ):
                self.held = data
                return
        self.transport.write(data)

    def is_closing(self) -> bool:
        closing: bool = self.transport.is_closing()
        return closing

    def close(self) -> None:
        turn = self.turn
        if turn is not None and turn.keeps(self.transport):
            turn.write_kept()
        held = self.held
        if held is not None:
            self.held = None
            self.transport.write(held)
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def _h11_protocol(limits: HttpLimits) -> type[asyncio.Protocol]:
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    too_large, too_slow = _refusals(limits)

    class LimitedH11Protocol(_HeadGuard, H11Protocol):
        """h11 keeps at most ``max_header_bytes`` of an unfinished head (its own bound, set by
        ``uvicorn_options``; its error becomes our 431); every finished head is measured before
        uvicorn acts on it; the head timer runs while h11 waits for a request."""

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._guard()
            self._refusal: bytes | None = None
            parse = self.conn.next_event

            def judged() -> Any:
                try:
                    event = parse()
                except h11.RemoteProtocolError as exc:
                    if exc.error_status_hint == 431:  # "Receive buffer too long": an endless head
                        self._refusal = too_large
                    raise
                if isinstance(event, h11.Request):
                    self._stop_head_timer()
                    size = (
                        len(event.method)
                        + len(event.target)
                        + sum(len(n) + len(v) + 4 for n, v in event.headers)
                    )
                    if size > limits.max_header_bytes or len(event.headers) > limits.max_headers:
                        self._refusal = too_large
                        raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
                return event

            self.conn.next_event = judged  # type: ignore[method-assign]

        def data_received(self, data: bytes) -> None:
            self._arm_head_timer()
            super().data_received(data)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.conn.trailing_data[0]:  # part of the next request head is already here
                self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            if self._head_timer is None and self.conn.their_state is h11.IDLE:
                self._head_timer = self.loop.call_later(limits.header_timeout, self._head_timed_out)

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._refuse(too_slow)

        def handle_events(self) -> None:
            super().handle_events()
            cycle = self.cycle
            if cycle is not None:  # its task has not started yet: it sees the key (as httptools')
                cycle.scope.setdefault(ABORT, self.transport.abort)  # type: ignore[misc]

        def send_400_response(self, msg: str) -> None:
            if self._refusal is None:
                super().send_400_response(msg)
            else:
                self._refuse(self._refusal)

    return LimitedH11Protocol


def uvicorn_options(limits: HttpLimits) -> dict[str, Any]:
    """The ``uvicorn.Config`` options that apply ``limits``."""
    return {
        "http": protocol_class(limits),
        "timeout_keep_alive": limits.keep_alive_timeout,
        # The h11 protocol's own bound on an unfinished head (its error is our 431).
        "h11_max_incomplete_event_size": limits.max_header_bytes,
    }
