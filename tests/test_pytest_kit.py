"""The pytest plugin's kit (mock_server/pytest_plugin.py): say, inject, waits, webhooks, clock,
over HTTP against the plugin's in-process server, as a user's suite calls them."""

from __future__ import annotations

import pytest

from mock_server.pytest_plugin import FlowdockMock, WaitTimedOut

BOB = 2


def test_say__then_wait_for_the_answer(flowdock_mock: FlowdockMock) -> None:
    after = flowdock_mock.last_event_id()
    said = flowdock_mock.say(BOB, "acme/main", "@Alice deploy api", tags=["ops"])
    assert said["user"] == str(BOB) and "ops" in said["tags"]
    seen = flowdock_mock.wait_for_message(after, user=BOB, content="deploy api", timeout=5)
    assert seen["id"] == said["id"]


def test_wait_for_message__times_out_with_what_was_seen(flowdock_mock: FlowdockMock) -> None:
    after = flowdock_mock.last_event_id()
    flowdock_mock.say(BOB, "acme/main", "unrelated")
    with pytest.raises(WaitTimedOut) as timed_out:
        flowdock_mock.wait_for_message(after, content="never said", timeout=0.1)
    assert timed_out.value.seen["count"] >= 1


def test_inject__an_emoji_reaction(flowdock_mock: FlowdockMock) -> None:
    said = flowdock_mock.say(1, "acme/main", "vote on me")
    (event,) = flowdock_mock.inject(
        "emoji-reaction", BOB, "acme/main", content={"message": said["id"], "emoji": "+1", "type": "add"}
    )
    assert event["event"]["event"] == "emoji-reaction" and event["event"]["user"] == str(BOB)


def test_clock__advance_and_reset(flowdock_mock: FlowdockMock) -> None:
    flowdock_mock.clock.freeze()
    flowdock_mock.clock.set("2030-01-01T00:00:00Z")
    flowdock_mock.clock.advance(60)
    assert flowdock_mock.clock.now() == 1_893_456_060_000
    assert flowdock_mock.say(BOB, "acme/main", "in 2030")["sent"] == 1_893_456_060_000


def test_the_fixture_resets_clock_and_webhooks(flowdock_mock: FlowdockMock) -> None:
    # the previous test froze the clock in 2030; this one starts on real time again
    assert flowdock_mock.clock.now() > 1_700_000_000_000
    assert flowdock_mock.clock.now() < 1_893_456_000_000
    flowdock_mock.webhooks.register("http://127.0.0.1:9/hook", "s")
    assert len(flowdock_mock.webhooks.registered()) == 1
    flowdock_mock.reset()
    assert flowdock_mock.webhooks.registered() == []


def test_activity__presence_now_and_typing_on_a_schedule(flowdock_mock: FlowdockMock) -> None:
    (ping,) = flowdock_mock.activity(BOB, "acme/main")["events"]
    assert ping["event"]["event"] == "activity.user" and set(ping["event"]["content"]) == {"last_activity"}
    schedule = flowdock_mock.activity(BOB, "acme/main", "typing", every_s=0.05, count=3)["schedule"]
    assert schedule["count"] == 3
    # the third typing event comes after the ping and the first two
    third = flowdock_mock.wait_for_event(ping["id"] + 2, event="activity.user", user=BOB, timeout=5)
    assert third["id"] == ping["id"] + 3 and third["event"]["content"]["typing"] is True
    forever = flowdock_mock.activity(BOB, "acme/main", every_s=60)["schedule"]
    flowdock_mock.stop_activity(forever["id"])
