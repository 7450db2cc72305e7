"""The bot-testing kit's control routes: inject, waits, the clock (mock_server/runtime/kit.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mock_server.store import Store
from tests.conftest import ALICE, BOB
from tests.stream.asyncapi import assert_valid_event

MAIN = "acme/main"


def flow_id(store: Store, ref: str = MAIN) -> str:
    org, _, name = ref.partition("/")
    found = store.flows.find(org, name)
    assert found is not None
    return found.id


def last_id(client: Any) -> int:
    return int(client.get("/_mock/events?limit=0").json()["last_id"])


def test_inject__a_message_is_stored_and_emitted_like_a_posted_one(
    client: Any, alice: Any, store: Store
) -> None:
    after = last_id(client)
    r = client.post(
        "/_mock/events",
        json={"event": "message", "user": BOB["id"], "flow": MAIN, "content": "@Alice deploy api"},
    )
    assert r.status_code == 201, r.text
    (injected,) = [e for e in r.json()["events"] if e["event"]["event"] == "message"]
    assert injected["id"] > after
    body = injected["event"]
    assert_valid_event(body)
    assert body["user"] == str(BOB["id"]) and body["flow"] == flow_id(store)
    assert "@Alice" in body["content"]
    shown = alice.get(f"/flows/acme/main/messages/{body['id']}").json()
    assert shown["content"] == body["content"] and shown["sent"] == body["sent"]
    # a real post right after has the next id: same sequence, same shape
    real = alice.post("/flows/acme/main/messages", json={"event": "message", "content": "real"}).json()
    assert real["id"] == body["id"] + 1
    assert set(real) - {"flow"} <= set(body)


def react(client: Any, user: int, message: int, emoji: str, kind: str, **where: Any) -> Any:
    return client.post(
        "/_mock/events",
        json={
            "event": "emoji-reaction",
            "user": user,
            **(where or {"flow": MAIN}),
            "content": {"message": message, "emoji": emoji, "type": kind},
        },
    )


def test_inject__an_emoji_reaction_updates_the_messages_reactions_and_is_streamed(
    client: Any, alice: Any, store: Store
) -> None:
    r = react(client, BOB["id"], 1, "+1", "add")
    assert r.status_code == 201, r.text
    (event,) = r.json()["events"]
    assert_valid_event(event["event"])
    assert event["event"]["uuid"] is None and event["event"]["persist"] is False
    assert alice.get("/flows/acme/main/messages/1").json()["emojiReactions"] == {"+1": [str(BOB["id"])]}
    react(client, ALICE["id"], 1, "+1", "add")
    react(client, ALICE["id"], 1, "+1", "add")  # once per user
    react(client, ALICE["id"], 1, "tada", "add")
    assert alice.get("/flows/acme/main/messages/1").json()["emojiReactions"] == {
        "+1": [str(BOB["id"]), str(ALICE["id"])],
        "tada": [str(ALICE["id"])],
    }
    react(client, BOB["id"], 1, "+1", "remove")
    react(client, ALICE["id"], 1, "tada", "remove")
    assert alice.get("/flows/acme/main/messages/1").json()["emojiReactions"] == {"+1": [str(ALICE["id"])]}
    exported = next(m for m in store.export()["messages"] if m["flow"] == flow_id(store) and m["id"] == 1)
    assert exported["reactions"] == {"+1": [str(ALICE["id"])]}


def test_inject__an_emoji_reaction_to_a_private_message(client: Any, as_user: Any) -> None:
    sent = as_user(ALICE["id"]).post(
        f"/private/{BOB['id']}/messages", json={"event": "message", "content": "hi"}
    )
    r = react(client, BOB["id"], sent.json()["id"], "wave", "add", to=ALICE["id"])
    assert r.status_code == 201, r.text
    shown = as_user(ALICE["id"]).get(f"/private/{BOB['id']}/messages/{sent.json()['id']}").json()
    assert shown["emojiReactions"] == {"wave": [str(BOB["id"])]}


def test_inject__an_emoji_reaction_to_no_message_is_400_and_emits_nothing(client: Any) -> None:
    before = last_id(client)
    r = react(client, BOB["id"], 999999, "+1", "add")
    assert r.status_code == 400
    assert "content.message" in r.json()["errors"]
    assert last_id(client) == before


def test_inject__an_action_is_kept_among_the_flows_messages(client: Any, alice: Any) -> None:
    r = client.post(
        "/_mock/events",
        json={
            "event": "action",
            "user": BOB["id"],
            "flow": MAIN,
            "content": {"type": "join", "description": "bob"},
        },
    )
    assert r.status_code == 201, r.text
    (event,) = r.json()["events"]
    body = event["event"]
    assert_valid_event(body)
    assert (
        body["event"] == "action" and body["app"] is None and body["uuid"] is None and "thread_id" not in body
    )
    listed = alice.get("/flows/acme/main/messages", params={"event": "action", "limit": 1}).json()
    assert [(m["id"], m["content"]) for m in listed] == [(body["id"], {"type": "join", "description": "bob"})]
    private = client.post(
        "/_mock/events",
        json={
            "event": "action",
            "user": BOB["id"],
            "to": ALICE["id"],
            "content": {"type": "join", "description": ""},
        },
    )
    assert private.status_code == 400


def test_add_user_to_flow__the_action_is_kept_too(alice: Any, store: Store) -> None:
    """A real addition leaves the same trace as an injected action."""
    flow, newcomer = next(
        (f, u)
        for f in store.flows.joined_by(ALICE["id"])
        for u in sorted(store.organizations.by_id[f.organization_id].members)
        if not f.is_member(u)
    )
    org = store.organizations.by_id[flow.organization_id].parameterized_name
    path = f"/flows/{org}/{flow.parameterized_name}"
    r = alice.post(f"{path}/users", json={"id": newcomer})
    assert r.status_code == 200, r.text
    (action,) = alice.get(f"{path}/messages", params={"event": "action", "limit": 1}).json()
    nick = store.users.by_id[newcomer].nick
    assert action["content"] == {"type": "add_people", "description": nick} and action["user"] == str(
        ALICE["id"]
    )


def test_inject__a_bad_known_event_is_400_naming_the_field(client: Any) -> None:
    r = client.post(
        "/_mock/events",
        json={
            "event": "emoji-reaction",
            "user": BOB["id"],
            "flow": MAIN,
            "content": {"message": 1, "emoji": "+1", "type": "maybe"},
        },
    )
    assert r.status_code == 400
    assert "content.type" in r.json()["errors"]


def test_inject__an_unknown_type_needs_unknown_true(client: Any) -> None:
    body = {"event": "typing", "user": BOB["id"], "flow": MAIN, "content": None}
    r = client.post("/_mock/events", json=body)
    assert r.status_code == 400 and "event" in r.json()["errors"]
    r = client.post("/_mock/events", json={**body, "unknown": True})
    assert r.status_code == 201
    assert r.json()["events"][0]["event"]["event"] == "typing"


def test_inject__as_a_non_member_is_refused_and_nothing_is_emitted(client: Any) -> None:
    after = last_id(client)
    r = client.post(
        "/_mock/events", json={"event": "message", "user": BOB["id"], "flow": "acme/secret", "content": "x"}
    )
    assert r.status_code in (403, 404)
    assert last_id(client) == after


def test_inject__a_private_message(client: Any, as_user: Any) -> None:
    r = client.post(
        "/_mock/events", json={"event": "message", "user": BOB["id"], "to": ALICE["id"], "content": "psst"}
    )
    assert r.status_code == 201, r.text
    body = r.json()["events"][0]["event"]
    assert body["to"] == str(ALICE["id"]) or body.get("to") is not None
    listed = as_user(ALICE["id"]).get(f"/private/{BOB['id']}/messages").json()
    assert any(m["content"] == "psst" for m in listed)


def test_wait_for_event__answers_with_an_event_already_emitted(client: Any) -> None:
    after = last_id(client)
    client.post(
        "/_mock/events",
        json={"event": "message", "user": BOB["id"], "flow": MAIN, "content": "deploy api #deploy"},
    )
    r = client.get(
        "/_mock/waits/event", params={"after": after, "user": BOB["id"], "tag": "#deploy", "timeout": 5}
    )
    assert r.status_code == 200, r.text
    assert r.json()["event"]["content"] == "deploy api #deploy"


def test_wait_for_event__the_user_filter_holds(client: Any) -> None:
    """``user`` is a query parameter of the wait, never the caller (the control API has none)."""
    after = last_id(client)
    for who in (ALICE["id"], BOB["id"]):
        client.post("/_mock/events", json={"event": "message", "user": who, "flow": MAIN, "content": "hi"})
    r = client.get("/_mock/waits/event", params={"after": after, "user": BOB["id"], "timeout": 5})
    assert r.status_code == 200, r.text
    assert r.json()["event"]["user"] == str(BOB["id"])


def test_wait_for_event__wakes_when_the_event_is_emitted(app: Any, client: Any, alice: Any) -> None:
    after = last_id(client)
    answers: list[Any] = []
    waiter = threading.Thread(
        target=lambda: answers.append(
            app.test_client().get(
                "/_mock/waits/event", params={"after": after, "regex": r"^ship \d+$", "timeout": 30}
            )
        )
    )
    waiter.start()
    alice.post("/flows/acme/main/messages", json={"event": "message", "content": "not this"})
    alice.post("/flows/acme/main/messages", json={"event": "message", "content": "ship 42"})
    waiter.join(30)
    assert not waiter.is_alive()
    assert answers[0].status_code == 200
    assert answers[0].json()["event"]["content"] == "ship 42"


def test_wait_for_event__times_out_with_408_and_what_it_saw(client: Any, alice: Any) -> None:
    after = last_id(client)
    alice.post("/flows/acme/main/messages", json={"event": "message", "content": "something else"})
    r = client.get("/_mock/waits/event", params={"after": after, "content": "never said", "timeout": 0.2})
    assert r.status_code == 408
    seen = r.json()["seen"]
    assert seen["count"] >= 1
    assert any(e["event"].get("content") == "something else" for e in seen["events"])


def test_wait_for_event__a_bad_regex_is_400(client: Any) -> None:
    r = client.get("/_mock/waits/event", params={"regex": "(", "timeout": 0})
    assert r.status_code == 400 and "regex" in r.json()["errors"]


def test_wait_for_event__a_pattern_with_catastrophic_backtracking_answers(app: Any, client: Any) -> None:
    # `(a+)+$` over a run of `a`s and a `!` takes a backtracking engine time doubling per
    # character (27 of them: 17 s; 40: days), all of it on the event loop every world shares.
    # The waits use a linear-time engine (RE2), which answers at once: here, that nothing matched.
    after = last_id(client)
    client.post(
        "/_mock/events", json={"event": "message", "user": BOB["id"], "flow": MAIN, "content": "a" * 40 + "!"}
    )
    answers: list[Any] = []
    params = {"after": after, "regex": "(a+)+$", "timeout": 0}
    waiter = threading.Thread(
        target=lambda: answers.append(app.test_client().get("/_mock/waits/event", params=params)),
        daemon=True,  # a backtracking engine would hold it for days: it must not hold the run
    )
    waiter.start()
    waiter.join(60)  # not a speed figure: linear answers in microseconds, backtracking never
    assert answers and answers[0].status_code == 408, "the pattern did not answer"
    r = client.get("/_mock/waits/event", params={"after": after, "regex": "^(a+)+!$", "timeout": 0})
    assert r.status_code == 200, r.text


def test_wait_for_event__backreferences_and_lookaround_are_400(client: Any) -> None:
    # What a linear-time engine cannot run is refused, not silently run by a backtracking one.
    for pattern in (r"(a)\1", "(?=a)b", "(?<!a)b"):
        r = client.get("/_mock/waits/event", params={"regex": pattern, "timeout": 0})
        assert r.status_code == 400, (pattern, r.text)
        assert "regex" in r.json()["errors"]


def test_wait_for_stream__times_out_when_nobody_streams(client: Any) -> None:
    r = client.get("/_mock/waits/stream", params={"user": BOB["id"], "flow": MAIN, "timeout": 0.1})
    assert r.status_code == 408
    assert r.json()["seen"]["streams"] == []


def test_events__of_another_world_are_its_own(client: Any) -> None:
    world = client.post("/_mock/worlds", json={}).json()["id"]
    try:
        r = client.post(
            f"/_mock/events?world={world}",
            json={"event": "message", "user": BOB["id"], "flow": MAIN, "content": "elsewhere"},
        )
        assert r.status_code == 201
        mine = client.get("/_mock/events").json()["events"]
        assert not any(e["event"].get("content") == "elsewhere" for e in mine)
        theirs = client.get(f"/_mock/events?world={world}").json()["events"]
        assert any(e["event"].get("content") == "elsewhere" for e in theirs)
    finally:
        client.delete(f"/_mock/worlds/{world}")


# --- the clock -----------------------------------------------------------------------------------
def test_clock__frozen_and_set_times_messages(client: Any, alice: Any) -> None:
    r = client.post("/_mock/clock", json={"set": "2024-01-01T00:00:00Z", "freeze": True})
    assert r.status_code == 200 and r.json() == {
        "now": 1704067200000,
        "iso": "2024-01-01T00:00:00.000Z",
        "frozen": True,
        "offset_ms": None,
    }
    m = alice.post("/flows/acme/main/messages", json={"event": "message", "content": "at new year"}).json()
    assert m["sent"] == 1704067200000 and m["created_at"].startswith("2024-01-01T00:00:00")
    client.post("/_mock/clock", json={"advance_ms": 90_000})
    m2 = alice.post("/flows/acme/main/messages", json={"event": "message", "content": "later"}).json()
    assert m2["sent"] == 1704067290000


def test_clock__reset_goes_back_to_real_time(client: Any, store: Store) -> None:
    client.post("/_mock/clock", json={"set": 0, "freeze": True})
    assert store.now_ms() == 0
    client.post("/_mock/reset")
    assert client.get("/_mock/clock").json()["frozen"] is False
    assert store.now_ms() > 1_700_000_000_000


def test_clock__a_bad_instant_is_400(client: Any) -> None:
    r = client.post("/_mock/clock", json={"set": "tomorrow"})
    assert r.status_code == 400


def test_clock__the_documented_maximum_stands_there_and_every_post_answers(
    client: Any, alice: Any, store: Store
) -> None:
    # 9999-12-31T23:59:59.999Z: the last instant ISO 8601 dates (and the spec's date-time) hold.
    # A running clock set there used to run into the year 10000 at once: the next post was
    # stored and answered 500, and the flow's listing stayed 500 until a reset.
    r = client.post("/_mock/clock", json={"set": 253402300799999})
    assert r.status_code == 200, r.text
    posted = alice.post("/flows/acme/main/messages", json={"event": "message", "content": "the end"})
    assert posted.status_code == 201, posted.text
    assert posted.json()["sent"] == 253402300799999
    assert posted.json()["created_at"] == "9999-12-31T23:59:59.999Z"
    listed = alice.get("/flows/acme/main/messages", params={"limit": 1})
    assert listed.status_code == 200, listed.text
    assert client.get("/_mock/clock").json()["iso"] == "9999-12-31T23:59:59.999Z"


@pytest.mark.parametrize(
    "change",
    [
        {"set": "+10000-01-01T00:00:00Z"},
        {"set": "1969-12-31T23:59:59Z"},
        {"set": 253402300799999, "advance_ms": 1},
        {"set": "9999-12-31T00:00:00Z", "advance_ms": 86_400_000},
    ],
)
def test_clock__an_instant_past_what_dates_express_is_400_and_changes_nothing(
    client: Any, change: dict[str, Any]
) -> None:
    client.post("/_mock/clock", json={"set": "2024-01-01T00:00:00Z", "freeze": True})
    r = client.post("/_mock/clock", json=change)
    assert r.status_code == 400, r.text
    assert set(r.json()["errors"]) <= {"set", "advance_ms"}
    assert client.get("/_mock/clock").json()["iso"] == "2024-01-01T00:00:00.000Z"


# --- presence and typing ---------------------------------------------------------------------------
def test_activity__presence_now_moves_last_activity_and_is_not_stored(client: Any, store: Store) -> None:
    before = store.export()["messages"]
    r = client.post("/_mock/activity", json={"user": BOB["id"], "flow": MAIN})
    assert r.status_code == 201, r.text
    (event,) = r.json()["events"]
    body = event["event"]
    assert_valid_event(body)
    assert (
        body["event"] == "activity.user" and body["flow"] == flow_id(store) and body["user"] == str(BOB["id"])
    )
    assert store.users.by_id[BOB["id"]].last_activity == body["content"]["last_activity"]
    assert store.export()["messages"] == before


def test_activity__typing_names_the_thread_or_stops(client: Any, store: Store) -> None:
    typing = client.post(
        "/_mock/activity", json={"user": BOB["id"], "flow": MAIN, "kind": "typing", "typing": "Zm9SEzxIny"}
    ).json()["events"][0]["event"]
    assert_valid_event(typing)
    assert typing["content"]["typing"] == "Zm9SEzxIny"
    stopped = client.post(
        "/_mock/activity", json={"user": BOB["id"], "flow": MAIN, "kind": "typing", "typing": False}
    ).json()["events"][0]["event"]
    assert stopped["content"]["typing"] is False


def test_activity__a_schedule_sends_count_events_then_ends(app: Any, client: Any, store: Store) -> None:
    done = threading.Event()
    seen: list[Any] = []

    def on_event(event: Any) -> None:
        if event.body["event"] == "activity.user":
            seen.append(event.body)
            if len(seen) == 3:
                done.set()

    unsubscribe = store.events.subscribe(on_event)
    try:
        r = client.post(
            "/_mock/activity", json={"user": BOB["id"], "flow": MAIN, "every_s": 0.05, "count": 3}
        )
        assert r.status_code == 201, r.text
        assert r.json()["schedule"]["count"] == 3
        assert done.wait(5)
    finally:
        unsubscribe()
    schedule_id = r.json()["schedule"]["id"]
    running = app.runtime.activity.running.get(schedule_id)
    assert running is None or running.stop.wait(5)  # it ends by itself after the third
    assert [e["content"]["last_activity"] > 0 for e in seen] == [True] * 3
    assert client.get("/_mock/activity").json() == {"schedules": []}
    assert client.delete(f"/_mock/activity/{schedule_id}").status_code == 404


def test_activity__until_stopped_and_a_reset_stops_them(app: Any, client: Any) -> None:
    first = client.post("/_mock/activity", json={"user": BOB["id"], "flow": MAIN, "every_s": 60}).json()
    listed = client.get("/_mock/activity").json()["schedules"]
    assert [s["id"] for s in listed] == [first["schedule"]["id"]] and listed[0]["emitted"] == 1
    assert client.delete(f"/_mock/activity/{first['schedule']['id']}").status_code == 204
    client.post("/_mock/activity", json={"user": BOB["id"], "flow": MAIN, "every_s": 60})
    assert client.post("/_mock/reset").status_code == 200
    assert client.get("/_mock/activity").json() == {"schedules": []}


def test_activity__at_most_sixteen_schedules_and_only_in_joined_flows(client: Any) -> None:
    try:
        for _ in range(16):
            assert (
                client.post(
                    "/_mock/activity", json={"user": BOB["id"], "flow": MAIN, "every_s": 60}
                ).status_code
                == 201
            )
        assert (
            client.post("/_mock/activity", json={"user": BOB["id"], "flow": MAIN, "every_s": 60}).status_code
            == 429
        )
    finally:
        client.post("/_mock/reset")
    assert client.post("/_mock/activity", json={"user": BOB["id"], "flow": "acme/secret"}).status_code in (
        403,
        404,
    )
