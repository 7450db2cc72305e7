"""Hostile and careless input that used to take the mock down, answer 500 or leak a secret.

One section per kind of defect: what cannot be represented is refused at the door; world
documents are checked whole before anything is replaced; the state export always imports back;
credentials never show in the journal, the coverage report or the log; absurd control and OAuth
input is a 4xx; and the smaller decisions (a deleted message stays deleted, a reused
authorization code revokes what it issued).
"""

from __future__ import annotations

import base64
import copy
import json
import logging
from typing import Any

import pytest

from mock_server import errors
from tests.conftest import ALICE, BOB, assert_error

MAIN = "/flows/acme/main"
LONE = '"\\ud800"'
"""A JSON string holding an escaped lone surrogate: valid JSON, not representable as UTF-8."""


def raw_json(client: Any, method: str, path: str, text: str) -> Any:
    return client.request(method, path, content=text.encode(), headers={"content-type": "application/json"})


def still_answers(client: Any, alice: Any) -> None:
    """Everything a poisoned store used to break still answers."""
    assert alice.get(f"{MAIN}/messages").status_code == 200
    assert alice.get("/flows").status_code == 200
    assert alice.get("/private").status_code == 200
    assert client.get("/_mock/state").status_code == 200
    assert client.get("/_mock/requests").status_code == 200
    assert client.get("/_mock/coverage").status_code == 200


# --- refused at the door: what cannot be represented ----------------------------------------------
SURROGATE_SLOTS = [
    ("POST", f"{MAIN}/messages", '{"event": "message", "content": %s}', "content"),
    ("POST", f"{MAIN}/messages", '{"event": "message", "content": "hi", "tags": [%s]}', "tags.0"),
    ("POST", f"{MAIN}/messages", '{"event": "message", "content": "hi", "uuid": %s}', "uuid"),
    (
        "POST",
        f"{MAIN}/messages",
        '{"event": "message", "content": "hi", "external_user_name": %s}',
        "external_user_name",
    ),
    ("POST", "/flows/acme", '{"name": %s}', "name"),
    ("PUT", "/organizations/acme", '{"name": %s}', "name"),
    ("POST", f"{MAIN}/sources", '{"name": %s}', "name"),
    ("POST", f"{MAIN}/invitations/import", '{"list": %s, "message": "hi"}', "list"),
    ("POST", f"{MAIN}/messages", '{"event": "message", "content": "hi", %s: 1}', "base"),
]


@pytest.mark.parametrize(("method", "path", "template", "field"), SURROGATE_SLOTS)
def test_lone_surrogate_in_a_json_body__is_400_naming_the_field_and_stores_nothing(
    client: Any, alice: Any, store: Any, method: str, path: str, template: str, field: str
) -> None:
    before = store.export()
    response = raw_json(alice, method, path, template % LONE)
    assert_error(response, 400, errors.VALIDATION_ERROR)
    assert field in response.json()["errors"], response.json()
    assert store.export() == before
    still_answers(client, alice)


def test_lone_surrogate__a_valid_surrogate_pair_is_stored(alice: Any) -> None:
    response = raw_json(
        alice, "POST", f"{MAIN}/messages", '{"event": "message", "content": "\\ud83d\\ude00"}'
    )
    assert response.status_code == 201, response.text
    assert response.json()["content"] == "\U0001f600"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"event=message&content=%FF"),
        ("application/x-www-form-urlencoded", b"event=message&content=%ED%A0%80"),
        (None, b"event=message&content=%FF"),
        (
            "multipart/form-data; boundary=XX",
            (
                b'--XX\r\nContent-Disposition: form-data; name="event"\r\n\r\nmessage\r\n'
                b'--XX\r\nContent-Disposition: form-data; name="content"\r\n\r\n\xff\xfe\r\n--XX--\r\n'
            ),
        ),
    ],
    ids=["form-ff", "form-encoded-surrogate", "unlabelled-form", "multipart-field"],
)
def test_invalid_utf8_in_a_form_field__is_400_naming_the_field(
    client: Any, alice: Any, store: Any, content_type: str | None, body: bytes
) -> None:
    before = store.export()
    headers = {"content-type": content_type} if content_type else {}
    response = alice.post(f"{MAIN}/messages", content=body, headers=headers)
    assert_error(response, 400, errors.VALIDATION_ERROR, {"content": [errors.NOT_UNICODE]})
    assert store.export() == before
    still_answers(client, alice)


def test_invalid_utf8_in_a_query_value__is_400_naming_the_parameter(alice: Any) -> None:
    response = alice.get(f"{MAIN}/messages?search=%ED%A0%80")
    assert_error(response, 400, errors.VALIDATION_ERROR, {"search": [errors.NOT_UNICODE]})


def test_invalid_utf8_in_the_path__is_400(alice: Any) -> None:
    response = alice.get("/flows/acme/%FF/messages")
    assert_error(response, 400, errors.VALIDATION_ERROR, {"path": [errors.NOT_UNICODE]})


def test_invalid_utf8_in_basic_credentials__is_401_not_500(client: Any) -> None:
    token = base64.b64encode(b"\xff\xfe:x").decode()
    response = client.get("/flows", headers={"authorization": f"Basic {token}"})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ('{"event": "message", "content": "hi", "uuid": 1e999}', "uuid", errors.NOT_A_NUMBER),
        ('{"event": "message", "content": NaN}', "content", errors.NOT_A_NUMBER),
        ('{"event": "message", "content": "hi", "x": [18446744073709551616]}', "x.0", errors.OUT_OF_RANGE),
    ],
)
def test_json_number_that_cannot_be_represented__is_400_naming_the_field(
    alice: Any, text: str, field: str, reason: str
) -> None:
    response = raw_json(alice, "POST", f"{MAIN}/messages", text)
    assert_error(response, 400, errors.VALIDATION_ERROR, {field: [reason]})


def test_form_field_nested_1200_levels__is_400(client: Any, alice: Any) -> None:
    body = ("event=message&content" + "[a]" * 1200 + "=x").encode()
    for headers in ({"content-type": "application/x-www-form-urlencoded"}, {}):
        response = alice.post(f"{MAIN}/messages", content=body, headers=headers)
        assert_error(response, 400, errors.VALIDATION_ERROR)
        assert "content" in response.json()["errors"]
    still_answers(client, alice)


# --- world documents: checked whole, before anything is replaced ----------------------------------
def _dup(key: str, field: str | None = None) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        item = copy.deepcopy(doc[key][0])
        if field is None:
            doc[key].append(item)
        else:
            doc[key][1][field] = item[field]

    return mutate


def _set(path: str, value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


BROKEN_WORLDS = {
    "duplicate user id": (_dup("users", "id"), "users.1.id"),
    "duplicate api token": (_dup("users", "api_token"), "users.1.api_token"),
    "duplicate email": (_dup("users", "email"), "users.1.email"),
    "duplicate flow token": (_dup("flows", "api_token"), "flows.1.api_token"),
    "duplicate message id": (_dup("messages", "id"), "messages.1.id"),
    "dangling message user": (_set("messages.0.user", 999), "messages.0.user"),
    "dangling message thread": (_set("messages.0.thread_id", "nope"), "messages.0.thread_id"),
    "dangling file flow": (_set("files.0.flow", "nope"), "files.0.flow"),
    "dangling application owner": (
        _set("oauth_applications.0.owner_id", 999),
        "oauth_applications.0.owner_id",
    ),
    "private with an unknown user": (
        _set("private_conversations.0.users", [1, 999]),
        "private_conversations.0.users",
    ),
    "private with oneself": (_set("private_conversations.0.users", [1, 1]), "private_conversations.0.users"),
    "seed beyond 64 bits": (_set("seed", 2**70), "seed"),
    "message id beyond 64 bits": (_set("messages.0.id", 2**64), "messages.0.id"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_WORLDS))
def test_replace_state__broken_document_is_400_naming_the_place_and_changes_nothing(
    client: Any, alice: Any, store: Any, case: str
) -> None:
    mutate, where = BROKEN_WORLDS[case]
    doc = client.get("/_mock/state").json()
    before = copy.deepcopy(doc)
    mutate(doc)
    response = client.put("/_mock/state", json=doc)
    # Integers beyond 64 bits are refused at the door, like any request body holding one.
    message = errors.VALIDATION_ERROR if "64 bits" in case else errors.INVALID_WORLD
    assert_error(response, 400, message)
    assert where in response.json()["errors"], response.json()
    assert client.get("/_mock/state").json() == before
    still_answers(client, alice)


def test_replace_state__reports_every_problem_at_once(client: Any) -> None:
    doc = client.get("/_mock/state").json()
    doc["messages"][0]["user"] = 999
    doc["users"][1]["email"] = doc["users"][0]["email"]
    doc["flows"][0]["organization_id"] = 999
    response = client.put("/_mock/state", json=doc)
    assert_error(response, 400, errors.INVALID_WORLD)
    assert {"messages.0.user", "users.1.email", "flows.0.organization_id"} <= set(response.json()["errors"])


def test_replace_state__lone_surrogate_is_400_and_changes_nothing(client: Any, alice: Any) -> None:
    doc = client.get("/_mock/state").json()
    text = json.dumps(doc).replace('"Alice Anderson"', LONE, 1)
    response = raw_json(client, "PUT", "/_mock/state", text)
    assert_error(response, 400, errors.VALIDATION_ERROR, {"users.0.name": [errors.NOT_UNICODE]})
    assert client.get("/_mock/state").json() == doc
    still_answers(client, alice)


def test_world_problems__integers_beyond_64_bits_and_lone_surrogates_are_named(client: Any) -> None:
    from mock_server.world.documents import world_problems

    doc = client.get("/_mock/state").json()
    doc["seed"] = 2**70
    doc["users"][0]["name"] = "\ud800"
    assert world_problems(doc) == {"seed": [errors.OUT_OF_RANGE], "users.0.name": [errors.NOT_UNICODE]}


def test_fixtures__a_broken_document_is_refused_with_every_problem(tmp_path: Any, client: Any) -> None:
    from mock_server.launch import load_world
    from mock_server.settings import Settings, UsageError

    doc = client.get("/_mock/state").json()
    doc["users"][1]["api_token"] = doc["users"][0]["api_token"]
    doc["private_conversations"][0]["users"] = [1, 1]
    path = tmp_path / "world.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UsageError) as caught:
        load_world(Settings(fixtures=str(path)))
    assert "users.1.api_token" in str(caught.value)
    assert "private_conversations.0.users" in str(caught.value)


# --- the state round trip -------------------------------------------------------------------------
def test_state__export_after_a_private_file_upload_imports_back(client: Any, alice: Any) -> None:
    upload = alice.post(
        f"/private/{BOB['id']}/messages",
        files={"content": ("a.txt", b"hello", "text/plain")},
        data={"event": "file"},
    )
    assert upload.status_code == 201, upload.text
    doc = client.get("/_mock/state").json()
    response = client.put("/_mock/state", json=doc)
    assert response.status_code == 200, response.text
    assert client.get("/_mock/state").json() == doc


def test_state__an_export_larger_than_the_body_limit_imports_back(client: Any, store: Any) -> None:
    from mock_server.middleware.input_guard import MAX_BODY_BYTES

    doc = client.get("/_mock/state").json()
    template = doc["messages"][0]
    flow = template["flow"]
    filler = "x" * 4000
    next_id = max(m["id"] for m in doc["messages"]) + 1
    count = MAX_BODY_BYTES // 4000 + 200
    for i in range(count):
        message = dict(template, id=next_id + i, content=filler, uuid=None, thread_id=None, tags=[])
        doc["messages"].append(message)
    body = json.dumps(doc).encode()
    assert len(body) > MAX_BODY_BYTES
    response = client.put("/_mock/state", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text[:300]
    assert len(store.messages.log(flow).messages) >= count


# --- credentials never in clear -------------------------------------------------------------------
def _journal_text(client: Any) -> str:
    return json.dumps(client.get("/_mock/requests").json()) + client.get("/_mock/report").text


def test_journal__flow_token_in_a_body_without_content_type_is_redacted(
    app: Any, client: Any, store: Any
) -> None:
    app.runtime.journal.clear()
    flow_token = next(iter(store.sources.by_id.values())).flow_token
    client.post("/messages", content=json.dumps({"flow_token": flow_token, "event": "message"}).encode())
    client.post("/messages", content=f"flow_token={flow_token}&event=message&content=a".encode())
    assert flow_token not in _journal_text(client)


def test_journal__push_api_token_in_the_path_is_redacted_in_the_journal_and_the_log(
    app: Any, client: Any, store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app.runtime.journal.clear()
    flow = store.flows.by_id[next(iter(store.flows.by_id))]
    caplog.set_level(logging.INFO, logger="flowdock_mock")
    response = client.post(
        f"/messages/chat/{flow.api_token}", json={"content": "hi", "external_user_name": "ci"}
    )
    assert response.status_code < 500
    client.post(f"/messages/chat/{flow.api_token}", json={"content": "x" * 9000})  # a violation too
    assert flow.api_token not in _journal_text(client)
    assert flow.api_token not in caplog.text
    assert "[redacted]" in client.get("/_mock/requests").json()["requests"][-1]["path"]


def test_journal__oauth_secrets_in_a_form_are_redacted(app: Any, client: Any) -> None:
    from mock_server.world import OAUTH_APP

    app.runtime.journal.clear()
    client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": OAUTH_APP["client_id"],
            "client_secret": OAUTH_APP["client_secret"],
            "username": ALICE["email"],
            "password": ALICE["password"],
        },
    )
    assert OAUTH_APP["client_secret"] not in _journal_text(client)
    body = client.get("/_mock/requests").json()["requests"][-1]["body"]
    assert f"password={ALICE['password']}" not in body
    assert "password=%5Bredacted%5D" in body or "password=[redacted]" in body


# --- more absurd input: 4xx, never 500 ------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        '{"faults": {"listFlows": {"status": 500, "probability": NaN}}}',
        '{"faults": {"listFlows": {"status": 500}}, "seed": 1180591620717411303424}',
    ],
    ids=["nan-probability", "seed-beyond-64-bits"],
)
def test_replace_faults__unrepresentable_number_is_400_and_nothing_applied(client: Any, body: str) -> None:
    client.delete("/_mock/faults")
    before = client.get("/_mock/faults").json()
    response = raw_json(client, "PUT", "/_mock/faults", body)
    assert_error(response, 400, errors.VALIDATION_ERROR)
    assert client.get("/_mock/faults").json() == before


def test_oauth_authorize__unicode_digits_as_login_is_an_oauth_error(client: Any) -> None:
    from mock_server.world import OAUTH_APP

    response = client.get(
        "/oauth/authorize",
        params={"client_id": OAUTH_APP["client_id"], "response_type": "code", "login": "\u00b2"},
        follow_redirects=False,
    )
    assert response.status_code in (302, 400), response.text
    if response.status_code == 302:
        assert "error=" in response.headers["location"]


@pytest.mark.parametrize("length", ["\u00b2", "\u0661", "9" * 30])
def test_content_length_that_is_not_a_number__is_4xx(alice: Any, length: str) -> None:
    response = alice.post(
        f"{MAIN}/messages",
        content=b'{"event": "message", "content": "hi"}',
        headers={"content-type": "application/json", "content-length": length.encode("latin-1", "replace")},
    )
    assert 400 <= response.status_code < 500, response.text


@pytest.mark.parametrize("tag", [":unread:\u00b2", ":unread:" + "9" * 5000])
def test_unread_tag_with_a_strange_number__is_stored_as_a_tag(alice: Any, tag: str) -> None:
    response = alice.post(f"{MAIN}/messages", json={"event": "message", "content": "hi", "tags": [tag]})
    assert response.status_code in (201, 400), response.text
    assert alice.get(f"{MAIN}/messages").status_code == 200


def test_wait_for_event__nan_timeout_is_400_not_a_wait_forever(client: Any) -> None:
    response = client.get("/_mock/waits/event", params={"timeout": "NaN"})
    assert_error(response, 400, errors.VALIDATION_ERROR, {"timeout": [errors.NOT_A_NUMBER]})


def test_prefer_code__thousands_of_digits_is_400(alice: Any) -> None:
    response = alice.get("/flows", headers={"prefer": "code=" + "9" * 5000})
    assert response.status_code == 400, response.text
    assert "status" in response.json()["errors"]


# --- decisions ------------------------------------------------------------------------------------
def test_edit_message__after_a_truncating_delete_is_403_and_stays_deleted(alice: Any) -> None:
    posted = alice.post(f"{MAIN}/messages", json={"event": "message", "content": "oops"}).json()
    assert alice.delete(f"{MAIN}/messages/{posted['id']}").status_code == 200
    response = alice.put(f"{MAIN}/messages/{posted['id']}", json={"content": "back again"})
    assert_error(response, 403, errors.DELETED_MESSAGE)
    assert alice.get(f"{MAIN}/messages/{posted['id']}").json()["content"] == ""


def test_oauth_token__reusing_a_code_revokes_the_tokens_issued_from_it(client: Any) -> None:
    from mock_server.world import OAUTH_APP

    location = client.get(
        "/oauth/authorize",
        params={
            "client_id": OAUTH_APP["client_id"],
            "response_type": "code",
            "scope": "flow offline_access",
        },
        follow_redirects=False,
    ).headers["location"]
    code = location.split("code=")[1].split("&")[0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": OAUTH_APP["client_id"],
        "client_secret": OAUTH_APP["client_secret"],
    }
    first = client.post("/oauth/token", data=form, headers={"accept": "application/json"}).json()
    bearer = {"authorization": f"Bearer {first['access_token']}"}
    assert client.get("/flows", headers=bearer).status_code == 200
    refreshed = client.post(
        "/oauth/token",
        data={**form, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers={"accept": "application/json"},
    ).json()
    again = client.post("/oauth/token", data=form, headers={"accept": "application/json"})
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert client.get("/flows", headers=bearer).status_code == 401
    assert (
        client.get("/flows", headers={"authorization": f"Bearer {refreshed['access_token']}"}).status_code
        == 401
    )
