"""cli/serve.py's CollectorPause: the collector off during a start; the serving process's thresholds."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mock_server.cli.serve import CollectorPause


@pytest.fixture(autouse=True)
def collector_as_it_was() -> Iterator[None]:
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*thresholds)
    (gc.enable if enabled else gc.disable)()


def test_a_start_in_the_process_it_owns_hands_the_collector_to_the_server_once_serving() -> None:
    gc.enable()
    before = gc.get_threshold()
    pause = CollectorPause()
    pause.pause(whole_process=True)
    assert not gc.isenabled()
    assert pause.resume(serving=True)  # cli/serve.py's ready() starts the IdleCollector then
    assert gc.isenabled() and gc.get_threshold() == before
    assert not pause.resume(serving=True)  # once


def test_a_server_inside_another_program_leaves_its_thresholds_alone() -> None:
    gc.enable()
    before = gc.get_threshold()
    pause = CollectorPause()
    pause.pause()
    assert not pause.resume(serving=True)
    assert gc.isenabled() and gc.get_threshold() == before


def test_a_start_that_failed_leaves_the_thresholds_and_turns_the_collector_back_on() -> None:
    gc.enable()
    before = gc.get_threshold()
    pause = CollectorPause()
    pause.pause(whole_process=True)
    assert not pause.resume()
    assert gc.isenabled() and gc.get_threshold() == before


def test_a_collector_its_program_turned_off_stays_off() -> None:
    gc.disable()
    pause = CollectorPause()
    pause.pause(whole_process=True)
    assert not pause.resume(serving=True)  # no collector to run: no IdleCollector either
    assert not gc.isenabled()
