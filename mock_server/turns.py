"""The end of the event loop's turn: where a busy server batches what each request would write.

A turn of asyncio's loop runs every callback that was ready when it began; on a busy server that
is many requests' handlers one after another. Two things each of them would write at once are
kept to the end of the turn and written together there (``TurnEnd``, one per loop):

- **responses** (``write``, from ``serving.OneWrite``): sending a response wakes the client that
  waits for it, and each wake-up is a cross-CPU interrupt the sending process pays for in system
  time. Kept while the loop has other work ready, the responses of one turn go out back to back
  at its end, and a waiting client is woken once for several (on the 2-CPU bench machine, under
  wrk at 32 connections, a ``GET /flows`` costs a tenth to a fifth less CPU,
  docs/performance-report.md).
  A response made with nothing else ready (an idle server, a single client) is written at once,
  and so is everything kept before it: no response waits for a request that has not arrived.
- **access lines** (``soon``, from ``logs._StderrHandler``): one ``write`` for the turn's lines.

What is kept runs in one callback the loop runs at the start of its next turn, before the
callbacks of anything that arrives meanwhile (a connection's next request, a timer); a server
stopping runs it first (``serving``'s protocol ``shutdown``). It reads the loop's queue of ready
callbacks (``_ready``, asyncio's own attribute, named in tests/unit/test_uvicorn_internals.py);
on a loop without one, everything is written at once.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, Self


class PerLoop:
    """One instance per event loop, made by ``for_loop`` on first use and gone with the loop.

    Each subclass keeps its own instances, by loop, weakly: an instance must hold its loop weakly
    too (it is the loop's value, and a value that refers to its key keeps the entry for good).
    """

    __slots__ = ()
    _instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._instances = weakref.WeakKeyDictionary()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        pass

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> Self:
        found: Self | None = cls._instances.get(loop)
        if found is None:
            found = cls._instances[loop] = cls(loop)
        return found


class TurnEnd(PerLoop):
    """What one event loop keeps to the end of its turn (``for_loop``)."""

    __slots__ = ("_handle", "_loop", "callbacks", "keeping", "kept", "ready")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)  # weakly: see PerLoop
        self.ready: Any = getattr(loop, "_ready", None)
        self.kept: list[tuple[Any, bytes]] = []
        self.keeping: set[Any] = set()
        """The transports in ``kept`` (``keeps`` asks once per write, with many kept)."""
        self.callbacks: list[Callable[[], None]] = []
        self._handle: asyncio.Handle | None = None

    def busy(self) -> bool:
        """Whether the loop has work ready besides this turn's end."""
        ready = self.ready
        return ready is not None and len(ready) > (0 if self._handle is None else 1)

    def write(self, transport: Any, data: bytes) -> None:
        """``data`` for ``transport``: written now when the loop has nothing else ready (after
        what is kept), else kept to the turn's end."""
        if not self.busy():
            if self.kept:
                self.write_kept()
            transport.write(data)
            return
        self.keep(transport, data)

    def keeps(self, transport: Any) -> bool:
        """Whether bytes for ``transport`` are kept: whatever follows them must be kept too."""
        return transport in self.keeping

    def keep(self, transport: Any, data: bytes) -> None:
        """``data`` after what is kept for ``transport`` (``keeps``)."""
        self.kept.append((transport, data))
        self.keeping.add(transport)
        self._schedule()

    def soon(self, callback: Callable[[], None]) -> None:
        """``callback()`` at the turn's end (once per call)."""
        self.callbacks.append(callback)
        self._schedule()

    def write_kept(self) -> None:
        """Write what is kept, in the order it was made; a connection closed meanwhile gets none."""
        kept, self.kept = self.kept, []
        self.keeping.clear()
        for transport, data in kept:
            if not transport.is_closing():
                transport.write(data)

    def run(self) -> None:
        """The turn's end: the kept responses, then the callbacks."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.write_kept()
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            callback()

    def _schedule(self) -> None:
        if self._handle is None:
            loop = self._loop()
            if loop is None or loop.is_closed():
                self.run()  # no turn will end: now
                return
            self._handle = loop.call_soon(self.run)
