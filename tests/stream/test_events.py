"""The event log (store/events.py): every write emits the event Flowdock streamed (docs/flowdock.md §4.2).

Each test makes one write over the REST API and asserts on the events the log handed to a
subscriber: their types, where they go (flow, private pair, one user) and their content.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.store import Store, StoreConfig
from mock_server.store.events import Event, EventLog, route
from tests.conftest import ALICE, BOB, CAROL_ID, DAVE_ID
from tests.stream.asyncapi import assert_valid_event

MAIN = "/flows/acme/main/messages"


@pytest.fixture
def seen(store: Store) -> Iterator[list[Event]]:
    """Every event emitted during the test, in order (each one checked against the AsyncAPI doc)."""
    got: list[Event] = []
    unsubscribe = store.events.subscribe(got.append)
    yield got
    unsubscribe()
    for event in got:
        assert_valid_event(event.body)


def flow_id(store: Store, org: str = "acme", flow: str = "main") -> str:
    found = store.flows.find(org, flow)
    assert found is not None
    return found.id


def types(events: list[Event]) -> list[str]:
    return [e.body["event"] for e in events]


# --- posts ---------------------------------------------------------------------------------------
def test_chat_message__streams_the_stored_message(alice, store, seen) -> None:
    m = alice.post(MAIN, json={"event": "message", "content": "hi @bob", "uuid": "u-1"}).json()
    assert types(seen) == ["message"]
    assert seen[0].body == m  # the same object REST answered, thread included
    assert seen[0].flow == m["flow"] and seen[0].seq == store.events.last_seq


@pytest.mark.parametrize("event", ["status", "message"])
def test_status_and_message__one_event_each(alice, seen, event) -> None:
    alice.post(MAIN, json={"event": event, "content": "busy"})
    assert types(seen) == [event]


def test_repeated_uuid__stores_and_streams_once(alice, seen) -> None:
    alice.post(MAIN, json={"event": "message", "content": "once", "uuid": "same"})
    alice.post(MAIN, json={"event": "message", "content": "once", "uuid": "same"})
    assert types(seen) == ["message"]


def test_comment__streams_title_text_and_influx_tag(alice, seen) -> None:
    parent = alice.post(MAIN, json={"event": "message", "content": "parent"}).json()
    alice.post(f"{MAIN}/{parent['id']}/comments", json={"content": "+1"})
    comment = seen[-1].body
    assert comment["event"] == "comment" and comment["content"] == {"title": "parent", "text": "+1"}
    assert f"influx:{parent['id']}" in comment["tags"]


def test_file__streams_the_file_message(alice, seen) -> None:
    r = alice.post(MAIN, data={"event": "file"}, files={"content": ("a.txt", b"abc", "text/plain")})
    assert r.status_code == 201
    assert types(seen) == ["file"] and seen[0].body["content"]["file_name"] == "a.txt"
    assert seen[0].body["attachments"] == [seen[0].body["content"]]


def test_activity_and_discussion_by_flow_token__stream_as_user_0(client, store, seen) -> None:
    token = store.sources.by_id[1].flow_token
    base = {"flow_token": token, "author": {"name": "CI"}, "external_thread_id": "build-1"}
    client.post("/messages", json={**base, "event": "activity", "title": "started", "thread": {"title": "B"}})
    client.post("/messages", json={**base, "event": "discussion", "title": "said", "body": "<p>x</p>"})
    assert types(seen) == ["activity", "discussion"]
    assert all(e.body["user"] == "0" and e.body["app"] == "influx" for e in seen)
    assert seen[1].body["thread"]["external_comments"] == 1


def test_push_chat_and_team_inbox__stream_message_and_mail(client, store, seen) -> None:
    token = store.flows.by_id[flow_id(store)].api_token
    client.post(f"/messages/chat/{token}", json={"content": "build ok", "external_user_name": "CI"})
    client.post(
        f"/messages/team_inbox/{token}",
        json={"source": "CI", "from_address": "ci@example.com", "subject": "Done", "content": "<b>ok</b>"},
    )
    assert types(seen) == ["message", "mail"]
    assert seen[0].body["external_user_name"] == "CI" and seen[0].body["user"] == "0"
    assert seen[1].body["content"]["subject"] == "Done" and ":source:CI" in seen[1].body["tags"]


def test_private_message__goes_to_the_pair_with_to(alice, seen) -> None:
    m = alice.post("/private/2/messages", json={"event": "message", "content": "psst"}).json()
    assert types(seen) == ["message"] and seen[0].body == m
    assert "flow" not in m and m["to"] == str(BOB["id"])
    assert seen[0].between == (ALICE["id"], BOB["id"]) and seen[0].flow is None


# --- edits and deletes -------------------------------------------------------------------------------
def test_content_edit__message_edit_not_persisted(alice, seen) -> None:
    m = alice.post(MAIN, json={"event": "message", "content": "tpyo"}).json()
    alice.put(f"{MAIN}/{m['id']}", json={"content": "typo"})
    edit = seen[-1].body
    assert edit["event"] == "message-edit" and edit["content"] == {
        "message": m["id"],
        "updated_content": "typo",
    }
    assert edit["persist"] is False and edit["uuid"] is None and edit["app"] is None and "id" not in edit
    assert edit["flow"] == m["flow"] and edit["user"] == str(ALICE["id"])


def test_comment_edit__updated_content_is_the_title_text_object(alice, seen) -> None:
    parent = alice.post(MAIN, json={"event": "message", "content": "parent"}).json()
    c = alice.post(f"{MAIN}/{parent['id']}/comments", json={"content": "one"}).json()
    alice.put(f"{MAIN}/{c['id']}", json={"content": "two"})
    assert seen[-1].body["content"]["updated_content"] == {"title": "parent", "text": "two"}


def test_tag_edit__tag_change_with_add_and_remove(alice, bob, seen) -> None:
    m = alice.post(MAIN, json={"event": "message", "content": "hey @bob", "tags": ["x"]}).json()
    unread = f":unread:{BOB['id']}"
    assert unread in m["tags"]
    kept = [t for t in m["tags"] if t != unread]  # a read receipt: Bob's client drops his unread tag
    bob.put(f"{MAIN}/{m['id']}", json={"tags": [*kept, "y"]})
    change = seen[-1].body
    assert change["event"] == "tag-change" and change["user"] == str(BOB["id"])
    assert change["content"] == {"message": m["id"], "add": ["y"], "remove": [unread]}


def test_edit_of_content_and_tags__both_events(alice, seen) -> None:
    m = alice.post(MAIN, json={"event": "message", "content": "a"}).json()
    alice.put(f"{MAIN}/{m['id']}", json={"content": "b", "tags": ["t"]})
    assert types(seen) == ["message", "message-edit", "tag-change"]


def test_truncating_delete__message_edit_with_empty_content(alice, seen) -> None:
    m = alice.post(MAIN, json={"event": "message", "content": "oops"}).json()
    assert alice.delete(f"{MAIN}/{m['id']}").status_code == 200
    assert seen[-1].body["event"] == "message-edit"
    assert seen[-1].body["content"] == {"message": m["id"], "updated_content": ""}


def test_private_edit_and_truncate__address_the_other_participant(alice, seen) -> None:
    m = alice.post("/private/2/messages", json={"event": "message", "content": "a"}).json()
    alice.put(f"/private/2/messages/{m['id']}", json={"content": "b"})
    alice.delete(f"/private/2/messages/{m['id']}")
    assert types(seen) == ["message", "message-edit", "message-edit"]
    assert all(e.between == (ALICE["id"], BOB["id"]) and e.body["to"] == str(BOB["id"]) for e in seen[1:])


# --- memberships, invitations, users ----------------------------------------------------------------
def test_add_user_to_flow__add_people_backend_join_and_flow_add(alice, store, seen) -> None:
    dev = flow_id(store, "acme", "dev")
    assert alice.post("/flows/acme/dev/users", json={"id": DAVE_ID}).status_code == 200
    assert types(seen) == ["action", "backend.user.join", "flow-add"]
    action, join, add = (e.body for e in seen)
    nick = store.users.by_id[DAVE_ID].nick
    assert action["content"] == {"type": "add_people", "description": nick} and action["flow"] == dev
    assert action["user"] == str(ALICE["id"])
    assert join["user"] == str(DAVE_ID) and join["content"]["user"]["id"] == DAVE_ID and join["flow"] == dev
    assert seen[2].audience == DAVE_ID and add["content"]["id"] == dev and add["content"]["open"] is True
    assert add["user"] == DAVE_ID  # an integer on flow-add, as observed


def test_joining_an_organization_flow__action_join(alice, store, seen) -> None:
    r = alice.put("/flows/acme/random", json={"open": True})
    assert r.status_code == 200
    assert types(seen) == ["action", "backend.user.join", "flow-add"]
    assert seen[0].body["content"]["type"] == "join" and seen[0].body["user"] == str(ALICE["id"])


def test_block__action_and_backend_block_while_readable_then_flow_remove(alice, store, seen) -> None:
    alice.put(f"/flows/acme/dev/users/{CAROL_ID}", json={"disabled": True})
    assert types(seen) == ["action", "backend.user.block", "flow-remove"]
    assert seen[0].body["content"] == {"type": "block", "description": {"user": CAROL_ID}}
    assert seen[1].body["content"] == str(CAROL_ID)
    assert seen[2].audience == CAROL_ID
    # Carol could read the first two when they were emitted; the flow is closed to her now.
    assert not store.events.can_read(seen[0], CAROL_ID) and store.events.can_read(seen[2], CAROL_ID)


def test_unblock__the_user_is_added_back(alice, seen) -> None:
    alice.put(f"/flows/acme/dev/users/{CAROL_ID}", json={"disabled": True})
    alice.put(f"/flows/acme/dev/users/{CAROL_ID}", json={"disabled": False})
    assert types(seen)[3:] == ["action", "backend.user.join", "flow-add"]
    alice.put(f"/flows/acme/dev/users/{CAROL_ID}", json={"disabled": False})  # no change, no event
    assert len(seen) == 6


def test_remove_user_from_flow_and_organization__flow_remove_to_them(alice, store, seen) -> None:
    alice.delete(f"/flows/acme/dev/users/{CAROL_ID}")
    assert types(seen) == ["flow-remove"] and seen[0].audience == CAROL_ID
    seen.clear()
    alice.delete(f"/organizations/acme/users/{DAVE_ID}")
    removed = {e.body["content"]["id"] for e in seen}
    assert types(seen) == ["flow-remove"] * len(removed) and flow_id(store, "acme", "main") in removed


def test_create_flow__flow_add_to_its_creator(alice, seen) -> None:
    created = alice.post("/flows/acme", json={"name": "Ops"}).json()
    assert types(seen) == ["flow-add"] and seen[0].audience == ALICE["id"]
    assert seen[0].body["content"]["id"] == created["id"] and seen[0].body["content"]["name"] == "Ops"


def test_invitations__invite_and_uninvite_actions(alice, seen) -> None:
    inv = alice.post("/flows/acme/main/invitations", json={"email": "new@example.com"}).json()
    alice.delete(f"/flows/acme/main/invitations/{inv['id']}")
    assert [e.body["content"] for e in seen] == [
        {"type": "invite", "description": {"email": "new@example.com"}},
        {"type": "uninvite", "description": {"email": "new@example.com"}},
    ]


def test_import_invitations__members_join_and_others_are_invited(alice, store, seen) -> None:
    dave = store.users.by_id[DAVE_ID].email
    r = alice.post("/flows/acme/dev/invitations/import", json={"list": f"{dave}, stranger@example.com"})
    assert r.status_code == 200
    assert types(seen) == ["action", "backend.user.join", "flow-add", "action"]
    assert seen[3].body["content"] == {"type": "invite", "description": {"email": "stranger@example.com"}}


def test_nick_change__user_edit_in_each_flow_of_the_user(bob, store, seen) -> None:
    bob.put(f"/users/{BOB['id']}", json={"nick": "bobby"})
    flows = {f.id for f in store.flows.joined_by(BOB["id"])}
    assert types(seen) == ["user-edit"] * len(flows) and {e.flow for e in seen} == flows
    assert all(e.body["content"]["user"]["nick"] == "bobby" for e in seen)
    seen.clear()
    bob.put(f"/users/{BOB['id']}", json={"email": "robert@example.com"})  # not a nick or name
    assert seen == []


# --- the log itself ----------------------------------------------------------------------------------
def test_sequence_grows_and_survives_a_reset_while_the_ring_empties(alice, store, seen) -> None:
    for text in ("a", "b", "c"):
        alice.post(MAIN, json={"event": "message", "content": text})
    seqs = [e.seq for e in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert [e.seq for e in store.events.since(seqs[0])] == seqs[1:]
    store.reset()
    assert store.events.recent() == [] and store.events.since(0) == []
    alice.post(MAIN, json={"event": "message", "content": "d"})
    assert seen[-1].seq == seqs[-1] + 1  # subscribers survive a reset; ids never go back


def test_ring_is_bounded_and_replay_starts_at_its_oldest(store) -> None:
    small = Store(store.export(), StoreConfig(event_log_size=3))
    main = flow_id(small)
    for i in range(5):
        small.events.emit({"event": "message", "flow": main, "content": str(i), "user": "1"})
    assert [e.body["content"] for e in small.events.recent()] == ["2", "3", "4"]
    assert [e.seq for e in small.events.since(1)] == [3, 4, 5]  # 2 is gone: the oldest kept
    assert small.events.since(5) == [] and small.events.since(99) == []


def test_emit__an_arbitrary_event_reaches_subscribers_and_is_routed(store, seen) -> None:
    main = flow_id(store)
    event = store.events.emit(store.events.envelope("activity.user", {"last_activity": 1}, 2, flow=main))
    assert seen == [event] and event.flow == main
    assert store.events.can_read(event, ALICE["id"]) and not store.events.can_read(event, 6)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event": "message"},
        {"event": "message", "to": "x", "user": "1"},
        {"event": "flow-add", "user": None},
    ],
)
def test_emit__an_event_without_an_address_is_refused(store, body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        route(body)
    with pytest.raises(ValueError):
        store.events.emit(body)


def test_a_failing_subscriber_never_breaks_the_write(alice, store, seen) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    unsubscribe = store.events.subscribe(broken)
    try:
        r = alice.post(MAIN, json={"event": "message", "content": "still stored"})
    finally:
        unsubscribe()
    assert r.status_code == 201 and types(seen) == ["message"]


def test_can_read__per_event_access(store) -> None:
    log: EventLog = store.events
    secret = flow_id(store, "acme", "secret")
    flow_event = log.emit({"event": "message", "flow": secret, "content": "x", "user": str(DAVE_ID)})
    assert log.can_read(flow_event, DAVE_ID) and not log.can_read(flow_event, ALICE["id"])
    pm = log.emit({"event": "message", "to": "2", "content": "x", "user": "1"})
    assert log.can_read(pm, 1) and log.can_read(pm, 2) and not log.can_read(pm, 3)
