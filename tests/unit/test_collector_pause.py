"""cli/serve.py's CollectorPause: the collector off during a start; the serving process's thresholds."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mock_server.cli.serve import OLDEST_THRESHOLD, CollectorPause


@pytest.fixture(autouse=True)
def collector_as_it_was() -> Iterator[None]:
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*thresholds)
    (gc.enable if enabled else gc.disable)()


def test_a_start_in_the_process_it_owns_sets_the_oldest_threshold_once_serving() -> None:
    gc.enable()
    young, middle, _ = gc.get_threshold()
    pause = CollectorPause()
    pause.pause(whole_process=True)
    assert not gc.isenabled()
    pause.resume(serving=True)
    assert gc.isenabled() and gc.get_threshold() == (young, middle, OLDEST_THRESHOLD)


def test_a_server_inside_another_program_leaves_its_thresholds_alone() -> None:
    gc.enable()
    before = gc.get_threshold()
    pause = CollectorPause()
    pause.pause()
    pause.resume(serving=True)
    assert gc.isenabled() and gc.get_threshold() == before


def test_a_start_that_failed_leaves_the_thresholds_and_turns_the_collector_back_on() -> None:
    gc.enable()
    before = gc.get_threshold()
    pause = CollectorPause()
    pause.pause(whole_process=True)
    pause.resume()
    assert gc.isenabled() and gc.get_threshold() == before


def test_a_collector_its_program_turned_off_stays_off() -> None:
    gc.disable()
    pause = CollectorPause()
    pause.pause(whole_process=True)
    pause.resume(serving=True)
    assert not gc.isenabled()
