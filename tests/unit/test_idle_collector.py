"""mock_server/collector.py: full collections run when no request is starting, or at most late."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Iterator

import pytest

from mock_server.collector import NEVER, IdleCollector

WAIT = 5.0  # seconds a condition may take before the test fails


@pytest.fixture(autouse=True)
def collector_as_it_was() -> Iterator[None]:
    thresholds, enabled, callbacks = gc.get_threshold(), gc.isenabled(), list(gc.callbacks)
    yield
    gc.set_threshold(*thresholds)
    gc.callbacks[:] = callbacks
    (gc.enable if enabled else gc.disable)()


class Recorder:
    """Stands in for ``gc.collect``: counts the full passes and lets a test wait for one."""

    def __init__(self) -> None:
        self.passes = 0
        self.event = asyncio.Event()

    def __call__(self) -> int:
        self.passes += 1
        self.event.set()
        return 0


def due_at_once(recorder: Recorder, requests: Callable[[], int] = lambda: 0) -> IdleCollector:
    """A collector on the running loop for which any middle-generation pass makes a full one due."""
    return IdleCollector(asyncio.get_running_loop(), requests, due_after=0, tick=0.01, collect=recorder)


def test_a_due_pass_runs_once_no_request_has_started_for_a_tick() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        collector = due_at_once(recorder, lambda: 7)
        young, middle, oldest = gc.get_threshold()
        collector.start()
        assert gc.get_threshold() == (young, middle, NEVER)  # Python starts no full pass itself
        gc.collect(1)  # a middle-generation pass: with due_after=0 a full one is due
        assert collector.due_since is not None
        await asyncio.wait_for(recorder.event.wait(), WAIT)
        assert recorder.passes == 1 and collector.due_since is None
        collector.stop()
        assert gc.get_threshold() == (young, middle, oldest)

    asyncio.run(scenario())


def test_requests_that_keep_starting_defer_the_pass_until_the_longest_wait() -> None:
    async def scenario() -> None:
        now = [100.0]
        checks = [0]
        many_checks = asyncio.Event()

        def requests() -> int:  # a new request between any two checks: never idle
            checks[0] += 1
            if checks[0] >= 6:
                many_checks.set()
            return checks[0]

        recorder = Recorder()
        collector = IdleCollector(
            asyncio.get_running_loop(),
            requests,
            due_after=0,
            tick=0.005,
            longest_wait=10.0,
            clock=lambda: now[0],
            collect=recorder,
        )
        collector.start()
        gc.collect(1)
        await asyncio.wait_for(many_checks.wait(), WAIT)
        assert recorder.passes == 0  # busy, and not yet 10 s late
        now[0] += 10.0
        await asyncio.wait_for(recorder.event.wait(), WAIT)
        assert recorder.passes == 1
        collector.stop()

    asyncio.run(scenario())


def test_no_pass_is_due_before_the_middle_generation_has_been_collected_due_after_times() -> None:
    async def scenario() -> None:
        collector = IdleCollector(asyncio.get_running_loop(), lambda: 0, due_after=NEVER)
        collector.start()
        gc.collect(1)
        assert collector.due_since is None
        collector.stop()

    asyncio.run(scenario())


def test_a_pass_that_falls_due_in_another_thread_is_run_by_the_loop() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        collector = due_at_once(recorder)
        collector.start()
        worker = threading.Thread(target=gc.collect, args=(1,))
        worker.start()
        worker.join(WAIT)
        await asyncio.wait_for(recorder.event.wait(), WAIT)
        assert recorder.passes == 1
        collector.stop()

    asyncio.run(scenario())


def test_stop_drops_a_pending_pass_and_gives_python_its_thresholds_back() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        collector = due_at_once(recorder)
        before = gc.get_threshold()
        collector.start()
        gc.collect(1)
        collector.stop()
        assert gc.get_threshold() == before
        assert collector._collected not in gc.callbacks
        await asyncio.sleep(0)  # the loop runs what the callback scheduled: it finds no pass due
        assert collector._timer is None and recorder.passes == 0

    asyncio.run(scenario())
