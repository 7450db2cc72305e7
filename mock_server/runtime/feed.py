"""The journal as a server push: ``GET /_mock/requests/feed`` in Server-Sent Events.

Each journaled request is sent once as ``event: request`` with the entry's id as the SSE ``id``
and the entry as the journal reads it (``Entry.to_dict``: credentials redacted). A new connection
first gets what the ring still holds after ``Last-Event-ID`` (or ``after``; everything when it has
neither), then every new entry as it is recorded. ``DELETE /_mock/requests`` sends
``event: cleared``; a comment line keeps a quiet connection open through proxies.

Subscribers are bounded queues: one that stops reading is dropped when its queue fills (the
connection ends; a client that reconnects with ``Last-Event-ID`` gets what it missed from the
ring), so a stalled browser tab never grows the server's memory or slows a request down. With no
subscriber, recording a request costs one empty-list check.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.runtime.journal import Entry, Journal

QUEUE_SIZE = 1000
"""Entries a subscriber may fall behind by before it is dropped."""
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000
"""How long an EventSource-style client waits before reconnecting."""

_CLEARED = "cleared"
_OVERFLOW = "overflow"


class _Subscriber:
    __slots__ = ("loop", "queue")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)


class JournalFeed:
    """Fans each journal entry out to the open feed connections."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.lock = threading.Lock()
        self.subscribers: list[_Subscriber] = []
        journal.listeners.append(self._notify)

    @property
    def open_connections(self) -> int:
        return len(self.subscribers)

    def _notify(self, entry: Entry | None) -> None:
        """Called by the journal for each recorded entry (``None``: the journal was emptied)."""
        item: Any = _CLEARED if entry is None else entry
        for sub in list(self.subscribers):
            try:
                sub.loop.call_soon_threadsafe(self._put, sub, item)
            except RuntimeError:  # the subscriber's loop is closed: the server is stopping
                self._drop(sub)

    def _put(self, sub: _Subscriber, item: Any) -> None:
        try:
            sub.queue.put_nowait(item)
        except asyncio.QueueFull:
            # Too far behind: make room for one marker that ends the connection.
            self._drop(sub)
            while not sub.queue.empty():
                sub.queue.get_nowait()
            sub.queue.put_nowait(_OVERFLOW)

    def _drop(self, sub: _Subscriber) -> None:
        with self.lock:
            if sub in self.subscribers:
                self.subscribers.remove(sub)

    async def events(self, after: int | None) -> AsyncIterator[bytes]:
        """The SSE body of one connection: the backlog after ``after``, then live entries."""
        sub = _Subscriber(asyncio.get_running_loop())
        with self.lock:
            self.subscribers.append(sub)
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            last = after if after is not None else 0
            if last > self.journal.last_id:  # an id from an earlier server process: start over
                yield _event("cleared", 0, {})
                last = 0
            for entry in self.journal.entries_after(last):
                last = entry.id
                yield _event("request", entry.id, entry.to_dict(self.journal.credentials))
            while True:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if item == _OVERFLOW:
                    return
                if item == _CLEARED:
                    yield _event("cleared", last, {})
                    continue
                if item.id <= last:  # already sent with the backlog
                    continue
                last = item.id
                yield _event("request", item.id, item.to_dict(self.journal.credentials))
        finally:
            self._drop(sub)


def _event(name: str, event_id: int, data: dict[str, Any]) -> bytes:
    return f"event: {name}\nid: {event_id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def parse_last_event_id(value: str | None) -> int | None:
    """``Last-Event-ID`` as the entry id it names; anything else means "from the start"."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 19 else None
