"""Files: multipart and base64 uploads to flows, threads and private conversations; the 302 to
the mock's own short-lived URL; the exact bytes back; the upload limit; deletion."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import pytest

from mock_server import errors
from tests.conftest import assert_error

MAIN = "/flows/acme/main/messages"
DATA = b"\x89PNG\r\n\x1a\n binary \x00 bytes"


def upload(client: Any, url: str = MAIN, name: str = "shot 1.png", data: bytes = DATA, **fields: str) -> Any:
    return client.post(url, data={"event": "file", **fields}, files={"content": (name, data, "image/png")})


def fetch(client: Any, path: str) -> Any:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 302, r.text
    assert r.headers["content-length"] == "0"
    return client.get(urlsplit(r.headers["location"]).path)


def test_send_flow_message__multipart_upload_makes_a_file_message(alice, store) -> None:
    r = upload(alice, tags="shots,ui")
    assert r.status_code == 201, r.text
    m = r.json()
    c = m["content"]
    assert m["event"] == "file" and c["file_name"] == "shot 1.png" and c["file_size"] == len(DATA)
    assert (
        c["content_type"] == "image/png"
        and c["content_disposition"] == "inline; filename*=UTF-8''shot%201.png"
    )
    files_id = store.flows.by_id[m["flow"]].files_id
    assert c["path"].startswith(f"/files/{files_id}/") and c["path"].endswith("/shot%201.png")
    assert m["attachments"] == [c] and m["tags"] == ["shots", "ui", ":file"]
    assert m["thread"]["title"] == "Uploaded File shot 1.png" and m["thread"]["initial_message"] == m["id"]


def test_send_message__base64_json_upload(alice, store) -> None:
    flow = next(f.id for f in store.flows.by_id.values() if f.parameterized_name == "main")
    content = {"data": base64.b64encode(DATA).decode(), "content_type": "image/png", "file_name": "x.png"}
    r = alice.post("/messages", json={"flow": flow, "event": "file", "content": content})
    assert r.status_code == 201 and r.json()["content"]["file_size"] == len(DATA)
    assert fetch(alice, r.json()["content"]["path"]).content == DATA


def test_send_message__invalid_base64_is_400(alice) -> None:
    content = {"data": "***", "file_name": "x.png"}
    r = alice.post(MAIN, json={"event": "file", "content": content})
    assert r.status_code == 400


def test_download_file__302_to_the_exact_bytes(alice) -> None:
    path = upload(alice).json()["content"]["path"]
    r = fetch(alice, path)
    assert r.status_code == 200 and r.content == DATA and r.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("media_type", "data"),
    [("application/json", b"not json {"), ("text/plain", b"\xff\xfe not UTF-8"), ("application/xml", b"<a>")],
)
def test_download_file__any_bytes_under_any_declared_type(alice, media_type: str, data: bytes) -> None:
    """The uploader's content type is a label, not a promise: the bytes come back as they were,
    never a 500 from validating them as that type."""
    r = alice.post(MAIN, data={"event": "file"}, files={"content": ("x.bin", data, media_type)})
    assert r.status_code == 201, r.text
    got = fetch(alice, r.json()["content"]["path"])
    assert got.status_code == 200 and got.content == data


def test_download_file__location_is_this_servers_base_url(alice, store) -> None:
    path = upload(alice).json()["content"]["path"]
    location = alice.get(path, follow_redirects=False).headers["location"]
    assert location.startswith(store.config.base_url + "/_mock/files/")


def test_download_file__fixture_file_downloads(alice, store) -> None:
    stored = next(iter(store.files.by_key.values()))
    r = fetch(alice, f"/files/{stored.files_id}/{stored.hash}/{stored.file_name}")
    assert r.content == stored.data


def test_download_file__needs_credentials(client, alice) -> None:
    path = upload(alice).json()["content"]["path"]
    assert client.get(path, follow_redirects=False).status_code == 401


def test_download_file__someone_who_cannot_see_the_flow_gets_404(alice, as_user) -> None:
    path = upload(alice, "/flows/acme/dev/messages").json()["content"]["path"]
    assert_error(as_user(4).get(path, follow_redirects=False), 404, errors.NOT_FOUND)


def test_download_file__wrong_name_is_404(alice) -> None:
    path = upload(alice).json()["content"]["path"]
    assert_error(alice.get(path.rsplit("/", 1)[0] + "/other.png"), 404, errors.NOT_FOUND)


def test_get_file_content__unknown_token_is_404(client) -> None:
    assert client.get("/_mock/files/nope").status_code == 404


def test_post_thread_message__multipart_upload_into_a_thread(alice) -> None:
    root = alice.post(MAIN, json={"event": "message", "content": "root"}).json()
    r = upload(alice, f"/flows/acme/main/threads/{root['thread_id']}/messages")
    assert r.status_code == 201 and r.json()["thread_id"] == root["thread_id"]


def test_send_private_message__multipart_upload(alice, bob) -> None:
    r = upload(alice, "/private/2/messages")
    assert r.status_code == 201 and r.json()["to"] == "2" and ":file" in r.json()["tags"]
    path = r.json()["content"]["path"]
    assert fetch(bob, path).content == DATA


def test_download_file__private_file_is_only_for_the_participants(alice, as_user) -> None:
    path = upload(alice, "/private/2/messages").json()["content"]["path"]
    assert as_user(3).get(path, follow_redirects=False).status_code == 404


def test_send_flow_message__upload_over_the_limit_is_413(
    alice, store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store.config, "max_upload_bytes", 10)
    r = upload(alice, data=b"x" * 11)
    assert_error(r, 413, errors.PAYLOAD_TOO_LARGE, {"content": [errors.FILE_TOO_LARGE]})
    assert upload(alice, data=b"x" * 10).status_code == 201


def test_delete_message__own_file_is_removed_with_its_bytes(alice) -> None:
    m = upload(alice).json()
    assert alice.delete(f"{MAIN}/{m['id']}").status_code == 204
    assert_error(alice.get(m["content"]["path"], follow_redirects=False), 404, errors.NOT_FOUND)


def test_list_flow_messages__file_filter_by_event_and_tag(alice) -> None:
    m = upload(alice).json()
    by_event = alice.get(MAIN, params={"event": "file", "limit": 1}).json()
    by_tag = alice.get(MAIN, params={"tags": ":file", "limit": 1}).json()
    assert by_event[0]["id"] == by_tag[0]["id"] == m["id"]


@pytest.mark.parametrize("tags", ["{}", '{"a": 1}'])
def test_send_private_message__multipart_tags_part_holding_a_json_object_is_400(alice, tags) -> None:
    # Found by make fuzz: an object in the multipart `tags` part arrives as its JSON text.
    r = upload(alice, "/private/2/messages", tags=tags)
    assert_error(r, 400, errors.VALIDATION_ERROR, {"tags": [errors.INVALID]})


def test_send_flow_message__multipart_tags_with_braces_that_are_not_an_object_are_tags(alice) -> None:
    r = upload(alice, tags="{draft}")
    assert r.status_code == 201, r.text
    assert r.json()["tags"][0] == "{draft}"
