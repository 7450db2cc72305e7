"""The world's clock: real time by default; frozen, set or advanced through the control API.

Every time the store reads (a message's ``sent``, a thread's timestamps, OAuth token and code
expiry, file-link expiry, event times) comes from ``Store.now_ms``, which asks this clock. A clock
runs at real speed from an offset (zero unless set or advanced, or a start instant was configured),
or stands still at a frozen instant until it is set, advanced or resumed.

The clock stays between the epoch and ``MAX_MS`` (9999-12-31T23:59:59.999Z), the last instant an
ISO 8601 date, and so every ``date-time`` the mock answers, can hold: setting or advancing it
beyond raises ``ValueError`` (the control API's 400), and a running clock that reaches the end
stands there. A message is never stored with a time its own representation cannot show.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from mock_server.store.timefmt import iso_ms

MIN_MS = 0
"""1970-01-01T00:00:00.000Z: Flowdock's times are milliseconds since the epoch, never negative."""
MAX_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the last instant a four-digit year, and so a ``date-time``, holds."""
OUT_OF_RANGE = "must be an instant from 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z"


def in_range(at_ms: int) -> int:
    """``at_ms`` when the clock can stand there; ``ValueError`` otherwise."""
    if not MIN_MS <= at_ms <= MAX_MS:
        raise ValueError(OUT_OF_RANGE)
    return at_ms


def _real_ms() -> int:
    return time.time_ns() // 1_000_000


class Clock:
    """Milliseconds since the epoch, real unless told otherwise."""

    def __init__(self, start_ms: int | None = None, real: Callable[[], int] = _real_ms) -> None:
        self._real = real
        self._lock = threading.Lock()
        self.start_ms = None if start_ms is None else in_range(start_ms)
        self._offset = 0
        self._frozen: int | None = None
        self.reset()

    def reset(self) -> None:
        """Back to how the server started: real time, or running from the configured start instant."""
        with self._lock:
            self._frozen = None
            self._offset = 0 if self.start_ms is None else self.start_ms - self._real()

    def now_ms(self) -> int:
        frozen = self._frozen
        return frozen if frozen is not None else min(self._real() + self._offset, MAX_MS)

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def freeze(self, at_ms: int | None = None) -> None:
        """Stop the clock at ``at_ms`` (now when None)."""
        self.change(at_ms=at_ms, freeze=True)

    def resume(self) -> None:
        """Run again at real speed from the instant it stands at."""
        self.change(freeze=False)

    def set(self, at_ms: int) -> None:
        """Jump to ``at_ms``; a frozen clock stays frozen there, a running one runs on from it."""
        self.change(at_ms=at_ms)

    def advance(self, ms: int) -> None:
        """Move forward by ``ms`` milliseconds (frozen or running)."""
        self.change(advance_ms=ms)

    def change(
        self,
        *,
        reset: bool = False,
        at_ms: int | None = None,
        advance_ms: int = 0,
        freeze: bool | None = None,
    ) -> None:
        """Reset, set, advance, then freeze (True) or resume (False), as one step under the lock:
        ``POST /_mock/clock``. A clock frozen by the change stands exactly where it was told
        (``{"set": t, "freeze": true}`` is ``t``, however much real time passes while the steps
        run); ``ValueError`` before anything changes when the result would be out of range."""
        with self._lock:
            real = self._real()
            if reset:
                frozen, offset = None, 0 if self.start_ms is None else self.start_ms - real
            else:
                frozen, offset = self._frozen, self._offset
            if at_ms is None:  # where it stands, as now_ms reads it
                at_ms = frozen if frozen is not None else min(real + offset, MAX_MS)
            now = in_range(at_ms + advance_ms)
            if freeze is True or (freeze is None and frozen is not None):
                self._frozen = now
            else:
                self._frozen, self._offset = None, now - real

    def to_dict(self) -> dict[str, Any]:
        """The clock as ``GET /_mock/clock`` shows it."""
        now = self.now_ms()
        return {
            "now": now,
            "iso": iso_ms(now),
            "frozen": self.frozen,
            "offset_ms": now - self._real() if self._frozen is None else None,
        }
