"""Testing a hubot script end to end with the kit, over real sockets and without a sleep: a real
hubot (hubot-flowdock, from tests/clients/node/package-lock.json) runs tests/clients/node/scripts/
deploy.js; the test waits for its stream, speaks as another user, reacts with an emoji, and waits on
the bot's answers through the control API (docs/bot-testing.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.clients.conftest import LiveServer
from tests.clients.nodeclients import launch_hubot
from tests.conftest import BOB, CAROL_ID

pytestmark = pytest.mark.client

WAIT = 30.0
"""Seconds each wait may take at most (hubot starts in about a second; CI's cores are shared)."""


@pytest.fixture
def live(stream_live: LiveServer) -> Iterator[LiveServer]:
    """The stream server (tests/clients/conftest.py) in each world kind."""
    yield stream_live


def control(live: LiveServer, method: str, path: str, **kwargs: Any) -> Any:
    """A kit route of the control API, in the test's world (``?world=``)."""
    kwargs["params"] = {**kwargs.get("params", {}), **live.world_query}
    r = requests.request(method, f"{live.base_url}/_mock{path}", timeout=WAIT + 10, **kwargs)
    assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


def wait_for_message(live: LiveServer, after: int, **filters: Any) -> dict[str, Any]:
    found = control(
        live, "GET", "/waits/event", params={"after": after, "timeout": WAIT, "event": "message", **filters}
    )
    return dict(found["event"])


def test_hubot_script__answers_a_mention_in_the_thread_and_counts_an_emoji_vote(live: LiveServer) -> None:
    bot = live.store.users.by_id[CAROL_ID]
    with launch_hubot(live, CAROL_ID):
        control(live, "GET", "/waits/stream", params={"user": CAROL_ID, "flow": "acme/main", "timeout": WAIT})
        after = control(live, "GET", "/events", params={"limit": 0})["last_id"]
        (asked,) = [
            e["event"]
            for e in control(
                live,
                "POST",
                "/events",
                json={
                    "event": "message",
                    "user": BOB["id"],
                    "flow": "acme/main",
                    "content": f"@{bot.nick} deploy api",
                },
            )["events"]
            if e["event"]["event"] == "message"
        ]
        answer = wait_for_message(live, after, user=CAROL_ID, flow="acme/main", content="deploying api")
        assert answer["thread_id"] == asked["thread_id"]
        assert "deploy" in answer["tags"]

        after = control(live, "GET", "/events", params={"limit": 0})["last_id"]
        reaction = {"message": asked["id"], "emoji": "+1", "type": "add"}
        control(
            live,
            "POST",
            "/events",
            json={"event": "emoji-reaction", "user": BOB["id"], "flow": "acme/main", "content": reaction},
        )
        vote = wait_for_message(live, after, user=CAROL_ID, regex=rf"^vote :\+1: on {asked['id']}: 1$")
        assert vote["flow"] == asked["flow"]
