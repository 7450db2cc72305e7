"""The world's clock (store/clock.py) and ``--clock-start``, with a fake real time."""

from __future__ import annotations

import pytest

from mock_server.cli import parse_args
from mock_server.settings import UsageError, settings_from_args
from mock_server.store import Store, StoreConfig
from mock_server.store.clock import MAX_MS, Clock


class FakeTime:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def test_clock__runs_with_real_time_until_frozen() -> None:
    real = FakeTime()
    clock = Clock(real=real)
    real.ms += 5
    assert clock.now_ms() == 1_000_005
    clock.freeze()
    real.ms += 100
    assert clock.now_ms() == 1_000_005
    clock.advance(10)
    assert clock.now_ms() == 1_000_015
    clock.resume()
    real.ms += 1
    assert clock.now_ms() == 1_000_016


def test_clock__set_and_advance_while_running_keep_it_running() -> None:
    real = FakeTime()
    clock = Clock(real=real)
    clock.set(50)
    real.ms += 3
    assert clock.now_ms() == 53 and not clock.frozen
    clock.advance(7)
    assert clock.now_ms() == 60


def test_clock__start_instant_and_reset_back_to_it() -> None:
    real = FakeTime()
    clock = Clock(start_ms=5_000, real=real)
    real.ms += 2
    assert clock.now_ms() == 5_002
    clock.freeze(1)
    clock.reset()
    assert clock.now_ms() == 5_000 and not clock.frozen


def test_store__reads_time_from_its_clock_and_reset_restores_it() -> None:
    store = Store({"seed": 1, "users": [], "organizations": [], "flows": []}, StoreConfig(clock_start_ms=42))
    store.clock.freeze(7)
    assert store.now_ms() == 7
    store.reset()
    assert abs(store.now_ms() - 42) < 60_000


def test_cli__clock_start_takes_iso_or_epoch_ms() -> None:
    settings = settings_from_args(parse_args(["--clock-start", "2024-01-01T00:00:00Z"]))
    assert settings.clock_start == 1_704_067_200_000
    assert settings_from_args(parse_args(["--clock-start", "1704067200000"])).clock_start == 1_704_067_200_000
    with pytest.raises(UsageError):
        settings_from_args(parse_args(["--clock-start", "2024-01-01T00:00:00"]))  # no offset


def test_clock__never_runs_past_the_last_instant_dates_express() -> None:
    real = FakeTime()
    clock = Clock(real=real)
    clock.set(MAX_MS - 1)
    real.ms += 10
    assert clock.now_ms() == MAX_MS and not clock.frozen
    with pytest.raises(ValueError):
        clock.set(MAX_MS + 1)
    with pytest.raises(ValueError):
        clock.set(-1)


def test_cli__clock_start_past_the_last_instant_dates_express_is_refused() -> None:
    assert settings_from_args(parse_args(["--clock-start", str(MAX_MS)])).clock_start == MAX_MS
    for text in (str(MAX_MS + 1), "+10000-01-01T00:00:00+00:00", "1969-12-31T23:59:59Z"):
        with pytest.raises(UsageError):
            settings_from_args(parse_args(["--clock-start", text]))


class TickingTime(FakeTime):
    """Real time that moves a millisecond every time it is read, as it may between two steps."""

    def __call__(self) -> int:
        self.ms += 1
        return self.ms


def test_clock__a_change_that_freezes_stands_exactly_where_it_was_told() -> None:
    clock = Clock(real=TickingTime())
    clock.change(at_ms=1_704_067_200_000, freeze=True)
    assert clock.now_ms() == 1_704_067_200_000 and clock.frozen
    clock.change(advance_ms=90_000)
    assert clock.now_ms() == 1_704_067_290_000 and clock.frozen
    clock.change(at_ms=5, advance_ms=5, freeze=False)
    assert not clock.frozen and 10 <= clock.now_ms() <= 12


def test_clock__a_change_out_of_range_changes_nothing() -> None:
    real = FakeTime()
    clock = Clock(real=real)
    clock.change(at_ms=100, freeze=True)
    with pytest.raises(ValueError):
        clock.change(reset=True, at_ms=MAX_MS, advance_ms=1, freeze=False)
    assert clock.now_ms() == 100 and clock.frozen


def test_clock__a_change_that_resets_goes_back_to_the_start_instant() -> None:
    real = FakeTime()
    clock = Clock(start_ms=5_000, real=real)
    clock.change(at_ms=1, freeze=True)
    clock.change(reset=True, advance_ms=3)
    real.ms += 2
    assert clock.now_ms() == 5_005 and not clock.frozen
