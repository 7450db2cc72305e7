"""The kit's waits against real streams (runtime/kit.py): a wait for a user's stream answers when
it opens; an injected event reaches an open stream like a posted one."""

from __future__ import annotations

import threading
from typing import Any

import requests

from tests.stream.conftest import TIMEOUT, Opener


def test_wait_for_stream__answers_when_the_user_connects(live: Any, open_stream: Opener) -> None:
    answers: list[requests.Response] = []
    waiter = threading.Thread(
        target=lambda: answers.append(
            requests.get(
                f"{live.base_url}/_mock/waits/stream",
                params={"user": 2, "flow": "acme/main", "timeout": TIMEOUT},
                timeout=TIMEOUT + 5,
            )
        )
    )
    waiter.start()
    open_stream(2, filter="acme/main")
    waiter.join(TIMEOUT + 5)
    assert not waiter.is_alive()
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["user"] == 2


def test_wait_for_stream__another_flow_does_not_count(live: Any, open_stream: Opener) -> None:
    open_stream(2, filter="acme/dev")
    r = requests.get(
        f"{live.base_url}/_mock/waits/stream",
        params={"user": 2, "flow": "acme/main", "timeout": 0.2},
        timeout=10,
    )
    assert r.status_code == 408
    assert [s["user"] for s in r.json()["seen"]["streams"]] == [2]


def test_inject__reaches_an_open_stream_with_its_log_id(live: Any, open_stream: Opener) -> None:
    stream = open_stream(1, filter="acme/main", sse=True)
    content = {"message": 1, "emoji": "+1", "type": "add"}
    r = requests.post(
        f"{live.base_url}/_mock/events",
        json={"event": "emoji-reaction", "user": 2, "flow": "acme/main", "content": content},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    injected = r.json()["events"][0]
    received = stream.wait_for(lambda e: e.get("event") == "emoji-reaction")
    assert received == injected["event"]
    assert stream.ids[stream.events.index(received)] == injected["id"]
