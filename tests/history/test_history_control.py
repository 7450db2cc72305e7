"""Exports through the control API: a created world holding one, one loaded into a running
world (whole or not at all), a flow exported as a zip."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

import pytest

from mock_server import errors
from mock_server.history.synthetic import Export, generate
from tests.conftest import assert_error
from tests.history.helpers import every_page_of


@pytest.fixture(scope="module")
def export() -> Export:
    return generate(150, seed=21)


def authed(app: Any, token: str) -> Any:
    c = app.test_client()
    c.auth = (token, "")
    return c


def test_create_world__with_an_export_and_its_users(app: Any, client: Any, export: Export) -> None:
    body = {
        "seed": 3,
        "history": [{"flow": "initech/eng", "archive": base64.b64encode(export.zip_bytes()).decode()}],
        "history_users": export.users_file(),
    }
    r = client.post("/_mock/worlds", json=body)
    assert r.status_code == 201, r.text
    world = r.json()
    assert world["origin"]["source"] == "seed"
    (loaded,) = world["origin"]["history"]
    assert loaded["flow_id"] == export.flow_id and loaded["missing_files"] == [export.missing_file]
    users = {u["id"]: u for u in world["credentials"]["users"]}
    poster = authed(app, users[export.posters[0]]["api_token"])
    assert [m["id"] for m in every_page_of(poster, "initech/eng")] == [m["id"] for m in export.messages]
    assert users[export.posters[0]]["name"] == "Person 0"
    # the default world is untouched
    assert client.get("/_mock/worlds/default").json()["credentials"]["users"][0]["id"] == 1
    assert all(
        u["id"] != export.posters[0]
        for u in client.get("/_mock/worlds/default").json()["credentials"]["users"]
    )


def test_create_world__a_broken_export_is_a_400_naming_it_and_no_world(client: Any, export: Export) -> None:
    before = len(client.get("/_mock/worlds").json()["worlds"])
    bad = base64.b64encode(b"not a zip").decode()
    body = {"history": [{"flow": "initech/eng", "archive": bad}]}
    r = client.post("/_mock/worlds", json=body)
    assert_error(r, 400, errors.INVALID_HISTORY)
    assert "history archive history.0 (initech/eng): is not a zip file" in r.json()["errors"]["history.0"][0]
    assert len(client.get("/_mock/worlds").json()["worlds"]) == before


def test_load_into_the_default_world_and_export_it_back(
    app: Any, client: Any, store: Any, export: Export
) -> None:
    r = client.put(
        "/_mock/worlds/default/history/acme/imported",
        content=export.zip_bytes(),
        headers={"Content-Type": "application/zip"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["messages"] == len(export.messages)
    sheet = {u["id"]: u for u in client.get("/_mock/worlds/default").json()["credentials"]["users"]}
    poster = authed(app, sheet[export.posters[0]]["api_token"])
    assert len(every_page_of(poster, "acme/imported")) == len(export.messages)

    zipped = client.get("/_mock/worlds/default/history/acme/imported")
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        records = json.loads(zf.read("messages.json"))
        assert [m["id"] for m in records] == [m["id"] for m in export.messages]
        assert {n.rsplit("/", 1)[-1] for n in zf.namelist() if n != "messages.json"} >= {"release notes.txt"}


def test_a_broken_export_leaves_the_running_world_as_it_was(client: Any, alice: Any) -> None:
    before = alice.get("/flows/all").json()
    r = client.put(
        "/_mock/worlds/default/history/acme/broken",
        content=b"PK\x03\x04 truncated",
        headers={"Content-Type": "application/zip"},
    )
    assert_error(r, 400, errors.INVALID_HISTORY)
    assert "truncated zip" in r.json()["errors"]["body"][0]
    assert alice.get("/flows/all").json() == before


def test_loading_a_flow_that_exists_is_refused(client: Any, export: Export) -> None:
    r = client.put(
        "/_mock/worlds/default/history/acme/main",
        content=export.zip_bytes(),
        headers={"Content-Type": "application/zip"},
    )
    assert_error(r, 400, errors.INVALID_HISTORY)
    assert "flow acme/main is already in the world" in r.json()["errors"]["body"][0]


def test_export_of_an_unknown_flow_is_404(client: Any) -> None:
    assert client.get("/_mock/worlds/default/history/acme/nope").status_code == 404
