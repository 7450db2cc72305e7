"""Flowdock's two timestamp forms: ms integers and ISO-8601 UTC with milliseconds."""

from __future__ import annotations

import pytest

from mock_server.store.representation import clone
from mock_server.store.timefmt import iso_ms, parse_iso_ms


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (1570096207646, "2019-10-03T09:50:07.646Z"),  # the captured message of docs/flowdock.md §4.3
        (0, "1970-01-01T00:00:00.000Z"),
        (1570096207999, "2019-10-03T09:50:07.999Z"),
        (1688169600000, "2023-07-01T00:00:00.000Z"),
    ],
)
def test_iso_ms__renders_utc_with_milliseconds(ms: int, text: str) -> None:
    assert iso_ms(ms) == text
    assert parse_iso_ms(text) == ms


def test_parse_iso_ms__accepts_offsets() -> None:
    assert parse_iso_ms("2019-10-03T11:50:07.646+02:00") == 1570096207646


def test_clone__copies_containers_and_keeps_scalars() -> None:
    original = {"a": [1, {"b": "x"}], "c": None}
    copied = clone(original)
    assert copied == original
    copied["a"][1]["b"] = "changed"
    assert original["a"][1]["b"] == "x"
