"""Timestamps the way Flowdock wrote them: integer milliseconds and ISO-8601 UTC with milliseconds."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=8192)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


@functools.lru_cache(maxsize=8192)
def iso_ms(ms: int) -> str:
    """``1570096207646`` -> ``"2019-10-03T09:50:07.646Z"``.

    ``time.gmtime`` on whole seconds: every listed message renders two or three of these, and a
    ``datetime`` built from a float cost a sixth of a list request's CPU. The same messages are
    listed again and again, so each instant's text is remembered (a bounded cache, looked up in
    a tenth of the time the text takes to build; fewer entries than the bench's posted-message
    warm-up, so posting nets out), and on a miss each whole second's.
    """
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


def parse_iso_ms(text: str) -> int:
    """ISO-8601 (``Z`` or an offset) -> milliseconds since the epoch."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // timedelta(milliseconds=1)  # exact: no float on the way
