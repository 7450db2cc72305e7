"""Presence and typing: the kit's ``activity.user`` events, now or on a schedule.

Flowdock streamed ``activity.user`` to a flow's members while someone was around: a periodic
presence ping ``{"last_activity": <ms>}``, never stored (docs/flowdock.md §4.2). The web client
also told the flow when someone was typing, as the same event with ``typing`` in its content
(``true``, or the thread being typed in; ``false`` when they stop) *(inferred: no source names the
typing event, docs/flowdock.md §4.2)*. A bot under test sees these on its stream, and some react to
them (greeting who comes back, pausing while someone types).

``emit`` sends one such event at once; ``Schedules.start`` sends one now and then one every
``every_s`` seconds, ``count`` times in all (or until stopped, the world is reset or removed). Each
schedule is a daemon thread waiting on an ``Event`` with a timeout (never a sleep), so stopping it
takes effect at once; a world holds at most ``MAX_SCHEDULES``.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server import errors

if TYPE_CHECKING:
    from mock_server.store import Store

KINDS = ("presence", "typing")
MAX_SCHEDULES = 16
"""Schedules one world may run at once (one more is a 429)."""
MIN_EVERY_S = 0.05
MAX_EVERY_S = 3600.0
TOO_MANY = "a world runs at most {limit} activity schedules; stop one first"


def emit(store: Store, user: int, flow_id: str, kind: str, typing: Any = True) -> dict[str, Any]:
    """One ``activity.user`` event from ``user`` in ``flow_id``: presence (the user's
    ``last_activity`` moves to now) or typing (``typing``: true, a thread id, or false)."""
    with store.lock:
        now = store.now_ms()
        found = store.users.by_id.get(user)
        if found is not None:
            found.last_activity = now
        content: dict[str, Any] = {"last_activity": now}
        if kind == "typing":
            content["typing"] = typing
        body = store.events.envelope("activity.user", content, user, flow=flow_id)
        event = store.events.emit(body)
        return {"id": event.seq, "event": event.body}


@dataclass
class Schedule:
    """One repeating generator of ``activity.user`` events."""

    id: int
    user: int
    flow: str
    kind: str
    every_s: float
    count: int | None
    typing: Any = True
    emitted: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "flow": self.flow,
            "kind": self.kind,
            "every_s": self.every_s,
            "count": self.count,
            "emitted": self.emitted,
        }


class Schedules:
    """A world's running activity schedules (``Runtime.activity``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.running: dict[int, Schedule] = {}
        self._ids = itertools.count(1)

    def start(
        self, user: int, flow_id: str, kind: str, every_s: float, count: int | None, typing: Any = True
    ) -> dict[str, Any]:
        """Send one event now and then one every ``every_s`` seconds, ``count`` in all (None: until stopped)."""
        every_s = min(max(float(every_s), MIN_EVERY_S), MAX_EVERY_S)
        with self.lock:
            self._forget_finished()
            if len(self.running) >= MAX_SCHEDULES:
                raise errors.TooManySchedules(errors={"schedule": [TOO_MANY.format(limit=MAX_SCHEDULES)]})
            schedule = Schedule(next(self._ids), user, flow_id, kind, every_s, count, typing)
            self.running[schedule.id] = schedule
        schedule.thread = threading.Thread(
            target=self._run, args=(schedule,), name=f"activity-{schedule.id}", daemon=True
        )
        schedule.thread.start()
        return schedule.describe()

    def _run(self, schedule: Schedule) -> None:
        while schedule.count is None or schedule.emitted < schedule.count:
            emit(self.store, schedule.user, schedule.flow, schedule.kind, schedule.typing)
            schedule.emitted += 1
            if schedule.count is not None and schedule.emitted >= schedule.count:
                break
            if schedule.stop.wait(schedule.every_s):
                break
        schedule.stop.set()

    def _forget_finished(self) -> None:
        for key in [k for k, s in self.running.items() if s.stop.is_set()]:
            del self.running[key]

    def list(self) -> list[dict[str, Any]]:
        with self.lock:
            self._forget_finished()
            return [s.describe() for s in self.running.values()]

    def cancel(self, schedule_id: int) -> None:
        """Stop one schedule (404 when there is none, or it has finished)."""
        with self.lock:
            self._forget_finished()
            schedule = self.running.pop(schedule_id, None)
        if schedule is None:
            raise errors.NotFound()
        schedule.stop.set()

    def clear(self) -> None:
        """Stop every schedule (a reset, or the world is removed)."""
        with self.lock:
            stopped = list(self.running.values())
            self.running.clear()
        for schedule in stopped:
            schedule.stop.set()
