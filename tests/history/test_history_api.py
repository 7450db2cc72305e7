"""A synthetic Flowdock export loaded into a world and read back through the API, as the
archivers and migration scripts written against Flowdock read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mock_server.app import create_app
from mock_server.contract import load_default_world
from mock_server.history import HistorySource, load_history, read_users
from mock_server.history.synthetic import Export, generate
from mock_server.store import Store
from mock_server.store.timefmt import iso_ms
from mock_server.world import MAIN_USER
from tests.history.helpers import every_page_of

ORG, FLOW = "initech", "engineering"
PAGE_EVENTS = "message,file,comment"


@pytest.fixture(scope="module")
def export() -> Export:
    return generate(400, seed=7)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, export: Export) -> Any:
    folder = tmp_path_factory.mktemp("history")
    path = export.write_zip(folder / "engineering-2023-08-01.zip")
    users = folder / "users.json"
    import json

    users.write_text(json.dumps(export.users_file()))
    doc, done = load_history(
        load_default_world(), [HistorySource(str(path), ORG, FLOW)], read_users(str(users))
    )
    return create_app(world=doc, validate_responses=True), done


@pytest.fixture
def app(loaded: Any) -> Iterator[Any]:
    app = loaded[0]
    app.store.reset()
    yield app


@pytest.fixture
def store(app: Any) -> Store:
    found: Store = app.store
    return found


def client_of(app: Any, user_id: int) -> Any:
    c = app.test_client()
    c.auth = (app.store.users.by_id[user_id].api_token, "")
    return c


@pytest.fixture
def poster(app: Any, export: Export) -> Any:
    return client_of(app, export.posters[0])


def expected_users(export: Export) -> set[int]:
    ids = {int(m["user"]) for m in export.messages if m["user"] != "0"}
    for m in export.messages:
        for tag in m["tags"]:
            if tag.startswith((":user:", ":unread:")) and tag.rsplit(":", 1)[1].isdigit():
                ids.add(int(tag.rsplit(":", 1)[1]))
        for users in m["emojiReactions"].values():
            ids.update(int(u) for u in users)
    return ids


def every_page(client: Any, events: str = PAGE_EVENTS, **params: Any) -> list[dict[str, Any]]:
    """What a migration script does: pages of 100 since id 0, ascending, until an empty page."""
    return every_page_of(client, f"{ORG}/{FLOW}", event=events, **params)


def test_migration_script__users_flows_the_flow_and_every_page_match_the_archive(
    app: Any, export: Export, poster: Any
) -> None:
    users = poster.get(f"/organizations/{ORG}/users").json()
    assert {u["id"] for u in users} >= expected_users(export)
    assert poster.get("/flows/all").status_code == 200
    flows = {f["parameterized_name"]: f for f in poster.get("/flows/all").json()}
    assert flows[FLOW]["id"] == export.flow_id and flows[FLOW]["organization"]["parameterized_name"] == ORG
    with_users = poster.get("/flows", params={"users": 1}).json()
    flow = next(f for f in with_users if f["id"] == export.flow_id)
    assert {u["id"] for u in flow["users"]} == expected_users(export)
    one = poster.get(f"/flows/{ORG}/{FLOW}").json()
    assert one["id"] == export.flow_id and one["last_message_id"] == export.messages[-1]["id"]

    served = every_page(poster)
    wanted = [m for m in export.messages if m["event"] in PAGE_EVENTS.split(",")]
    assert [m["id"] for m in served] == [m["id"] for m in wanted]  # each exactly once, in order
    for got, raw in zip(served, wanted, strict=True):
        assert got["flow"] == export.flow_id
        assert (got["event"], got["content"], got["user"], got["sent"]) == (
            raw["event"],
            raw["content"],
            raw["user"],
            raw["sent"],
        )
        assert got["tags"] == raw["tags"] and got["emojiReactions"] == raw["emojiReactions"]
        assert got["attachments"] == raw["attachments"]
        assert got["uuid"] == raw.get("uuid")  # null where the export has none
        assert got["edited"] == raw["edited"]
        assert got["edited_at"] == (iso_ms(raw["edited"]) if raw["edited"] is not None else None)
        assert got.get("thread_id") == raw.get("thread_id")


def test_every_event_is_served_not_only_chat(poster: Any, export: Export) -> None:
    events = ",".join(sorted({m["event"] for m in export.messages}))
    assert [m["id"] for m in every_page(poster, events)] == [m["id"] for m in export.messages]


def test_history_pages_descending_with_until_id(poster: Any, export: Export) -> None:
    ids = [m["id"] for m in export.messages]
    r = poster.get(f"/flows/{ORG}/{FLOW}/messages", params={"limit": 50, "until_id": ids[100]})
    assert [m["id"] for m in r.json()] == ids[50:100]


def test_tags_and_search_filter_the_history(poster: Any, export: Export) -> None:
    hashtagged = [
        m for m in export.messages if any(not t.startswith(":") and ":" not in t for t in m["tags"])
    ]
    tag = next(t for t in hashtagged[0]["tags"] if not t.startswith(":"))
    want = [m["id"] for m in export.messages if tag in m["tags"]]
    got = poster.get(f"/flows/{ORG}/{FLOW}/messages", params={"tags": tag, "limit": 100}).json()
    assert [m["id"] for m in got] == want[-100:]
    word = "kubernetes"
    found = poster.get(
        f"/flows/{ORG}/{FLOW}/messages", params={"search": word, "event": "message", "limit": 100}
    ).json()
    want = [m["id"] for m in export.messages if m["event"] == "message" and word in m["content"].split()]
    assert found and [m["id"] for m in found] == want[-100:]


def test_threads_are_rebuilt_from_the_messages_not_the_stale_snapshots(poster: Any, export: Export) -> None:
    by_thread: dict[str, list[dict[str, Any]]] = {}
    for m in export.messages:
        if m.get("thread_id"):
            by_thread.setdefault(m["thread_id"], []).append(m)
    thread_id, members = max(by_thread.items(), key=lambda kv: len(kv[1]))
    t = poster.get(f"/flows/{ORG}/{FLOW}/threads/{thread_id}").json()
    assert t["flow"] == export.flow_id  # the snapshots have none
    assert t["initial_message"] == members[0]["id"]
    assert t["title"] == str(members[0]["content"])[:100]
    assert t["internal_comments"] == sum(m["event"] in ("message", "comment", "file") for m in members)
    assert t["updated_at"] != "1970-01-01T00:00:02.020Z"
    sent = [m["sent"] for m in members]  # the first and last times of its messages
    assert (t["created_at"], t["updated_at"]) == (iso_ms(min(sent)), iso_ms(max(sent)))
    listed = poster.get(f"/flows/{ORG}/{FLOW}/threads/{thread_id}/messages", params={"limit": 100}).json()
    assert [m["id"] for m in listed] == [m["id"] for m in members][-100:]
    served = poster.get(f"/flows/{ORG}/{FLOW}/messages/{members[0]['id']}").json()
    assert (
        served["thread"]["id"] == thread_id
        and served["thread"]["internal_comments"] == t["internal_comments"]
    )


def test_users_are_named_from_the_users_file_or_by_id(poster: Any, export: Export) -> None:
    users = {u["id"]: u for u in poster.get(f"/organizations/{ORG}/users").json()}
    named = export.users_file()
    assert users[named[0]["id"]]["name"] == named[0]["name"] and users[named[0]["id"]]["admin"] is True
    unnamed = export.posters[1]
    assert users[unnamed]["name"] == f"User {unnamed}" and users[unnamed]["nick"] == f"user{unnamed}"
    for lurker in expected_users(export) - set(export.posters):
        assert lurker in users  # only mentioned or reacting, still a member


def test_each_history_user_can_sign_in_with_the_listed_credentials(app: Any, export: Export) -> None:
    sheet = app.test_client().get("/_mock/worlds/default").json()["credentials"]["users"]
    listed = {u["id"]: u for u in sheet}
    for user_id in expected_users(export):
        c = app.test_client()
        c.auth = (listed[user_id]["email"], listed[user_id]["password"])
        assert c.get("/user").json()["id"] == user_id


def test_files_are_served_from_the_archive_and_a_missing_one_is_flowdocks_404(
    poster: Any, export: Export
) -> None:
    files = [m for m in export.messages if m["event"] == "file"]
    assert files
    for m in files:
        path = m["content"]["path"]
        r = poster.get(path, follow_redirects=False)
        if path == export.missing_file:
            assert r.status_code == 404 and r.json() == {"message": "not found"}
            continue
        assert r.status_code == 302, (path, r.text)
        data = poster.get(urlsplit(r.headers["location"]).path).content
        assert data in export.files.values() and len(data) == m["content"]["file_size"]


def test_new_posts_get_ids_above_the_imported_ones(poster: Any, export: Export) -> None:
    r = poster.post(f"/flows/{ORG}/{FLOW}/messages", json={"event": "message", "content": "after the export"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] > export.messages[-1]["id"]
    assert every_page(poster)[-1]["content"] == "after the export"


def test_a_faker_user_reads_the_history_flow_when_it_is_in_their_organization(
    tmp_path: Path, export: Export
) -> None:
    path = export.write_zip(tmp_path / "ops-2020-01-31.zip")
    doc, done = load_history(load_default_world(), [HistorySource(str(path), "acme", None)])
    assert done[0].flow == "ops"
    app = create_app(world=doc)
    alice = client_of(app, int(str(MAIN_USER["id"])))
    all_flows = {f["parameterized_name"]: f for f in alice.get("/flows/all").json()}
    assert all_flows["ops"]["joined"] is False  # an organization flow she may join
    assert alice.put("/flows/acme/ops", json={"open": True}).status_code == 200
    read = every_page_of(alice, "acme/ops")
    assert len(read) == len(export.messages) + 1
    assert read[-1]["event"] == "action" and read[-1]["content"]["type"] == "join"  # her join is kept


def test_the_stream_of_a_history_flow_carries_new_posts(loaded: Any, export: Export) -> None:
    """The Streaming API over a real socket, with a history user's token on the history flow."""
    from tests.clients.conftest import serve
    from tests.stream.conftest import Opener

    app = loaded[0]
    app.store.reset()
    with serve(app) as server:
        opener = Opener(server)
        stream = opener(export.posters[1], filter=f"{ORG}/{FLOW}")
        client_of(app, export.posters[0]).post(
            f"/flows/{ORG}/{FLOW}/messages", json={"event": "message", "content": "streamed after import"}
        )
        got = stream.wait_for(lambda e: e.get("content") == "streamed after import")
        assert got["flow"] == export.flow_id and got["id"] > export.messages[-1]["id"]
        stream.close()


def thumbnail_message(export: Export) -> dict[str, Any]:
    return next(m for m in export.messages if m["event"] == "file" and "thumbnail" in m["content"])


def test_a_thumbnail_is_served_from_the_archive_with_the_download_hardening(
    poster: Any, export: Export
) -> None:
    content = thumbnail_message(export)["content"]
    token = content["path"].split("/")[3]
    r = poster.get(content["thumbnail"]["path"], follow_redirects=False)
    assert r.status_code == 302 and r.headers["content-length"] == "0", r.text
    got = poster.get(urlsplit(r.headers["location"]).path)
    assert got.content == export.files[f"files/{token}/thumb/{content['file_name']}"]
    assert got.content != poster.get(content["path"]).content  # not the image itself
    assert got.headers["content-type"] == content["content_type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"] == "sandbox"
    assert got.headers["content-disposition"] == "inline; filename*=UTF-8''diagram.png"  # a raster image


def test_a_thumbnail_nobody_made_is_flowdocks_404(app: Any, poster: Any, export: Export) -> None:
    for m in export.messages:
        if m["event"] == "file" and "thumbnail" not in m["content"]:
            files_id, token, name = m["content"]["path"].split("/")[2:]
            r = poster.get(f"/files/{files_id}/{token}/thumb/{name}")
            assert r.status_code == 404 and r.json() == {"message": "not found"}
    content = thumbnail_message(export)["content"]
    wrong_name = content["thumbnail"]["path"].rsplit("/", 1)[0] + "/other.png"
    assert poster.get(wrong_name).status_code == 404
    outsider = client_of(app, next(u for u in app.store.users.by_id if u not in expected_users(export)))
    assert outsider.get(content["thumbnail"]["path"]).status_code == 404  # cannot see the flow


def test_an_upload_to_the_mock_has_no_thumbnail_and_its_thumbnail_path_is_404(poster: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n not really an image"
    r = poster.post(
        f"/flows/{ORG}/{FLOW}/messages",
        data={"event": "file"},
        files={"content": ("shot.png", png, "image/png")},
    )
    assert r.status_code == 201, r.text
    content = r.json()["content"]
    assert "thumbnail" not in content and "image" not in content  # the mock scales no images
    files_id, token, name = content["path"].split("/")[2:]
    assert poster.get(content["path"]).content == png
    r = poster.get(f"/files/{files_id}/{token}/thumb/{name}")
    assert r.status_code == 404 and r.json() == {"message": "not found"}


def test_a_thumbnail_survives_the_state_export_and_import(app: Any, poster: Any, export: Export) -> None:
    admin = app.test_client()
    state = admin.get("/_mock/state").json()
    assert sum(1 for f in state["files"] if f.get("thumbnail")) == 1
    app.store.reset()
    assert admin.put("/_mock/state", json=state).status_code == 200
    path = thumbnail_message(export)["content"]["thumbnail"]["path"]
    r = poster.get(path)
    assert r.status_code == 200 and r.content.startswith(b"thumbnail ")
