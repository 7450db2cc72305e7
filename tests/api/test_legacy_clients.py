"""What published clients still do beyond the contract, in compatible and in strict mode.

The 2011 Push API name (python-flowdock 0.1), a flow's API token where a flow_token belongs (the
Ruby gem's ``post_to_thread`` users), sources made with a personal API token (the Ruby gem), file
paths that strict HTTP clients can request, and credentials judged before the body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import errors
from mock_server.app import create_app
from tests.conftest import assert_error

ALICE_TOKEN = "a11ce0000000000000000000000000a1"
MAIN = "/flows/acme/main/messages"
INBOX = {"source": "Jenkins", "from_address": "ci@example.com", "subject": "Build 7", "content": "<b>ok</b>"}


@pytest.fixture(scope="module")
def apps() -> dict[str, Any]:
    return {"compatible": create_app(strict=False), "strict": create_app(strict=True)}


@pytest.fixture(params=["compatible", "strict"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(mode: str, apps: dict[str, Any]) -> Iterator[Any]:
    chosen = apps[mode]
    chosen.store.reset()
    yield chosen


@pytest.fixture
def anonymous(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def alice(app: Any) -> Any:
    c = app.test_client()
    c.auth = (ALICE_TOKEN, "")
    return c


def flow_api_token(app: Any, name: str = "main") -> str:
    return next(f.api_token for f in app.store.flows.by_id.values() if f.parameterized_name == name)


def journal_rules(app: Any) -> list[str]:
    """The legacy rules the journal recorded for the last request: applied, or refused (strict)."""
    entry = app.test_client().get("/_mock/requests", params={"limit": 1}).json()["requests"][-1]
    refused = [
        rule for rule in errors.LEGACY_RULE_TEXTS if any(f"(rule: {rule})" in v for v in entry["violations"])
    ]
    return list(entry["normalizations"]) + refused


def newest(alice: Any, flow: str = "main") -> dict[str, Any]:
    got: dict[str, Any] = alice.get(f"/flows/acme/{flow}/messages", params={"limit": 1}).json()[0]
    return got


# --- the 2011 team-inbox name -------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["", "/v1", "/v2"])
def test_influx_push__is_the_team_inbox_push(
    mode: str, app: Any, anonymous: Any, alice: Any, prefix: str
) -> None:
    r = anonymous.post(f"{prefix}/messages/influx/{flow_api_token(app)}", data=INBOX)
    if mode == "strict":
        assert r.status_code == 400
        assert errors.rule_text(errors.RULE_INFLUX_PUSH) in r.json()["errors"]["path"]
        assert (
            newest(alice)["app"] != "influx" or newest(alice).get("content", {}).get("subject") != "Build 7"
        )
        return
    assert (r.status_code, r.json()) == (200, {})
    m = newest(alice)
    assert (m["app"], m["content"]["subject"]) == ("influx", "Build 7")
    assert ":source:Jenkins" in m["tags"]


def test_influx_push__comma_joined_tokens_reach_every_flow(
    mode: str, app: Any, anonymous: Any, alice: Any
) -> None:
    tokens = f"{flow_api_token(app)},{flow_api_token(app, 'dev')}"
    r = anonymous.post(f"/v1/messages/influx/{tokens}", json=INBOX)
    if mode == "strict":
        assert r.status_code == 400
        return
    assert r.status_code == 200, r.text
    assert newest(alice)["content"]["subject"] == newest(alice, "dev")["content"]["subject"] == "Build 7"


def test_influx_push__unknown_token_is_404_and_the_rule_is_journaled(
    mode: str, app: Any, anonymous: Any
) -> None:
    r = anonymous.post("/messages/influx/nosuchtoken", json=INBOX)
    assert r.status_code == (400 if mode == "strict" else 404)
    assert errors.RULE_INFLUX_PUSH in journal_rules(app)


# --- a flow's API token where a flow_token belongs ----------------------------------------------
def test_flow_api_token__posts_as_the_flows_default_source(
    mode: str, app: Any, anonymous: Any, alice: Any
) -> None:
    body = {"event": "message", "content": "deployed", "flow_token": flow_api_token(app)}
    r = anonymous.post("/messages", json=body)
    if mode == "strict":
        assert_error(r, 401, errors.rule_text(errors.RULE_FLOW_API_TOKEN))
        assert newest(alice)["content"] != "deployed"
        return
    assert (r.status_code, r.json()) == (202, {})
    assert errors.RULE_FLOW_API_TOKEN in journal_rules(app)
    m = newest(alice)
    assert (m["content"], m["user"]) == ("deployed", "0")
    # created on first use, then reused
    again = anonymous.post(
        "/messages", params={"flow_token": flow_api_token(app)}, json={**body, "content": "again"}
    )
    assert again.status_code == 202, again.text
    defaults = [s for s in alice.get("/flows/acme/main/sources").json() if s["name"] == "API token"]
    assert len(defaults) == 1 and defaults[0]["application"] is None


def test_flow_api_token__opens_an_integration_thread(mode: str, app: Any, anonymous: Any, alice: Any) -> None:
    body = {
        "flow_token": flow_api_token(app),
        "event": "activity",
        "author": {"name": "CI"},
        "title": "deployed v2",
        "external_thread_id": "deploy-2",
        "thread": {"title": "Deploy v2"},
    }
    r = anonymous.post("/messages", json=body)
    assert r.status_code == (401 if mode == "strict" else 202), r.text
    if mode == "compatible":
        m = newest(alice)
        assert (m["event"], m["title"]) == ("activity", "deployed v2")
        assert alice.get(f"/flows/acme/main/threads/{m['thread_id']}").json()["source"]["name"] == "API token"


def test_flow_api_token__lists_and_updates_its_source(mode: str, app: Any, anonymous: Any) -> None:
    token = flow_api_token(app)
    listed = anonymous.get("/sources", params={"flow_token": token})
    updated = anonymous.put("/sources", params={"flow_token": token}, json={"error_message": "down"})
    if mode == "strict":
        assert (listed.status_code, updated.status_code) == (401, 401)
        return
    assert [s["name"] for s in listed.json()] == ["API token"]
    assert updated.json()["error_message"] == "down"


def test_flow_api_token__an_unknown_token_is_still_401(anonymous: Any) -> None:
    r = anonymous.post("/messages", json={"event": "message", "content": "x", "flow_token": "0" * 32})
    assert_error(r, 401, errors.INVALID_CREDENTIALS)


# --- sources created with a personal API token ----------------------------------------------------
def test_personal_token__creates_renames_and_deletes_a_source(mode: str, app: Any, alice: Any) -> None:
    r = alice.post("/flows/acme/main/sources", json={"name": "Deploys"})
    if mode == "strict":
        assert_error(r, 403, errors.rule_text(errors.RULE_PERSONAL_TOKEN_SOURCE))
        assert "Deploys" not in [s["name"] for s in alice.get("/flows/acme/main/sources").json()]
        return
    assert r.status_code == 201, r.text
    created = r.json()
    assert (
        created["application"] is None and created["creator"]["id"] == 1 and len(created["flow_token"]) == 32
    )
    assert errors.RULE_PERSONAL_TOKEN_SOURCE in journal_rules(app)
    source = f"/flows/acme/main/sources/{created['id']}"
    assert alice.put(source, json={"name": "Deploys (prod)"}).json()["name"] == "Deploys (prod)"
    posted = app.test_client().post(
        "/messages", json={"event": "message", "content": "shipped", "flow_token": created["flow_token"]}
    )
    assert posted.status_code == 202
    assert alice.delete(source).status_code == 204
    assert alice.get(source).status_code == 404


def test_personal_token__renames_and_deletes_existing_sources_in_both_modes(alice: Any) -> None:
    assert alice.put("/flows/acme/main/sources/1", json={"name": "acme/api (old)"}).status_code == 200
    assert alice.delete("/flows/acme/main/sources/1").status_code == 204


# --- file paths are URLs --------------------------------------------------------------------------
def upload(alice: Any, name: str) -> dict[str, Any]:
    r = alice.post(MAIN, data={"event": "file"}, files={"content": (name, b"notes", "text/plain")})
    assert r.status_code == 201, r.text
    got: dict[str, Any] = r.json()
    return got


def test_file_paths__the_name_segment_is_percent_encoded(alice: Any) -> None:
    m = upload(alice, "release notes #1.txt")
    assert m["content"]["path"].endswith("/release%20notes%20%231.txt")
    assert m["attachments"][0]["path"] == m["content"]["path"]
    assert m["content"]["file_name"] == "release notes #1.txt"


def test_file_paths__download_takes_the_encoded_and_the_raw_name(alice: Any) -> None:
    m = upload(alice, "release notes.txt")
    encoded = m["content"]["path"]
    raw = encoded.replace("%20", " ")  # the client encodes the space itself
    twice = encoded.replace("%20", "%2520")  # a client that encoded the path it was given
    for path in (encoded, raw, twice):
        r = alice.get(path, follow_redirects=False)
        assert r.status_code == 302, (path, r.text)
        assert alice.get(r.headers["Location"]).content == b"notes"


def test_file_paths__a_directory_in_the_name_is_dropped(alice: Any) -> None:
    m = upload(alice, "../../x.txt")
    assert m["content"]["file_name"] == "x.txt" and m["content"]["path"].endswith("/x.txt")
    assert alice.get(m["content"]["path"], follow_redirects=False).status_code == 302


def test_file_paths__the_default_worlds_file_is_encoded_and_downloadable(alice: Any) -> None:
    m = next(m for m in alice.get(MAIN, params={"event": "file"}).json() if m["event"] == "file")
    assert m["content"]["path"].endswith("/release%20notes.txt")
    assert alice.get(m["content"]["path"], follow_redirects=False).status_code == 302


# --- credentials before the body -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/messages", {}),
        ("POST", "/messages", {"event": "message"}),
        ("POST", "/messages", {"flow": "x", "content": ""}),
        ("PUT", "/sources", {"name": ""}),
        ("POST", MAIN, {"event": "nope"}),
        ("PUT", "/users/1", {"email": "not an email"}),
        ("POST", "/flows/acme", {}),
    ],
)
def test_no_credentials__401_before_the_body_is_judged(
    anonymous: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    assert_error(anonymous.request(method, path, json=body), 401, errors.AUTHENTICATION_REQUIRED)


def test_unknown_body_flow_token__401_before_the_body_is_judged(anonymous: Any) -> None:
    r = anonymous.post("/messages", json={"flow_token": "f" * 32, "event": "nope"})
    assert_error(r, 401, errors.INVALID_CREDENTIALS)


def test_deleted_sources_token__410_before_the_body_is_judged(app: Any, anonymous: Any) -> None:
    token = app.store.sources.by_id[1].flow_token
    app.store.sources.by_id[1].deleted = True
    assert anonymous.post("/messages", json={"flow_token": token, "event": "nope"}).status_code == 410


def test_push_form__tags_are_one_comma_joined_field_in_both_modes(
    app: Any, anonymous: Any, alice: Any
) -> None:
    # the contract's own form body (PushChatForm): a form field is text, tags joined by commas
    form = {"content": "Build 42 passed", "external_user_name": "CI", "tags": "ci,build"}
    r = anonymous.post(f"/messages/chat/{flow_api_token(app)}", data=form)
    assert (r.status_code, r.json()) == (200, {})
    assert {"ci", "build"} <= set(newest(alice)["tags"])
    repeated = anonymous.post(f"/messages/chat/{flow_api_token(app)}", data={**form, "tags": ["a", "b"]})
    assert repeated.status_code == 200, repeated.text
    assert {"a", "b"} <= set(newest(alice)["tags"])
