"""messages.json decoded a slice at a time: the same records as one parse, whatever the layout,
and the same exact error (archive, record) as one record at a time when something is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mock_server import history
from mock_server.history import ArchiveError, decode_records


@pytest.fixture(autouse=True)
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slices of 64 bytes: every test crosses many slice boundaries."""
    monkeypatch.setattr(history, "CHUNK_BYTES", 64)


def records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "event": "file" if i % 3 == 0 else "message",
            "user": str(100 + i % 4),
            "sent": 1000 + i,
            "content": {"path": f"/files/1/t{i}/a.txt"} if i % 3 == 0 else f"text {i} }},{{ not a cut",
            # lists of objects: "},{" inside a record, where a cut would leave both sides unbalanced
            "attachments": [{"id": 1, "path": "x"}, {"id": 2, "path": "y"}] if i % 3 == 0 else [],
            "thread": {"id": f"t{i}", "fields": [{"label": "a"}, {"label": "b"}]},
        }
        for i in range(1, n + 1)
    ]


def decoded(data: bytes) -> list[Any]:
    return list(decode_records(data, "a.zip", "messages.json"))


@pytest.mark.parametrize("indent", [None, 2])
def test_slices_give_the_records_of_one_parse(indent: int | None) -> None:
    expected = records(40)
    data = json.dumps(expected, indent=indent, ensure_ascii=False).encode()
    assert decoded(data) == expected
    assert decoded(b"\xef\xbb\xbf \n" + data + b"\n") == expected  # a BOM and surrounding space
    assert decoded(b"[]") == [] and decoded(b" [ ] ") == []


def test_a_bad_record_late_in_the_file_is_named_by_its_index() -> None:
    good = records(30)
    for bad, problem in (
        (b'{"id": 31, "event": NaN}', "is not valid JSON"),
        (b'{"id": 31, "event": "message", "content": "\\ud800"}', None),  # json reads a lone surrogate
        (b'{"id": 31 "event": "message"}', "is not valid JSON"),
    ):
        data = json.dumps(good).encode()[:-1] + b", " + bad + b"]"
        if problem is None:
            got = decoded(data)
            assert len(got) == 31 and got[:30] == good and got[30]["content"] == "\ud800"
            continue
        with pytest.raises(ArchiveError, match=problem) as caught:
            decoded(data)
        assert caught.value.archive == "a.zip" and caught.value.where == "messages.json"


def test_records_before_a_bad_slice_are_handed_out_once() -> None:
    good = records(30)
    data = json.dumps(good).encode()[:-1] + b", 99999999999999999999999]"  # beyond 64 bits: json reads it
    got = decoded(data)
    assert got[:30] == good and got[30] == 99999999999999999999999 and len(got) == 31


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"id": 1}', "is not a JSON array but dict"),
        (b"[1, 2", "is not valid JSON"),
        (b"[1, 2] x", "is not valid JSON: extra data"),
        (b'[{"content": "caf\xe9"}]', "is not UTF-8 text"),
    ],
)
def test_what_is_not_an_array_of_records_is_refused(data: bytes, problem: str) -> None:
    with pytest.raises(ArchiveError, match=problem):
        decoded(data)
