"""Large worlds never hold up the event loop every world shares, and stay within a memory budget.

``PUT /_mock/state`` and ``PUT /_mock/worlds/{world}/state`` read, parse, check and build a world
document in small steps off the loop (middleware/state_import.py, world/loading.py); world
creation builds off the loop too. How long other requests wait meanwhile is measured by
``make bench-stalls`` (bench/stalls.py), never asserted here: these tests assert what the
design promises (the work is done off the loop, in steps; the limits answer 4xx; nothing is
half-loaded).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from mock_server import errors
from mock_server.app import create_app
from mock_server.runtime import core
from mock_server.runtime.worlds import DEFAULT_ID, Limits
from mock_server.world import loading
from tests.conftest import assert_error


@pytest.fixture
def worlds_app(app: Any, store: Any) -> Iterator[Any]:
    yield app
    for world_id in list(app.worlds.by_id):
        if world_id != DEFAULT_ID:
            app.worlds.delete(world_id)


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

    monkeypatch.setattr(core, "parse_document", spy("parse", core.parse_document))
    monkeypatch.setattr(core, "check_world", spy("check", core.check_world))
    monkeypatch.setattr(core, "dump_document", spy("dump", core.dump_document))
    doc = client.get("/_mock/state").json()
    assert client.put("/_mock/state", json=doc).status_code == 200
    assert seen == [("parse", False), ("check", False), ("dump", False)]


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
