"""Reading exports: every quirk accepted, every broken archive refused with the archive and the
record named, and nothing half-loaded."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mock_server.contract import load_default_world
from mock_server.history import ArchiveError, HistorySource, Limits, load_history, parse_source, read_archive
from mock_server.history.archive import slug_of
from mock_server.history.export import export_zip, flow_export
from mock_server.history.synthetic import generate
from mock_server.store import Store
from mock_server.store.files import Thumbnail
from mock_server.world import generate as generate_world
from mock_server.world.documents import check_world


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


def record(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": i,
        "event": "message",
        "flow": "f-1",
        "user": "100",
        "content": f"m{i}",
        "sent": 1000 + i,
        **extra,
    }


def messages(*records: dict[str, Any]) -> bytes:
    return json.dumps(list(records)).encode()


def refused(tmp_path: Path, data: bytes, name: str = "broken-2020-01-01.zip") -> ArchiveError:
    path = tmp_path / name
    path.write_bytes(data)
    doc = load_default_world()
    before = json.dumps(doc, sort_keys=True)
    with pytest.raises(ArchiveError) as caught:
        load_history(doc, [HistorySource(str(path))])
    assert json.dumps(doc, sort_keys=True) == before  # the world document is untouched
    assert str(caught.value).startswith(f"history archive {name}:")
    return caught.value


def test_not_a_zip(tmp_path: Path) -> None:
    assert "is not a zip file" in str(refused(tmp_path, b"hello, not a zip"))


def test_a_truncated_zip(tmp_path: Path) -> None:
    data = zip_of({"messages.json": messages(record(1))})
    assert "truncated zip" in str(refused(tmp_path, data[: len(data) // 2]))


def test_a_zip_whose_entry_is_damaged(tmp_path: Path) -> None:
    data = bytearray(zip_of({"messages.json": messages(*(record(i) for i in range(1, 200)))}))
    middle = data.index(b"messages.json") + 40  # inside the compressed bytes of the first entry
    data[middle : middle + 8] = b"\x00" * 8
    error = refused(tmp_path, bytes(data))
    assert error.where == "messages.json" and "cannot be read" in error.problem


def test_no_messages_json(tmp_path: Path) -> None:
    assert "has no messages.json" in str(refused(tmp_path, zip_of({"notes.txt": b"x"})))


def test_messages_json_not_an_array(tmp_path: Path) -> None:
    error = refused(tmp_path, zip_of({"messages.json": b'{"id": 1}'}))
    assert "is not a JSON array but dict" in error.problem


@pytest.mark.parametrize(
    ("bad", "problem", "where"),
    [
        ({"event": "message", "sent": 1}, "has no id", "messages.json record 1"),
        ({"id": 5, "sent": 1}, "has no event", "messages.json record 1 (id 5)"),
        ({"id": 5, "event": "message"}, "has no sent", "messages.json record 1 (id 5)"),
        (
            {"id": 5, "event": "message", "sent": 1, "user": "bob"},
            "user must be a user id",
            "messages.json record 1 (id 5)",
        ),
        (
            {"id": 5, "event": "message", "sent": 1, "tags": "a,b"},
            "tags must be a list",
            "messages.json record 1 (id 5)",
        ),
        ({"id": "5", "event": "message", "sent": 1}, "id must be a non-negative", "messages.json record 1"),
        ({"id": 2**64, "event": "message", "sent": 1}, "id must be a non-negative", "messages.json record 1"),
    ],
)
def test_a_bad_record_is_named(tmp_path: Path, bad: dict[str, Any], problem: str, where: str) -> None:
    error = refused(tmp_path, zip_of({"messages.json": json.dumps([record(1), bad]).encode()}))
    assert problem in error.problem and error.where == where


def test_duplicate_ids(tmp_path: Path) -> None:
    error = refused(tmp_path, zip_of({"messages.json": messages(record(1), record(2), record(2))}))
    assert error.where == "messages.json record 2" and "repeats id 2 of record 1" in error.problem


def test_records_of_two_flows(tmp_path: Path) -> None:
    error = refused(tmp_path, zip_of({"messages.json": messages(record(1), record(2, flow="f-2"))}))
    assert "one flow per archive" in error.problem


def test_not_utf8(tmp_path: Path) -> None:
    data = (
        json.dumps([record(1, content="caf\u00e9")], ensure_ascii=False)
        .encode()
        .replace("caf\u00e9".encode(), b"caf\xe9")
    )
    error = refused(tmp_path, zip_of({"messages.json": data}))
    assert "is not UTF-8 text" in error.problem


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "files/../../evil"])
def test_a_path_escaping_the_archive(tmp_path: Path, name: str) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("messages.json", messages(record(1)))
        zf.writestr(zipfile.ZipInfo(name), b"x")
    error = refused(tmp_path, out.getvalue())
    assert "outside the archive" in error.problem and error.where == name


def test_a_folder_with_a_link_out_of_it(tmp_path: Path) -> None:
    folder = tmp_path / "eng-2020-01-01"
    folder.mkdir()
    (folder / "messages.json").write_bytes(messages(record(1)))
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", folder / "files")
    with pytest.raises(ArchiveError, match="outside the archive"):
        read_archive(HistorySource(str(folder)))


def test_a_zip_bomb_by_ratio(tmp_path: Path) -> None:
    bomb = zip_of({"messages.json": messages(record(1)), "files/t/zeros.bin": b"\x00" * (8 << 20)})
    error = refused(tmp_path, bomb)
    assert "zip bomb" in error.problem and error.where == "files/t/zeros.bin"


def test_a_zip_bomb_by_size(tmp_path: Path) -> None:
    data = zip_of({"messages.json": messages(record(1)), "big.bin": os.urandom(64 << 10)})
    path = tmp_path / "big-2020-01-01.zip"
    path.write_bytes(data)
    with pytest.raises(ArchiveError, match="zip bomb"):
        read_archive(HistorySource(str(path)), Limits(max_total_bytes=32 << 10, max_entry_bytes=32 << 10))


def test_a_header_that_lies_about_the_size_is_caught_while_reading(tmp_path: Path) -> None:
    payload = messages(*(record(i) for i in range(1, 400)))
    data = bytearray(zip_of({"messages.json": payload}))
    small = (100).to_bytes(4, "little")
    real = len(payload).to_bytes(4, "little")
    data[data.index(real)] = small[0]  # the local header's size
    at = data.rindex(real)  # the central directory's size
    data[at : at + 4] = small
    error = refused(tmp_path, bytes(data))
    assert error.where == "messages.json" and (
        "zip bomb" in error.problem or "cannot be read" in error.problem
    )


def test_one_bad_archive_of_two_loads_neither(tmp_path: Path) -> None:
    good = generate(50, seed=2).write_zip(tmp_path / "good-2020-01-01.zip")
    bad = tmp_path / "bad-2020-01-01.zip"
    bad.write_bytes(b"nope")
    with pytest.raises(ArchiveError, match=r"bad-2020-01-01\.zip"):
        load_history(load_default_world(), [HistorySource(str(good)), HistorySource(str(bad))])


def test_every_quirk_is_accepted(tmp_path: Path) -> None:
    export = generate(120, seed=5)
    assert any("uuid" not in m for m in export.messages)
    assert any("thread_id" not in m for m in export.messages)
    assert any(m["edited"] for m in export.messages)
    history = read_archive(HistorySource(str(export.write_zip(tmp_path / "q-2021-02-03.zip"))))
    by_id = {m["id"]: m for m in history.messages}
    for raw in export.messages:
        got = by_id[raw["id"]]
        assert got["uuid"] == raw.get("uuid") and got["thread_id"] == raw.get("thread_id")
        assert "thread" not in got and "created_at" not in got
    assert history.missing_files == [export.missing_file]
    assert len(history.files) == sum(1 for m in export.messages if m["event"] == "file") - 1


def test_messages_json_in_a_folder_and_an_extracted_folder(tmp_path: Path) -> None:
    export = generate(60, seed=3)
    nested = export.write_zip(tmp_path / "a-2020-01-01.zip", folder="a")
    extracted = export.write_folder(tmp_path / "b-2020-01-01")
    for path in (nested, extracted):
        history = read_archive(HistorySource(str(path)))
        assert [m["id"] for m in history.messages] == [m["id"] for m in export.messages]
        assert history.missing_files == [export.missing_file]


def test_unsorted_records_are_sorted(tmp_path: Path) -> None:
    path = tmp_path / "u-2020-01-01.zip"
    path.write_bytes(zip_of({"messages.json": messages(record(3), record(1), record(2))}))
    assert [m["id"] for m in read_archive(HistorySource(str(path))).messages] == [1, 2, 3]


def test_the_slug_comes_from_the_archive_name() -> None:
    assert slug_of("/x/engineering-team-2023-08-01.zip") == "engineering-team"
    assert slug_of("general") == "general"
    assert slug_of("/x/Team Chat-2020-01-01.zip") == "team-chat"
    assert parse_source("acme/ops=/tmp/x.zip") == HistorySource("/tmp/x.zip", "acme", "ops")
    assert parse_source("ops=/tmp/x.zip") == HistorySource("/tmp/x.zip", None, "ops")
    assert parse_source("/tmp/ops-2023-01-01.zip") == HistorySource("/tmp/ops-2023-01-01.zip")


def test_round_trip_export_load_export_gives_the_same_messages_json(tmp_path: Path) -> None:
    export = generate(200, seed=11)
    first_path = export.write_zip(tmp_path / "eng-2020-01-01.zip")
    doc, _ = load_history(load_default_world(), [HistorySource(str(first_path), "acme", "eng")])
    store = Store(doc)
    first = export_zip(store, "acme", "eng")
    second_doc, _ = load_history(load_default_world(), [HistorySource(first, "acme", "eng", "first.zip")])
    second = export_zip(Store(second_doc), "acme", "eng")
    with zipfile.ZipFile(io.BytesIO(first)) as a, zipfile.ZipFile(io.BytesIO(second)) as b:
        assert a.read("messages.json") == b.read("messages.json")
        assert sorted(a.namelist()) == sorted(b.namelist())
        assert any("/thumb/" in name for name in a.namelist())  # thumbnails go round too


def test_a_faker_flow_exports_and_loads_with_its_file(tmp_path: Path) -> None:
    store = Store(generate_world(99))  # another seed: flow ids the default world does not hold
    records, files = flow_export(store, "acme", "main")
    assert records and files and all(isinstance(r["user"], str) and "edited_at" not in r for r in records)
    archive = export_zip(store, "acme", "main")
    doc, done = load_history(load_default_world(), [HistorySource(archive, "acme", "main-copy", "main.zip")])
    assert done[0].files == len(files) and not done[0].missing_files
    assert check_world(doc) is not None


def test_a_thumbnail_is_found_beside_its_file_and_never_stands_in_for_it(tmp_path: Path) -> None:
    image = {
        "path": "/files/9/tok/a%20b.png",
        "file_name": "a b.png",
        "content_type": "image/png",
        "thumbnail": {"path": "/files/9/tok/thumb/a%20b.png", "width": 10, "height": 10},
    }
    lost = {
        "path": "/files/9/gone/c.png",
        "file_name": "c.png",
        "content_type": "image/png",
        "thumbnail": {"path": "/files/9/gone/thumb/c.png", "width": 10, "height": 10},
    }
    archive = zip_of(
        {
            "messages.json": messages(
                record(1, event="file", content=image, attachments=[image]),
                record(2, event="file", content=lost),
            ),
            "deep/tok/a b.png": b"image",
            "other/tok/thumb/a b.png": b"thumb",
            "x/gone/thumb/c.png": b"thumb of a file the archive lacks",
        }
    )
    history = read_archive(HistorySource(archive, "acme", "t", "t.zip"))
    assert [(f.token, f.file_name, f.data, f.thumbnail) for f in history.files] == [
        ("tok", "a b.png", b"image", Thumbnail("a b.png", "image/png", b"thumb"))
    ]
    assert history.missing_files == ["/files/9/gone/c.png", "/files/9/gone/thumb/c.png"]
