"""Waiting on a condition, bounded: for what offers no event to wait on (a socket read, a
container's health), poll the condition itself until it holds or the timeout passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str = "condition",
    *,
    details: Callable[[], str] | None = None,
    interval: float = 0.01,
) -> Any:
    """``condition()``'s first truthy answer; fails the test after ``timeout`` seconds, saying
    ``what`` and, when given, ``details()`` (what was seen instead)."""
    value = poll(condition, timeout, interval=interval)
    if not value:
        seen = f"\n{details()}" if details is not None else ""
        raise AssertionError(f"timed out waiting for {what} (within {timeout:g} s){seen}")
    return value


def poll(condition: Callable[[], Any], timeout: float, *, interval: float = 0.01) -> Any:
    """``condition()``'s first truthy answer, or its last (falsy) one once ``timeout`` seconds
    have passed: for a caller that reports a timeout its own way."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
