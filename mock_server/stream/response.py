"""The stream response: chunked, never-ending, in either wire format (docs/flowdock.md §8.1).

- JSON stream (the default): each event as one JSON object followed by ``\\r\\n``; while quiet, a
  lone ``\\n`` every keep-alive interval (node-flowdock splits on ``\\r\\n`` and parses every piece,
  so a ``\\r\\n`` keep-alive would crash it).
- Server-Sent Events (``Accept: text/event-stream`` or ``accept=``): ``id: <sequence>`` and
  ``data: <event>`` lines and a blank line; ``:`` comment keep-alives; ``Last-Event-ID`` replays
  the events after that sequence that the event log still holds.

Stream faults (hub.py): while refusing, a connect gets 503 in Flowdock's error shape with a
``Retry-After``; while stalled, the pump sends nothing; a pending cut ends the stream after its
quota of events; a duplicate is sent first to a user reconnecting.

The connection is registered with the hub before the response headers go out, so a client that
posts as soon as it sees them cannot miss its own event. The response ends when the client goes
away, when the server shuts down, when the client stops reading (its queue fills up), or, on a
server started with ``--stream-lifetime``, when that many seconds have passed: then it ends cleanly
(the last chunk), as Flowdock's servers ended streams for maintenance, and clients reconnect (an SSE
client with ``Last-Event-ID``, so it misses nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson
from starlette.responses import Response

from mock_server import errors
from mock_server.stream.hub import JSON, SSE, Connection, StreamHub, retry_after

if TYPE_CHECKING:
    from mock_server.store.events import Event

log = logging.getLogger("flowdock_mock.stream")

EVENT_STREAM = "text/event-stream"
JSON_KEEPALIVE = b"\n"
SSE_KEEPALIVE = b":\n\n"
REPLAY_CHUNK = 200
SERVER_SEND = "flowdock.server_send"
"""Scope key of the server's own ``send`` (set by the app on entry): a stream's body chunks go
straight to it, past the pipeline's send wrappers, once the response start went through them.
Nothing there looks at body chunks of a stream: its schema is marked ``x-stream`` (never
validated as one body) and the exchange acts on the start only (middleware/exchange.py)."""
ABORT = "flowdock.abort"
"""Scope key of the connection's ``transport.abort`` (set by serving.py's protocol)."""


def encode(event: Event, fmt: str) -> bytes:
    """The event on the wire, encoded once per format and cached on the event."""
    data = event.wire.get(fmt)
    if data is None:
        body = orjson.dumps(event.body)  # escapes \r and \n inside strings: one line per event
        data = b"id: %d\ndata: %s\n\n" % (event.seq, body) if fmt == SSE else body + b"\r\n"
        event.wire[fmt] = data
    return data


def asks_private(user: str) -> bool:
    """``user=1``: the caller's private messages too. Read as the validator reads the integer it
    declares (``int()``, so ``01`` is 1, as Connexion casts it), or ``true`` (compatible mode)."""
    try:
        return int(user) == 1
    except ValueError:
        return user.lower() == "true"


def wire_format(query: dict[str, list[str]], headers: dict[bytes, bytes]) -> str:
    """``accept=`` first, then the ``Accept`` header; the JSON stream unless SSE is asked for."""
    wanted = (query.get("accept") or [""])[-1] or headers.get(b"accept", b"").decode("latin-1")
    return SSE if EVENT_STREAM in wanted.lower() else JSON


class StreamResponse(Response):
    """An ASGI response that streams a connection's events until it ends."""

    def __init__(self, hub: StreamHub, user: int, flows: frozenset[str]) -> None:
        # No body to render: Response.__init__ is not called.
        self.hub = hub
        self.user = user
        self.flows = flows
        self.status_code = 200
        self.background = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        headers = dict(scope.get("headers") or [])
        private = asks_private((query.get("user") or [""])[-1])
        if not self.flows and not private:
            await _error(send, 400, errors.VALIDATION_ERROR, {"filter": [errors.STREAM_NEEDS_FILTER]})
            return
        refused = self.hub.refuse_remaining()
        if refused > 0:
            await _error(
                send,
                503,
                errors.SERVICE_UNAVAILABLE,
                {"base": [errors.STREAM_REFUSED]},
                [(b"retry-after", retry_after(refused).encode())],
            )
            return
        if self.hub.full():
            # Each stream holds a file descriptor for as long as it lasts: past the limit, one more
            # would take the ones health checks and ordinary requests need.
            limit = self.hub.store.config.max_streams
            log.warning(
                "stream of user %s refused: %d streams open, the limit (--max-streams)", self.user, limit
            )
            await _error(
                send,
                503,
                errors.SERVICE_UNAVAILABLE,
                {"base": [errors.STREAM_LIMIT.format(limit=limit)]},
                [(b"retry-after", b"1")],
            )
            return
        fmt = wire_format(query, headers)
        active = (query.get("active") or [None])[-1]
        conn = self.hub.open(
            self.user, self.flows, private=private, format=fmt, active=active, path=scope.get("path", "")
        )
        watcher = asyncio.ensure_future(_watch_disconnect(receive, conn))
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream" if fmt == SSE else b"application/json"),
                        (b"cache-control", b"no-cache"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            body_send = scope.get(SERVER_SEND) or send
            duplicate = self.hub.duplicate_for(conn)
            if duplicate is not None:
                await body_send(
                    {"type": "http.response.body", "body": encode(duplicate, fmt), "more_body": True}
                )
                conn.events_sent += 1
            if fmt == SSE:
                await self._replay(conn, headers, body_send)
            if active:
                self._present(conn)
            await self._pump(conn, body_send)
        except asyncio.CancelledError:
            if conn.reason is None or not conn.reason.startswith("slow consumer"):
                raise
            # The client stopped reading while a write waited for it: the connection is aborted,
            # its unsent buffer dropped (a graceful close would wait on megabytes the client never
            # reads); its client reconnects with Last-Event-ID and replays what it missed.
            log.warning(
                "stream %d of user %s disconnected: slow consumer (%d events waiting, the limit)",
                conn.id,
                conn.user,
                conn.limit,
            )
            await _abort(scope)
        finally:
            watcher.cancel()
            self.hub.release(conn)

    async def _replay(self, conn: Connection, headers: dict[bytes, bytes], send: Any) -> None:
        raw = headers.get(b"last-event-id", b"").strip()
        if not raw.isdigit():
            return
        events = self.hub.store.events
        missed = [e for e in events.since(int(raw)) if conn.wants(e) and events.can_read(e, conn.user)]
        for start in range(0, len(missed), REPLAY_CHUNK):
            part = missed[start : start + REPLAY_CHUNK]
            chunk = b"".join(encode(e, SSE) for e in part)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            conn.events_sent += len(part)
            self.hub.last_sent[conn.user] = part[-1]

    def _present(self, conn: Connection) -> None:
        """``active=true|idle``: the user shows as present; the flows' streams get ``activity.user``."""
        store = self.hub.store
        now = store.now_ms()
        with store.lock:
            user = store.users.by_id.get(conn.user)
            if user is None:
                return
            user.last_ping = now
            if conn.active == "true":
                user.last_activity = now
            for flow in sorted(conn.flows):
                store.events.emit_new(
                    "activity.user", {"last_activity": user.last_activity}, conn.user, flow=flow
                )

    async def _pump(self, conn: Connection, send: Any) -> None:
        keepalive = JSON_KEEPALIVE if conn.format == JSON else SSE_KEEPALIVE
        interval = self.hub.keepalive
        next_presence = time.monotonic() + interval
        lifetime = self.hub.store.config.stream_lifetime
        ends = None if lifetime is None else time.monotonic() + lifetime
        while True:
            if ends is not None:
                left = ends - time.monotonic()
                if left <= 0 and not conn.queue:  # --stream-lifetime: the server ends it, cleanly
                    conn.close(f"its lifetime ended (--stream-lifetime {lifetime:g})")
                    break
                await conn.wait(min(interval, max(left, 0.0)))
            else:
                await conn.wait(interval)
            stalled = self.hub.stall_remaining()
            if stalled > 0:  # a stall fault: not a byte, keep-alives included, until it ends
                await conn.hold(stalled)
                continue
            if conn.queue:
                batch = list(conn.queue)
                conn.queue.clear()
                batch = self.hub.sent(conn, batch)
                if not batch:
                    continue
                chunk = b"".join(encode(e, conn.format) for e in batch)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                conn.events_sent += len(batch)
                continue
            if conn.closed:
                break
            if ends is not None and time.monotonic() >= ends:
                continue  # the lifetime is over: end it rather than keep it alive
            await send({"type": "http.response.body", "body": keepalive, "more_body": True})
            conn.keepalives_sent += 1
            if conn.active == "true" and time.monotonic() >= next_presence:
                next_presence = time.monotonic() + interval
                self._present(conn)
        if conn.reason != "client disconnected":
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _abort(scope: Any) -> None:
    """Drop the connection at once (serving.py puts the transport's ``abort`` in the scope), and
    let the server see it gone, so it reports no unfinished response."""
    abort = scope.get(ABORT)
    if abort is not None:
        abort()
        for _ in range(3):  # connection_lost runs on the next turns of the loop
            await asyncio.sleep(0)


async def _watch_disconnect(receive: Any, conn: Connection) -> None:
    with contextlib.suppress(Exception):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                conn.close("client disconnected")
                return


async def _error(
    send: Any,
    status: int,
    message: str,
    details: dict[str, list[str]],
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = orjson.dumps({"message": message, "errors": details})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


class StreamEndpoint:
    """What the connect handlers are bound to (handlers/stream.py): the world's store, to check the
    flows asked for, and ``respond``, the stream response of a user for those flows."""

    __slots__ = ("hub",)

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub

    @property
    def store(self) -> Any:
        return self.hub.store

    def respond(self, user: int, flows: frozenset[str]) -> StreamResponse:
        return StreamResponse(self.hub, user, flows)
