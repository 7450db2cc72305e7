"""Testing a hubot script end to end with the kit, over real sockets and without a sleep: a real
hubot (hubot-flowdock, from tests/clients/node/package-lock.json) runs tests/clients/node/scripts/
deploy.js; the test waits for its stream, speaks as another user, reacts with an emoji, and waits on
the bot's answers through the control API (README "Bot-testing kit")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mock_server.app import create_app
from tests.clients.conftest import LiveServer, serve
from tests.clients.test_stream_clients import COFFEE, KEEPALIVE, NODE_DIR, Process, node_env
from tests.conftest import BOB, CAROL_ID

pytestmark = pytest.mark.client

WAIT = 30.0
"""Seconds each wait may take at most (hubot starts in about a second; CI's cores are shared)."""


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with serve(create_app(validate_responses=True, stream_keepalive=KEEPALIVE)) as server:
        yield server
        server.app.streams.close_all("tests ended")


def control(live: LiveServer, method: str, path: str, **kwargs: Any) -> Any:
    r = requests.request(method, f"{live.base_url}/_mock{path}", timeout=WAIT + 10, **kwargs)
    assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


def wait_for_message(live: LiveServer, after: int, **filters: Any) -> dict[str, Any]:
    found = control(
        live, "GET", "/waits/event", params={"after": after, "timeout": WAIT, "event": "message", **filters}
    )
    return dict(found["event"])


def test_hubot_script__answers_a_mention_in_the_thread_and_counts_an_emoji_vote(live: LiveServer) -> None:
    import shutil

    assert shutil.which("node"), "node (Node.js 20) is needed for hubot"
    assert (NODE_DIR / "node_modules" / "hubot-flowdock").is_dir(), "run `make node-clients`"
    bot = live.app.store.users.by_id[CAROL_ID]
    hubot = Process(
        [COFFEE, "node_modules/hubot/bin/hubot", "--adapter", "flowdock", "--name", bot.nick],
        node_env(live, HUBOT_FLOWDOCK_API_TOKEN=bot.api_token, HUBOT_LOG_LEVEL="info"),
        NODE_DIR,
    )
    try:
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
    finally:
        hubot.stop()
