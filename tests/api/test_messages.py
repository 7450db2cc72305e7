"""Messages: posting every event type, listing, show, edit, delete, comments, integration posts
and the Push API, through the app with response validation on."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mock_server import errors
from tests.conftest import assert_error

MAIN = "/flows/acme/main/messages"


def flow_id(store: Any, name: str = "main") -> str:
    return next(f.id for f in store.flows.by_id.values() if f.parameterized_name == name)


def post(client: Any, store: Any, **body: Any) -> Any:
    return client.post("/messages", json={"flow": flow_id(store), **body})


def chat(client: Any, store: Any, content: str = "hello", **body: Any) -> dict[str, Any]:
    r = post(client, store, event="message", content=content, **body)
    assert r.status_code == 201, r.text
    return r.json()


# --- sendMessage / sendFlowMessage ----------------------------------------------------------------
def test_send_message__returns_201_with_the_full_message(alice, store) -> None:
    r = post(alice, store, event="message", content="hello", uuid="abc123", tags=["x"])
    assert r.status_code == 201
    m = r.json()
    assert m["event"] == "message" and m["content"] == "hello" and m["flow"] == flow_id(store)
    assert m["user"] == "1" and isinstance(m["sent"], int) and m["uuid"] == "abc123" and m["app"] == "chat"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", m["created_at"])
    assert m["attachments"] == [] and m["edited"] is None and m["tags"] == ["x"]


def test_send_message__ids_grow_within_the_flow(alice, store) -> None:
    first, second = chat(alice, store), chat(alice, store)
    assert second["id"] == first["id"] + 1
    assert first["id"] > max(m.id for m in store.messages.log(flow_id(store)).messages[:-2])


def test_send_message__every_chat_message_opens_its_own_thread(alice, store) -> None:
    m = chat(alice, store, "first words")
    assert m["thread"]["id"] == m["thread_id"] and m["thread"]["initial_message"] == m["id"]
    assert m["thread"]["title"] == "first words" and m["thread"]["internal_comments"] == 1
    assert chat(alice, store)["thread_id"] != m["thread_id"]


def test_send_message__thread_id_replies_in_that_thread(alice, store) -> None:
    root = chat(alice, store)
    reply = chat(alice, store, "reply", thread_id=root["thread_id"])
    assert reply["thread_id"] == root["thread_id"]
    assert reply["thread"]["initial_message"] == root["id"] and reply["thread"]["internal_comments"] == 2


def test_send_message__unknown_thread_id_is_400(alice, store) -> None:
    r = post(alice, store, event="message", content="x", thread_id="nope")
    assert_error(r, 400, errors.VALIDATION_ERROR, {"thread_id": [errors.INVALID]})


def test_send_message__same_uuid_returns_the_first_message(alice, store) -> None:
    first = chat(alice, store, "once", uuid="retry-1")
    again = post(alice, store, event="message", content="once", uuid="retry-1")
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert len(alice.get(MAIN, params={"search": "once"}).json()) == 1


def test_send_message__status_has_no_thread(alice, store) -> None:
    r = post(alice, store, event="status", content="coding")
    assert r.status_code == 201 and r.json()["event"] == "status" and "thread_id" not in r.json()


def test_send_message__blank_content_is_400(alice, store) -> None:
    r = post(alice, store, event="message", content="   ")
    assert_error(r, 400, errors.VALIDATION_ERROR, {"content": [errors.BLANK]})


def test_send_message__content_over_8096_characters_is_400(alice, store) -> None:
    r = post(alice, store, event="message", content="x" * 8097)
    assert r.status_code == 400
    assert chat(alice, store, "x" * 8096)["content"] == "x" * 8096


def test_send_message__missing_flow_is_400(alice) -> None:
    r = alice.post("/messages", json={"event": "message", "content": "x"})
    assert_error(r, 400, errors.VALIDATION_ERROR, {"flow": [errors.BLANK]})


def test_send_message__invisible_flow_is_404_and_unjoined_is_403(alice, store) -> None:
    assert_error(post_to(alice, store, "secret"), 404, errors.NOT_FOUND)
    assert_error(post_to(alice, store, "random"), 403, errors.NOT_A_MEMBER)


def post_to(client: Any, store: Any, name: str) -> Any:
    return client.post("/messages", json={"flow": flow_id(store, name), "event": "message", "content": "x"})


def test_send_message__without_credentials_or_flow_token_is_401(client, store) -> None:
    assert_error(post(client, store, event="message", content="x"), 401, errors.AUTHENTICATION_REQUIRED)


def test_send_message__external_user_name_posts_anonymously(alice, store) -> None:
    m = chat(alice, store, "from CI", external_user_name="ci-bot")
    assert m["user"] == "0" and m["external_user_name"] == "ci-bot"


def test_send_flow_message__posts_to_the_path_flow(alice, store) -> None:
    r = alice.post("/flows/acme/dev/messages", json={"event": "message", "content": "dev talk"})
    assert r.status_code == 201 and r.json()["flow"] == flow_id(store, "dev")


def test_send_flow_message__activity_by_a_user_is_an_inbox_item(alice, store) -> None:
    body = {
        "event": "activity",
        "title": "deployed",
        "author": {"name": "Deployer"},
        "external_thread_id": "deploy-1",
        "thread": {"title": "Deploy #1", "status": {"color": "green", "value": "ok"}},
    }
    m = alice.post(MAIN, json=body).json()
    assert m["app"] == "influx" and m["user"] == "0" and m["content"] is None and m["title"] == "deployed"
    assert m["thread"]["title"] == "Deploy #1" and m["thread"]["activities"] == 1
    assert m["thread"]["status"] == {"color": "green", "value": "ok"}


def test_send_flow_message__discussion_without_thread_ids_is_400(alice) -> None:
    r = alice.post(MAIN, json={"event": "discussion", "title": "said", "author": {"name": "X"}})
    assert_error(r, 400, errors.VALIDATION_ERROR, {"external_thread_id": [errors.BLANK]})


# --- tags (docs/flowdock.md §5) ---------------------------------------------------------------------
def test_send_message__generates_tags_after_the_explicit_ones(alice, store) -> None:
    m = chat(alice, store, "Howdy @bob #Awesome see https://example.com", tags=["todo", "#Feedback", "@all"])
    members = [u for u in sorted(store.flows.by_id[flow_id(store)].members) if u != 1]
    expected = [
        "todo",
        "feedback",
        ":user:everyone",
        *[f":unread:{u}" for u in members],
        ":user:2",
        "awesome",
        ":url",
    ]
    assert m["tags"] == expected


def test_send_message__mention_of_an_unknown_nick_is_a_group_tag(alice, store) -> None:
    assert chat(alice, store, "ping @team")["tags"] == [":user:team"]


def test_send_message__duplicate_tags_are_dropped_keeping_order(alice, store) -> None:
    assert chat(alice, store, "#a #b", tags=["b", "c", "a"])["tags"] == ["b", "c", "a"]


def test_send_message__plain_nick_adds_highlight(alice, store) -> None:
    assert chat(alice, store, "thanks bob")["tags"] == [":highlight:2"]


def test_send_message__comma_string_tags_are_accepted(alice, store) -> None:
    assert chat(alice, store, "x", tags="one, two")["tags"] == ["one", "two"]


# --- listFlowMessages --------------------------------------------------------------------------------
def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()]


def post_many(client: Any, store: Any, n: int, **body: Any) -> list[int]:
    return [chat(client, store, f"msg {i}", **body)["id"] for i in range(n)]


def test_list_flow_messages__default_limit_is_30_newest_ascending(alice, store) -> None:
    posted = post_many(alice, store, 35)
    assert ids(alice.get(MAIN)) == posted[-30:]


def test_list_flow_messages__limit_over_100_is_400(alice) -> None:
    assert alice.get(MAIN, params={"limit": 101}).status_code == 400
    assert alice.get(MAIN, params={"limit": 100}).status_code == 200


def test_list_flow_messages__sort_asc_takes_the_oldest_end(alice, store) -> None:
    assert ids(alice.get(MAIN, params={"sort": "asc", "limit": 3})) == [1, 2, 3]


def test_list_flow_messages__since_id_is_exclusive(alice, store) -> None:
    assert ids(alice.get(MAIN, params={"since_id": 5, "sort": "asc", "limit": 2})) == [6, 7]


def test_list_flow_messages__until_id_is_exclusive(alice, store) -> None:
    assert ids(alice.get(MAIN, params={"until_id": 5, "limit": 2})) == [3, 4]


def test_list_flow_messages__since_and_until_bound_both_ends(alice, store) -> None:
    assert ids(alice.get(MAIN, params={"since_id": 3, "until_id": 7})) == [4, 5, 6]


def test_list_flow_messages__event_filter_takes_a_comma_list(alice, store) -> None:
    post(alice, store, event="status", content="busy")
    body = alice.get(MAIN, params={"event": "status,comment", "limit": 100}).json()
    assert body and {m["event"] for m in body} == {"status", "comment"}


def test_list_flow_messages__tags_and_by_default(alice, store) -> None:
    a = chat(alice, store, "x", tags=["red", "blue"])["id"]
    chat(alice, store, "y", tags=["red"])
    assert ids(alice.get(MAIN, params={"tags": "red,blue"})) == [a]


def test_list_flow_messages__tag_mode_or(alice, store) -> None:
    a = chat(alice, store, "x", tags=["red"])["id"]
    b = chat(alice, store, "y", tags=["blue"])["id"]
    assert ids(alice.get(MAIN, params={"tags": "red,blue", "tag_mode": "or"})) == [a, b]


def test_list_flow_messages__at_nick_matches_user_tag(alice, store) -> None:
    m = chat(alice, store, "hey @bob")["id"]
    assert m in ids(alice.get(MAIN, params={"tags": "@bob"}))
    assert ids(alice.get(MAIN, params={"tags": "@bob"})) == ids(alice.get(MAIN, params={"tags": ":user:2"}))


def test_list_flow_messages__search_matches_whole_words_only(alice, store) -> None:
    k = chat(alice, store, "the keywords are here")["id"]
    chat(alice, store, "a keyword alone")
    assert ids(alice.get(MAIN, params={"search": "keywords"})) == [k]
    assert ids(alice.get(MAIN, params={"search": "keywords here"})) == [k]
    assert ids(alice.get(MAIN, params={"search": "keywords missing"})) == []


def test_list_flow_messages__search_ignores_id_bounds(alice, store) -> None:
    k = chat(alice, store, "zebra")["id"]
    assert ids(alice.get(MAIN, params={"search": "zebra", "until_id": 1})) == [k]


def test_list_flow_messages__skip_drops_the_newest_matches(alice, store) -> None:
    posted = post_many(alice, store, 4, tags=["batch"])
    assert ids(alice.get(MAIN, params={"tags": "batch", "skip": 1, "limit": 2})) == posted[1:3]


def test_list_flow_messages__app_filter(alice, store) -> None:
    body = alice.get(MAIN, params={"app": "influx", "limit": 100}).json()
    assert body and {m["app"] for m in body} == {"influx"}


def test_list_flow_messages__unjoined_flow_is_403(alice) -> None:
    assert_error(alice.get("/flows/acme/random/messages"), 403, errors.NOT_A_MEMBER)


# --- showMessage / editMessage / deleteMessage --------------------------------------------------------
def test_show_message__returns_the_message(alice, store) -> None:
    m = chat(alice, store, "show me")
    assert alice.get(f"{MAIN}/{m['id']}").json() == m


def test_show_message__unknown_id_is_404(alice) -> None:
    assert_error(alice.get(f"{MAIN}/99999"), 404, errors.NOT_FOUND)


def test_edit_message__content_by_its_author(alice, store) -> None:
    m = chat(alice, store, "typo")
    r = alice.put(f"{MAIN}/{m['id']}", json={"content": "fixed"})
    assert r.status_code == 200 and r.json() == {}
    shown = alice.get(f"{MAIN}/{m['id']}").json()
    assert shown["content"] == "fixed" and isinstance(shown["edited"], int) and shown["edited_at"]


def test_edit_message__content_of_someone_elses_message_is_403(alice, bob, store) -> None:
    m = chat(bob, store, "mine")
    assert_error(alice.put(f"{MAIN}/{m['id']}", json={"content": "x"}), 403, errors.NOT_YOUR_MESSAGE)


def test_edit_message__content_of_a_status_is_403(alice, store) -> None:
    m = post(alice, store, event="status", content="busy").json()
    assert_error(alice.put(f"{MAIN}/{m['id']}", json={"content": "x"}), 403, errors.NOT_EDITABLE)


def test_edit_message__tags_by_anyone_replace_and_dedup(alice, bob, store) -> None:
    m = chat(bob, store, "see https://x.io")
    r = alice.put(f"{MAIN}/{m['id']}", json={"tags": ["ref", ":user:team", "ref", ":url"]})
    assert r.status_code == 200 and r.json() == {}
    assert alice.get(f"{MAIN}/{m['id']}").json()["tags"] == ["ref", ":user:team", ":url"]


def test_edit_message__removing_unread_tag_updates_unread_mentions(alice, bob, store) -> None:
    before = alice.get("/flows/acme/main").json()["unread_mentions"]
    m = chat(bob, store, "@alice look")
    assert alice.get("/flows/acme/main").json()["unread_mentions"] == before + 1
    alice.put(f"{MAIN}/{m['id']}", json={"tags": [":user:1"]})
    assert alice.get("/flows/acme/main").json()["unread_mentions"] == before


def test_delete_message__own_chat_is_truncated_with_200(alice, store) -> None:
    m = chat(alice, store, "oops")
    r = alice.delete(f"{MAIN}/{m['id']}")
    assert r.status_code == 200 and r.json() == {}
    shown = alice.get(f"{MAIN}/{m['id']}").json()
    assert shown["content"] == "" and shown["edited"] is not None
    assert m["id"] in ids(alice.get(MAIN))


def test_delete_message__inbox_item_is_removed_with_204_then_404(alice, store) -> None:
    item = next(m for m in store.messages.log(flow_id(store)).messages if m.event == "activity")
    r = alice.delete(f"{MAIN}/{item.id}")
    assert r.status_code == 204 and r.content == b""
    assert_error(alice.get(f"{MAIN}/{item.id}"), 404, errors.NOT_FOUND)
    assert item.id not in ids(alice.get(MAIN, params={"limit": 100}))


def test_delete_message__someone_elses_chat_is_403(alice, bob, store) -> None:
    m = chat(bob, store, "bob's")
    assert_error(alice.delete(f"{MAIN}/{m['id']}"), 403, errors.NOT_DELETABLE)


# --- comments -------------------------------------------------------------------------------------------
def test_create_comment__stores_title_text_and_influx_tag(alice, store) -> None:
    parent = chat(alice, store, "parent text")
    r = alice.post("/comments", json={"flow": flow_id(store), "message": parent["id"], "content": "nice"})
    assert r.status_code == 201
    c = r.json()
    assert c["event"] == "comment" and c["content"] == {"title": "parent text", "text": "nice"}
    assert c["tags"] == [f"influx:{parent['id']}"] and c["thread_id"] == parent["thread_id"]


def test_create_message_comment__takes_the_parent_from_the_path(alice, store) -> None:
    parent = chat(alice, store)
    r = alice.post(f"{MAIN}/{parent['id']}/comments", json={"content": "+1"})
    assert r.status_code == 201 and f"influx:{parent['id']}" in r.json()["tags"]
    assert ids(alice.get(MAIN, params={"tags": f"influx:{parent['id']}"})) == [r.json()["id"]]


def test_create_comment__on_a_comment_is_400(alice, store) -> None:
    parent = chat(alice, store)
    c = alice.post(f"{MAIN}/{parent['id']}/comments", json={"content": "one"}).json()
    r = alice.post(f"{MAIN}/{c['id']}/comments", json={"content": "two"})
    assert_error(r, 400, errors.VALIDATION_ERROR, {"message": [errors.COMMENT_ON_COMMENT]})


def test_create_comment__unknown_parent_is_404(alice, store) -> None:
    r = alice.post("/comments", json={"flow": flow_id(store), "message": 99999, "content": "x"})
    assert_error(r, 404, errors.NOT_FOUND)


def test_edit_message__comment_content_edits_the_text(alice, store) -> None:
    parent = chat(alice, store, "p")
    c = alice.post(f"{MAIN}/{parent['id']}/comments", json={"content": "old"}).json()
    alice.put(f"{MAIN}/{c['id']}", json={"content": "new"})
    assert alice.get(f"{MAIN}/{c['id']}").json()["content"] == {"title": "p", "text": "new"}


# --- integration posts (docs/flowdock.md §8.3) -------------------------------------------------------------
def activity(token: str, **extra: Any) -> dict[str, Any]:
    return {
        "flow_token": token,
        "event": "activity",
        "title": "opened PR",
        "author": {"name": "Octocat"},
        "external_thread_id": "pr-9000",
        "thread": {"title": "Add feature", "status": {"color": "blue", "value": "open"}},
        **extra,
    }


def test_send_message__flow_token_activity_is_202_empty(client, store) -> None:
    token = store.sources.by_id[1].flow_token
    r = client.post("/messages", json=activity(token))
    assert r.status_code == 202 and r.json() == {}
    stored = store.messages.log(flow_id(store)).messages[-1]
    assert stored.user == 0 and stored.app == "influx" and stored.event == "activity"


def test_send_message__flow_token_in_the_query(client, store) -> None:
    token = store.sources.by_id[1].flow_token
    body = activity(token)
    del body["flow_token"]
    assert client.post("/messages", params={"flow_token": token}, json=body).status_code == 202


def test_send_message__flow_token_upserts_the_thread_by_external_id(client, alice, store) -> None:
    token = store.sources.by_id[1].flow_token
    client.post("/messages", json=activity(token))
    later = activity(
        token, event="discussion", title="commented", body="LGTM", thread={"title": "Add feature v2"}
    )
    assert client.post("/messages", json=later).status_code == 202
    last = alice.get(MAIN, params={"limit": 2}).json()
    assert last[0]["thread_id"] == last[1]["thread_id"]
    thread = last[1]["thread"]
    assert (
        thread["title"] == "Add feature v2" and thread["activities"] == 1 and thread["external_comments"] == 1
    )
    assert thread["source"]["id"] == 1 and thread["status"] is None


def test_send_message__flow_token_new_thread_without_title_is_400(client, store) -> None:
    token = store.sources.by_id[1].flow_token
    r = client.post(
        "/messages", json=activity(token, external_thread_id="new-one", thread={"body": "no title"})
    )
    assert r.status_code == 400 and r.json()["message"] == errors.VALIDATION_ERROR


def test_send_message__flow_token_new_thread_without_thread_is_400(client, store) -> None:
    token = store.sources.by_id[1].flow_token
    body = activity(token, external_thread_id="brand-new")
    del body["thread"]
    assert_error(
        client.post("/messages", json=body), 400, errors.VALIDATION_ERROR, {"thread": [errors.BLANK]}
    )


def test_send_message__deleted_source_flow_token_is_410(client, store) -> None:
    store.sources.by_id[1].deleted = True
    r = client.post("/messages", json=activity(store.sources.by_id[1].flow_token))
    assert r.status_code == 410


def test_send_message__unknown_flow_token_is_401(client) -> None:
    assert client.post("/messages", json=activity("f" * 32)).status_code == 401


# --- Push API (docs/flowdock.md §8.2) -------------------------------------------------------------------------
def api_token(store: Any, name: str = "main") -> str:
    return store.flows.by_id[flow_id(store, name)].api_token


def test_push_chat_message__posts_anonymously_and_answers_empty(client, alice, store) -> None:
    r = client.post(
        f"/messages/chat/{api_token(store)}", json={"content": "build ok", "external_user_name": "CI"}
    )
    assert r.status_code == 200 and r.json() == {}
    m = alice.get(MAIN, params={"limit": 1}).json()[0]
    assert m["content"] == "build ok" and m["user"] == "0" and m["external_user_name"] == "CI"


def test_push_chat_message__comma_joined_tokens_post_to_each_flow(client, alice, store) -> None:
    tokens = f"{api_token(store)},{api_token(store, 'dev')}"
    assert (
        client.post(
            f"/messages/chat/{tokens}", json={"content": "both", "external_user_name": "CI"}
        ).status_code
        == 200
    )
    for path in (MAIN, "/flows/acme/dev/messages"):
        assert alice.get(path, params={"limit": 1}).json()[0]["content"] == "both"


def test_push_chat_message__unknown_token_is_404(client) -> None:
    r = client.post("/messages/chat/nope", json={"content": "x", "external_user_name": "CI"})
    assert_error(r, 404, errors.NOT_FOUND)


def test_push_chat_message__message_id_makes_a_comment(client, alice, store) -> None:
    parent = chat(alice, store)
    body = {"content": "re", "external_user_name": "CI", "message_id": parent["id"]}
    client.post(f"/messages/chat/{api_token(store)}", json=body)
    m = alice.get(MAIN, params={"limit": 1}).json()[0]
    assert m["event"] == "comment" and f"influx:{parent['id']}" in m["tags"]


def test_push_team_inbox_message__creates_an_influx_item_tagged_with_its_source(client, alice, store) -> None:
    body = {
        "source": "Jenkins",
        "from_address": "ci@example.com",
        "subject": "Build 7",
        "content": "<b>ok</b>",
        "tags": ["ci"],
    }
    r = client.post(f"/messages/team_inbox/{api_token(store)}", json=body)
    assert r.status_code == 200 and r.json() == {}
    m = alice.get(MAIN, params={"limit": 1}).json()[0]
    assert (
        m["app"] == "influx"
        and m["tags"] == ["ci", ":source:Jenkins"]
        and m["content"]["subject"] == "Build 7"
    )


@pytest.mark.parametrize("missing", ["source", "from_address", "subject", "content"])
def test_push_team_inbox_message__required_fields(client, store, missing) -> None:
    body = {"source": "Jenkins", "from_address": "ci@example.com", "subject": "Build 7", "content": "ok"}
    del body[missing]
    r = client.post(f"/messages/team_inbox/{api_token(store)}", json=body)
    assert r.status_code == 400 and missing in r.json()["errors"]


# --- one message, every view ----------------------------------------------------------------------------------
def test_posted_message_is_visible_through_every_endpoint(alice, store) -> None:
    m = alice.post(MAIN, json={"event": "message", "content": "everywhere"}).json()
    base = "/flows/acme/main/threads/" + m["thread_id"]
    assert m["id"] in ids(alice.get(MAIN))
    assert alice.get(f"{MAIN}/{m['id']}").json()["content"] == "everywhere"
    assert ids(alice.get(base + "/messages")) == [m["id"]]
    assert alice.get(base).json()["internal_comments"] == 1
    assert alice.get("/flows/acme/main").json()["last_message_id"] == m["id"]


def test_send_message__comment_event_with_a_parent_id(alice, store) -> None:
    parent = chat(alice, store, "parent")
    r = post(alice, store, event="comment", message=parent["id"], content="via /messages")
    assert r.status_code == 201
    assert r.json()["content"] == {"title": "parent", "text": "via /messages"}
    assert r.json()["tags"] == [f"influx:{parent['id']}"]
