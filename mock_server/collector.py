"""The serving process's full collections, run when the server is idle.

Python's cyclic collector walks every object it tracks in a full (oldest-generation) pass, holding
the whole process meanwhile. A server that has stored messages holds many such objects (each
message, its thread and their lists; journal entries; events): one full pass took 97 ms once
about 19,000 messages were stored, under load (docs/performance-report.md), and every request in
the queue waited for it. Left to Python, such a pass starts whenever the collector's counts say
so, in the middle of a burst of requests.

``IdleCollector`` takes the oldest generation's pass out of Python's hands in the process that
runs the server (cli/serve.py starts it once the server accepts connections): the third
threshold is set so high that Python never starts a full pass itself, and once one is due (the
middle generation has been collected ``due_after`` times since the last full pass, what Python's
threshold would have counted) the pass runs at the first moment no request has started for a
whole ``tick``, or ``longest_wait`` seconds after it fell due if requests never stop. A test
suite's burst of requests finishes first and the pass runs in the pause after it; a server under
load that never pauses still runs every full pass, at most ``longest_wait`` late. The young
generations are collected by Python as always.

Nothing is left uncollected for long: a request leaves no cycle behind (tests/clients/
test_request_garbage.py), so what a full pass finds is the rare cycle of a removed object.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

NEVER = 2**31 - 1
"""A third threshold the count of middle-generation passes never reaches."""


class IdleCollector:
    """Full collections when no request has started for a ``tick``; see the module's docstring.

    ``requests()`` counts the requests the server has begun (uvicorn's ``total_requests``).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        requests: Callable[[], int],
        *,
        due_after: int,
        tick: float = 0.1,
        longest_wait: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        collect: Callable[[], Any] = gc.collect,
    ) -> None:
        self.loop = loop
        self.requests = requests
        self.due_after = due_after
        self.tick = tick
        self.longest_wait = longest_wait
        self.clock = clock
        self.collect = collect
        self.due_since: float | None = None
        self._seen = 0
        self._timer: asyncio.TimerHandle | None = None
        self._thresholds: tuple[int, int, int] | None = None

    def start(self) -> None:
        """From now on Python runs no full pass by itself; this collector runs them."""
        self._thresholds = gc.get_threshold()
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, NEVER)
        gc.callbacks.append(self._collected)

    def stop(self) -> None:
        """Python's thresholds back, no pass pending."""
        if self._collected in gc.callbacks:
            gc.callbacks.remove(self._collected)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
        self.due_since = None

    def _collected(self, phase: str, info: dict[str, Any]) -> None:
        """``gc.callbacks``: after a middle-generation pass, is a full one due now?"""
        if phase != "stop" or info["generation"] != 1 or self.due_since is not None:
            return
        if gc.get_count()[2] < self.due_after:
            return
        self.due_since = self.clock()
        # A collection can happen in any thread (a world built off the loop): the loop schedules.
        try:
            self.loop.call_soon_threadsafe(self._wait)
        except RuntimeError:  # the loop is closed: the server is gone
            self.due_since = None

    def _wait(self) -> None:
        if self.due_since is None:  # stopped meanwhile
            return
        self._seen = self.requests()
        self._timer = self.loop.call_later(self.tick, self._check)

    def _check(self) -> None:
        self._timer = None
        if self.due_since is None:  # stopped meanwhile
            return
        seen = self.requests()
        if seen == self._seen or self.clock() - self.due_since >= self.longest_wait:
            self.due_since = None
            self.collect()
            return
        self._seen = seen
        self._timer = self.loop.call_later(self.tick, self._check)
