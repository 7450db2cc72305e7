"""Large worlds never hold up the event loop every world shares, and stay within a memory budget.

``PUT /_mock/state`` and ``PUT /_mock/worlds/{world}/state`` read, parse, check and build a world
document in small steps off the loop (middleware/state_import.py, world/loading.py); world
creation builds off the loop too. How long other requests wait meanwhile is measured by
``make bench-stalls`` (bench/stalls.py), never asserted here: these tests assert what the
design promises (the work is done off the loop, in steps; the limits answer 4xx; nothing is
half-loaded).
"""

from __future__ import annotations

import codecs
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from mock_server import errors
from mock_server.app import create_app
from mock_server.runtime import core
from mock_server.runtime.worlds import DEFAULT_ID, Limits
from mock_server.world import loading
from tests.conftest import assert_error


def grown(doc: dict[str, Any], messages: int, text: str) -> dict[str, Any]:
    """``doc`` with ``messages`` more messages of ``text`` in the flow of its first message."""
    template = next(m for m in doc["messages"] if m["event"] == "message")
    start = max(m["id"] for m in doc["messages"] if m["flow"] == template["flow"]) + 1
    extra = [
        {**template, "id": start + i, "content": text, "uuid": None, "thread_id": None, "tags": []}
        for i in range(messages)
    ]
    return {**doc, "messages": doc["messages"] + extra}


# --- a world's own export loads back ------------------------------------------------------------
def test_replace_world_state__its_own_export_of_more_than_16_mib_loads_back(worlds_app: Any) -> None:
    # Only PUT /_mock/state took more than the 16 MiB of an ordinary body: a created world's own
    # export (117 MiB in the report) was refused 413 on PUT /_mock/worlds/{world}/state.
    control = worlds_app.test_client()
    world = control.post("/_mock/worlds", json={}).json()["id"]
    big = grown(control.get(f"/_mock/worlds/{world}/state").json(), 2200, "x" * 8000)
    body = orjson.dumps(big)
    assert len(body) > 16 * 1024 * 1024
    response = control.put(
        f"/_mock/worlds/{world}/state", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text[:500]
    exported = control.get(f"/_mock/worlds/{world}/state")
    assert exported.json() == response.json()
    assert len(exported.json()["messages"]) == len(big["messages"])


def test_replace_state__answers_the_state_as_get_state_does(client: Any) -> None:
    doc = client.get("/_mock/state").json()
    response = client.put("/_mock/state", json=doc)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == client.get("/_mock/state").json() == doc


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        (b'{"users": [', "body", errors.MALFORMED_JSON),
        (b'{"users": [], "organizations": [], "flows": []} x', "body", errors.MALFORMED_JSON),
        (b"\xff", "body", errors.NOT_VALID_TEXT.format(charset="UTF-8")),
        (b'{"users": [], "organizations": [], "flows": [], "seed": NaN}', "seed", errors.NOT_A_NUMBER),
        (b'{"users": [{"id": 1e999}], "organizations": [], "flows": []}', "users.0.id", errors.NOT_A_NUMBER),
        (b'{"users": [], "organizations": [], "flows": [], "seed": 99999999999999999999}', "seed", None),
        (b'{"users": [{"name": "\\ud800"}], "organizations": [], "flows": []}', "users.0.name", None),
        (b"[" * 100_000, "body", None),
    ],
)
def test_replace_state__what_no_client_can_read_is_400_and_the_world_stays(
    client: Any, body: bytes, field: str, text: str | None
) -> None:
    before = client.get("/_mock/state").json()
    response = client.put("/_mock/state", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    found = response.json()["errors"]
    assert field in found, found
    if text is not None:
        assert text in found[field]
    assert client.get("/_mock/state").json() == before


def test_replace_state__a_document_refused_by_its_references_leaves_the_world_as_it_was(
    client: Any,
) -> None:
    before = client.get("/_mock/state").json()
    broken = grown(before, 3, "hello")
    broken["messages"][-1] = {**broken["messages"][-1], "user": 999_999}
    response = client.put("/_mock/state", json=broken)
    assert_error(response, 400, errors.INVALID_WORLD)
    assert f"messages.{len(broken['messages']) - 1}.user" in response.json()["errors"]
    assert client.get("/_mock/state").json() == before


def test_replace_state__is_parsed_checked_and_built_off_the_event_loop(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bool]] = []

    def spy(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen.append((name, _in_event_loop()))
            return real(*args, **kwargs)

        return call

    from mock_server.store import Store

    doc = client.get("/_mock/state").json()
    monkeypatch.setattr(core, "parse_document", spy("parse", core.parse_document))
    monkeypatch.setattr(core, "check_world", spy("check", core.check_world))
    monkeypatch.setattr(core, "release", spy("release", core.release))
    monkeypatch.setattr(Store, "export_json", spy("export", Store.export_json))
    assert client.put("/_mock/state", json=doc).status_code == 200
    # the parsed document and the world's old parts are dropped off the loop too
    assert seen == [
        ("parse", False),
        ("check", False),
        ("release", False),
        ("export", False),
        ("release", False),
    ]
    seen.clear()
    assert client.get("/_mock/state").json() == doc  # the export too
    assert seen == [("export", False)]


def _in_event_loop() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# --- the memory budget -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_budget() -> Any:
    """A server whose worlds may take 1 MiB: documents up to 1 MiB / 6 (about 170 KiB)."""
    return create_app(limits=Limits(world_memory_mb=1))


def test_replace_state__a_document_over_the_world_budget_is_413_before_it_is_read(small_budget: Any) -> None:
    control = small_budget.test_client()
    before = control.get("/_mock/state").json()
    big = orjson.dumps(grown(before, 200, "y" * 1000))
    limit = 1024 * 1024 // loading.DOCUMENT_BYTES_FACTOR
    assert len(big) > limit
    response = control.put("/_mock/state", content=big, headers={"Content-Type": "application/json"})
    assert_error(
        response, 413, errors.PAYLOAD_TOO_LARGE, {"body": [errors.BODY_TOO_LARGE.format(limit=limit)]}
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once that much has arrived
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    response = control.put("/_mock/state", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert control.get("/_mock/state").json() == before
    # under the budget, it loads
    assert control.put("/_mock/state", json=grown(before, 20, "z")).status_code == 200


# --- parsing and writing in steps ----------------------------------------------------------------
DOCUMENTS = [
    {},
    {"a": []},
    {"a": [1, 2.5, "x", None, True, False, {"b": [{"c": "\u00e9\u2603"}]}], "n": 3, "s": '\\"q"'},
    {"users": [{"id": i, "name": f"n{i}"} for i in range(loading.DUMP_ELEMENTS * 2 + 7)], "seed": 1},
]


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_parse_document__gives_what_json_loads_gives(doc: dict[str, Any]) -> None:
    for text in (json.dumps(doc), json.dumps(doc, indent=2), json.dumps(doc, separators=(",", ":"))):
        assert loading.parse_document(text) == json.loads(text)


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_dump_document__writes_what_orjson_writes_in_chunks(doc: dict[str, Any]) -> None:
    chunks = list(loading.dump_document(doc))
    assert b"".join(chunks) == orjson.dumps(doc)
    assert max(map(len, chunks)) < 200_000


def test_collector_paused__counts_nested_pauses_from_threads() -> None:
    import gc

    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        with loading.collector_paused():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=other)
    worker.start()
    inside.wait(10)
    with loading.collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other load is still running
    release.set()
    worker.join(10)
    assert gc.isenabled()


# --- creating worlds -------------------------------------------------------------------------------
def test_create_world__over_the_world_budget_is_400_before_anything_is_generated(
    small_budget: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The schema's maximum sizes (200 flows of 1,000 messages, 500 users) took 34 s of the event
    # loop and 415 MB; --max-worlds counts worlds, not their size.
    from mock_server.world import generator

    monkeypatch.setattr(generator, "generate", lambda *_: pytest.fail("generated a world over budget"))
    control = small_budget.test_client()
    sizes = {"organizations": 50, "users": 500, "flows": 200, "messages_per_flow": 1000}
    response = control.post("/_mock/worlds", json={"seed": 7, "sizes": sizes})
    assert response.status_code == 400, response.text
    (text,) = response.json()["errors"]["sizes"]
    assert "--world-memory-mb" in text
    doc = grown(control.get("/_mock/state").json(), 200, "w" * 1000)
    response = control.post("/_mock/worlds", json={"world": doc})
    assert response.status_code == 400 and "--world-memory-mb" in response.json()["errors"]["world"][0]
    assert [w["id"] for w in control.get("/_mock/worlds").json()["worlds"]] == [DEFAULT_ID]


def test_create_world__is_generated_and_built_off_the_event_loop(
    worlds_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mock_server.runtime.worlds as registry
    from mock_server.world import generator

    seen: list[tuple[str, bool]] = []
    real_generate, real_store = generator.generate, registry.Store

    def generate(*args: Any) -> Any:
        seen.append(("generate", _in_event_loop()))
        return real_generate(*args)

    def store(*args: Any, **kwargs: Any) -> Any:
        seen.append(("build", _in_event_loop()))
        return real_store(*args, **kwargs)

    monkeypatch.setattr(generator, "generate", generate)
    monkeypatch.setattr(registry, "Store", store)
    response = worlds_app.test_client().post("/_mock/worlds", json={"seed": 12345, "sizes": {"users": 9}})
    assert response.status_code == 201, response.text
    assert seen == [("generate", False), ("build", False)]


# --- parsing in pieces ----------------------------------------------------------------------------
def _records(n: int, content: Callable[[int], Any]) -> list[dict[str, Any]]:
    return [{"id": i, "flow": "f", "content": content(i), "tags": ["a", f"t{i}"]} for i in range(n)]


PIECE_DOCUMENTS = {
    "plain": {"messages": _records(500, lambda i: f"message {i}"), "seed": 3},
    "a '},{' inside strings": {"messages": _records(500, lambda i: '[{"a":1},{"b":2}]' * (i % 3))},
    "nested objects": {"messages": _records(300, lambda i: {"a": [{"b": i}, {"c": "},{"}]})},
    "integers of 19 and 20 digits": {"messages": _records(300, lambda i: 10**18 * (i % 30))},
    "unicode": {"messages": _records(300, lambda i: "\u00e9\u2603\U0001f600" * (i % 4))},
}


@pytest.mark.parametrize("doc", PIECE_DOCUMENTS.values(), ids=PIECE_DOCUMENTS.keys())
@pytest.mark.parametrize("indent", [None, 2])
def test_parse_document__in_pieces_gives_what_json_loads_gives(
    doc: dict[str, Any], indent: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # orjson parses an array a piece at a time, cut at a '},{'; a cut inside a string or a
    # nested object is no valid JSON, and that stretch is parsed element by element instead.
    monkeypatch.setattr(loading, "PIECE_BYTES", 2000)
    pieces = []
    real = loading._piece
    monkeypatch.setattr(loading, "_piece", lambda *a: pieces.append(real(*a)) or pieces[-1])
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    parsed = loading.parse_document(text)
    expected = json.loads(text)
    assert parsed == expected
    # equal is not enough: 10**20 == 1e20, and orjson reads an integer beyond 64 bits as a float
    contents = [(type(m["content"]), m["content"]) for m in parsed["messages"]]
    assert contents == [(type(m["content"]), m["content"]) for m in expected["messages"]]
    if doc is not PIECE_DOCUMENTS["integers of 19 and 20 digits"]:
        assert any(piece is not None for piece in pieces), "no piece was parsed by orjson"


@pytest.mark.parametrize(
    ("bad", "field", "text"),
    [
        ("NaN", "messages.250.content", errors.NOT_A_NUMBER),
        ("1e999", "messages.250.content", errors.NOT_A_NUMBER),
        ("123456789012345678901234567890", "messages.250.content", errors.OUT_OF_RANGE),
        ('"\\ud800"', "messages.250.content", errors.NOT_UNICODE),
    ],
)
def test_replace_state__what_orjson_reads_differently_is_still_refused_by_its_place(
    client: Any, monkeypatch: pytest.MonkeyPatch, bad: str, field: str, text: str
) -> None:
    monkeypatch.setattr(loading, "PIECE_BYTES", 2000)
    before = client.get("/_mock/state").json()
    doc = grown(before, 400, "hello")
    marker = "MARKER-VALUE"
    doc["messages"][250]["content"] = marker
    body = json.dumps(doc).replace(f'"{marker}"', bad)
    response = client.put("/_mock/state", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert text in response.json()["errors"][field]
    assert client.get("/_mock/state").json() == before


# --- what a load leaves behind ----------------------------------------------------------------------
def test_store_export_json__is_orjson_dumps_of_export_in_chunks(store: Any) -> None:
    doc = grown(store.export(), 50, "chunked")
    fresh = core.check_world(doc)
    chunks = fresh.export_json(per_chunk=7)
    assert b"".join(chunks) == orjson.dumps(fresh.export())
    assert len(chunks) > 50 / 7


def test_release__takes_apart_only_what_nothing_else_holds() -> None:
    shared = list(range(5000))
    kept = {"inner": [{"x": i} for i in range(5000)]}
    doc = {
        "mine": [list(range(3000)) for _ in range(3)],
        "shared": shared,
        "records": [{"id": i, "kept": kept if i == 7 else None} for i in range(4500)],
    }
    loading.release(doc, step=1000)
    assert doc == {}
    assert shared == list(range(5000))
    assert len(kept["inner"]) == 5000 and kept["inner"][4999] == {"x": 4999}


def test_collector_paused__freezes_what_the_load_made() -> None:
    import gc

    before = gc.get_freeze_count()
    with loading.collector_paused():
        made = [[i] for i in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(made)


def test_delete_world__a_frozen_world_is_still_freed(worlds_app: Any) -> None:
    # A world load freezes what it built (the collector would walk it all, holding the loop), and
    # the collector never frees frozen objects that refer to each other: a removed world's
    # references back to itself are made weak, so it goes as soon as nothing uses it.
    import gc
    import weakref

    control = worlds_app.test_client()
    frozen = gc.get_freeze_count()
    made = control.post("/_mock/worlds", json={}).json()
    world = worlds_app.worlds.by_id[made["id"]]
    assert gc.get_freeze_count() > frozen
    alice = made["credentials"]["users"][0]["api_token"]
    assert worlds_app.test_client().get("/flows", auth=(alice, "")).status_code == 200
    gone = [weakref.ref(x) for x in (world, world.store, world.store.messages, world.runtime)]
    del world
    assert control.delete(f"/_mock/worlds/{made['id']}").status_code == 204
    gc.collect()  # the requests' own cycles (not frozen) may still hold the world
    assert [ref() for ref in gone] == [None] * len(gone)


def test_replace_state__the_old_world_is_freed_without_the_cyclic_collector(client: Any, app: Any) -> None:
    import gc
    import weakref

    old = weakref.ref(app.store.messages)
    doc = grown(client.get("/_mock/state").json(), 30, "again")
    gc.disable()
    try:
        assert client.put("/_mock/state", json=doc).status_code == 200
        assert old() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("window", [7, 16, 64])
def test_parse_document__windows_cut_anywhere_give_what_json_loads_gives(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Element by element, the decoder reads a decoded window of the bytes, grown until it holds
    # the value: a window may end inside a number, a string or a character of several bytes.
    monkeypatch.setattr(loading, "WINDOW", window)
    monkeypatch.setattr(loading, "PIECE_BYTES", 300)
    doc = {
        "seed": 123456789012,
        "big": {"k\u00e9y": ["\u2603" * 40, 1.5, -7, True, None, {"n": 12345678}]},
        "messages": _records(60, lambda i: "\u00e9\U0001f600 " * (i % 5) + str(10**i % 997)),
        "numbers": [10**i for i in range(25)],
    }
    for text in (json.dumps(doc, ensure_ascii=False), json.dumps(doc, indent=1, ensure_ascii=False)):
        data = text.encode()
        assert loading.parse_document(data) == json.loads(text)
        assert loading.parse_document(codecs.BOM_UTF8 + data) == json.loads(text)
    with pytest.raises(errors.ValidationFailed):
        loading.parse_document(json.dumps(doc).encode() + b" 1")


def test_replace_state__a_world_grown_past_the_budget_takes_its_own_export_back() -> None:
    # The budget bounds what a world is built from; posting can grow it past that, and its own
    # export must still load back into it (with Content-Length, and without: chunked).
    server = create_app(limits=Limits(world_memory_mb=1))
    control = server.test_client()
    limit = server.worlds.limits.document_bytes
    alice = server.test_client()
    token = next(u["api_token"] for u in control.get("/_mock/state").json()["users"] if u["id"] == 1)
    while len(control.get("/_mock/state").content) <= limit + 20_000:
        response = alice.post(
            "/flows/acme/main/messages", json={"event": "message", "content": "g" * 8000}, auth=(token, "")
        )
        assert response.status_code == 201, response.text
    exported = control.get("/_mock/state").content
    for body in (exported, iter([exported[i : i + 65536] for i in range(0, len(exported), 65536)])):
        response = control.put("/_mock/state", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text[:300]
        assert response.json() == orjson.loads(exported)
    # more than both the budget and the world's own export: still refused, before it is read
    bigger = orjson.dumps(grown(orjson.loads(exported), 40, "h" * 1000))
    response = control.put("/_mock/state", content=bigger, headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text[:300]
    assert control.get("/_mock/state").content == exported


def test_check_world__consume_drops_each_record_once_the_store_has_it(store: Any) -> None:
    import weakref

    from mock_server.world.documents import check_world

    class Record(dict[str, Any]):
        pass

    doc = grown(store.export(), 5, "consumed")
    doc["messages"] = [Record(m) for m in doc["messages"]]
    first = weakref.ref(doc["messages"][0])
    fresh = check_world(doc, consume=True)
    assert first() is None and set(doc["messages"]) == {None}
    assert (
        fresh.export()["messages"] == check_world(grown(store.export(), 5, "consumed")).export()["messages"]
    )
