"""The open stream connections of one world, and the fan-out of its events to them.

One ``StreamHub`` per store: it subscribes once to the store's event log and hands each event to
the connections that asked for it (by flow, by private conversation, by the user it concerns)
and may read it *now* (``EventLog.can_read``, per event). Each connection has a bounded queue:
a consumer that stops reading fills it and is closed (its client reconnects with
``Last-Event-ID``), so it never holds up the writer or the other streams, nor grows memory.

The world's stream faults (``store.stream_faults``, runtime/faults.py) are read here and in
response.py: a cut closes connections (now, or after N more events each), a stall holds every
pump, a refusal answers new connections with 503, a duplicate resends a user's last event.

Events are emitted in whatever thread wrote them (the server's event loop for API requests, a
test's thread for ``store.events.emit``); the hub moves them onto its event loop before touching
a connection.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.store.timefmt import iso_ms

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.events import Event

log = logging.getLogger("flowdock_mock.stream")

DEFAULT_KEEPALIVE = 30.0
"""Seconds between keep-alives on a quiet stream (docs/flowdock.md §8.1: clients give up after 90 s)."""
DEFAULT_QUEUE = 1000
"""Events a connection may have waiting before it counts as stopped and is closed."""

JSON = "json"
SSE = "sse"
CUT = "cut by a stream fault"


@dataclass(eq=False)
class Connection:
    """One open stream: who, what it asked for, and what waits to be written."""

    id: int
    user: int
    flows: frozenset[str]
    private: bool
    format: str
    active: str | None
    path: str
    limit: int
    opened_at: float = field(default_factory=time.time)
    events_sent: int = 0
    keepalives_sent: int = 0
    queue: deque[Event] = field(default_factory=deque)
    closed: bool = False
    reason: str | None = None
    waiter: asyncio.Future[None] | None = None
    task: asyncio.Task[Any] | None = None
    cut_budget: int | None = None
    """Events it may still send before a stream fault cuts it (None: no cut pending)."""
    ending: asyncio.Future[None] | None = None

    def wants(self, event: Event) -> bool:
        """What the client subscribed to (access is checked separately, per event)."""
        if event.audience is not None:
            return event.audience == self.user
        if event.between is not None:
            return self.private and self.user in event.between
        return event.flow in self.flows

    def push(self, event: Event) -> None:
        if self.closed:
            return
        if len(self.queue) >= self.limit:
            self.close("slow consumer: its queue of events is full")
            if self.task is not None:  # it is stuck in a write the client does not read
                self.task.cancel()
            return
        self.queue.append(event)
        self.wake()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.reason = reason
        self.wake()
        ending = self.ending
        if ending is not None and not ending.done():
            ending.set_result(None)

    async def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a stall), unless the connection is closed meanwhile."""
        if self.closed or seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        ending = self.ending = loop.create_future()
        timer = loop.call_later(seconds, _resolve, ending)
        try:
            await ending
        finally:
            timer.cancel()
            self.ending = None

    async def wait(self, timeout: float) -> None:
        """Until an event is queued, the connection is closed, or ``timeout`` seconds pass."""
        if self.queue or self.closed:
            return
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        timer = loop.call_later(timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None

    def to_dict(self) -> dict[str, Any]:
        """The connection as /_mock/streams lists it."""
        return {
            "id": self.id,
            "user": self.user,
            "path": self.path,
            "flows": sorted(self.flows),
            "private": self.private,
            "format": "text/event-stream" if self.format == SSE else "application/json",
            "active": self.active,
            "opened_at": iso_ms(int(self.opened_at * 1000)),
            "events_sent": self.events_sent,
            "keepalives_sent": self.keepalives_sent,
            "queued": len(self.queue),
        }


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class StreamHub:
    """The stream connections of one store, subscribed to its event log."""

    @classmethod
    def of(cls, store: Store) -> StreamHub:
        """The hub of ``store``'s world, attached to the store on first use (``store.streams``),
        with the world's settings (``StoreConfig.stream_keepalive``, ``stream_queue``)."""
        hub = store.streams
        if hub is None:
            with store.lock:
                hub = store.streams
                if hub is None:
                    config = store.config
                    hub = store.streams = cls(store, config.stream_keepalive, config.stream_queue)
        assert isinstance(hub, StreamHub)
        return hub

    def __init__(
        self, store: Store, keepalive: float = DEFAULT_KEEPALIVE, queue_size: int = DEFAULT_QUEUE
    ) -> None:
        self.store = store
        self.keepalive = keepalive
        self.queue_size = queue_size
        self.connections: dict[int, Connection] = {}
        self._by_flow: dict[str, set[Connection]] = {}
        self._by_user: dict[int, set[Connection]] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.shutting_down = False
        self._unsubscribe: Callable[[], None] | None = None
        self._watchers: list[Callable[[Any], None]] = []
        """Called with each connection opened (the kit's wait for a stream, runtime/kit.py)."""
        self.faults: Any = store.stream_faults
        """The world's stream faults (runtime/faults.py ``StreamFaults``), None for a bare store."""
        self.last_sent: dict[int, Event] = {}
        """Per user, the last event one of its streams was sent (for ``duplicate_on_reconnect``)."""
        if self.faults is not None:
            self.faults.subscribe(self._on_faults)

    # --- connections ------------------------------------------------------------------------------
    def open(
        self,
        user: int,
        flows: frozenset[str],
        *,
        private: bool,
        format: str,
        active: str | None,
        path: str,
    ) -> Connection:
        """Register a connection (before its response starts, so no event can fall in between)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._loop_thread = loop, threading.get_ident()
        if self._unsubscribe is None:
            self._unsubscribe = self.store.events.subscribe(self._on_event)
        self.store.config.streams_open[0] += 1
        conn = Connection(next(self._ids), user, flows, private, format, active, path, self.queue_size)
        conn.task = asyncio.current_task()
        if self.shutting_down:
            conn.close("server shutting down")
        self.connections[conn.id] = conn
        for flow in flows:
            self._by_flow.setdefault(flow, set()).add(conn)
        self._by_user.setdefault(user, set()).add(conn)
        for watcher in list(self._watchers):
            watcher(conn)
        return conn

    def watch(self, watcher: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``watcher(connection)`` for every connection opened from now on; returns the
        call that stops it."""
        self._watchers.append(watcher)

        def stop() -> None:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

        return stop

    def release(self, conn: Connection) -> None:
        """Forget a connection that ended."""
        if conn.cut_budget is not None and self.faults is not None:  # it ended before its cut
            self.faults.cut_pending = max(0, self.faults.cut_pending - 1)
        conn.close(conn.reason or "ended")
        if self.connections.pop(conn.id, None) is not None:
            self.store.config.streams_open[0] -= 1
        for flow in conn.flows:
            found = self._by_flow.get(flow)
            if found is not None:
                found.discard(conn)
                if not found:
                    del self._by_flow[flow]
        mine = self._by_user.get(conn.user)
        if mine is not None:
            mine.discard(conn)
            if not mine:
                del self._by_user[conn.user]

    def close_all(self, reason: str = "closed by the server") -> None:
        """End every open stream (from any thread); their clients may reconnect."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread and not loop.is_closed():
            loop.call_soon_threadsafe(self.close_all, reason)
            return
        for conn in list(self.connections.values()):
            conn.close(reason)

    # --- stream faults ----------------------------------------------------------------------------
    def _on_faults(self, settings: dict[str, Any]) -> None:
        """New stream faults were set (in any thread): a cut applies to the streams open now."""
        if settings.get("cut_after_events") is None:
            return
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread and not loop.is_closed():
            loop.call_soon_threadsafe(self._cut, int(settings["cut_after_events"]))
        else:
            self._cut(int(settings["cut_after_events"]))

    def _cut(self, after: int) -> None:
        open_now = [c for c in self.connections.values() if not c.closed]
        for conn in open_now:
            if after <= 0:
                conn.close(CUT)
            else:
                conn.cut_budget = after
        if after > 0:
            self.faults.cut_pending = len(open_now)

    def sent(self, conn: Connection, batch: list[Event]) -> list[Event]:
        """What of ``batch`` to send now: all of it, or what a pending cut leaves; the rest is
        dropped (the client catches up after reconnecting) and the connection closed."""
        if conn.cut_budget is not None:
            batch = batch[: conn.cut_budget]
            conn.cut_budget -= len(batch)
            if conn.cut_budget <= 0:
                conn.queue.clear()
                conn.cut_budget = None
                conn.close(CUT)
                if self.faults is not None:
                    self.faults.cut_pending = max(0, self.faults.cut_pending - 1)
        if batch:
            self.last_sent[conn.user] = batch[-1]
        return batch

    def stall_remaining(self) -> float:
        return float(self.faults.stall_remaining()) if self.faults is not None else 0.0

    def refuse_remaining(self) -> float:
        return float(self.faults.refuse_remaining()) if self.faults is not None else 0.0

    def duplicate_for(self, conn: Connection) -> Event | None:
        """With ``duplicate_on_reconnect`` set: the last event the user's earlier streams were
        sent, when this connection wants it and may read it."""
        if self.faults is None or not self.faults.duplicate:
            return None
        event = self.last_sent.get(conn.user)
        if event is None or not conn.wants(event) or not self.store.events.can_read(event, conn.user):
            return None
        return event

    def shutdown(self) -> None:
        """The server is stopping: end every stream and refuse new ones (they end at once)."""
        self.shutting_down = True
        self.close_all("server shutting down")

    def full(self) -> bool:
        """Whether the server holds ``StoreConfig.max_streams`` streams already (every world's)."""
        config = self.store.config
        return config.streams_open[0] >= config.max_streams

    def list(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in list(self.connections.values())]  # any thread: a copy first

    # --- fan-out ----------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self.dispatch(event)
        else:
            loop.call_soon_threadsafe(self.dispatch, event)

    def dispatch(self, event: Event) -> None:
        """Queue ``event`` on every connection that subscribed to it and may read it now."""
        if event.audience is not None or event.between is not None:
            users = (event.audience,) if event.audience is not None else event.between or ()
            candidates: set[Connection] = set()
            for user in users:
                candidates |= self._by_user.get(user, set())
        else:
            candidates = self._by_flow.get(event.flow or "", set())
        if not candidates:
            return
        can_read = self.store.events.can_read
        allowed: dict[int, bool] = {}
        for conn in list(candidates):
            if not conn.wants(event):
                continue
            ok = allowed.get(conn.user)
            if ok is None:
                ok = allowed[conn.user] = can_read(event, conn.user)
            if ok:
                conn.push(event)
