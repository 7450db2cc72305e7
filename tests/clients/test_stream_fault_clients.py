"""Stream faults against a real client that reconnects (docs/conversations.md "Stream faults"):
node-flowdock's Session#stream in tests/clients/node/resilient_listen.js, which reconnects on its
own and catches up over REST after each reconnect. After every fault it has each message exactly
once; the duplicate a fault sends is seen as one. The raw wire of each fault is tested in
tests/stream/test_stream_faults.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mock_server.app import create_app
from tests.clients.conftest import LiveServer, serve
from tests.clients.nodeclients import Process, launch_node
from tests.conftest import ALICE, BOB

pytestmark = pytest.mark.client

WAIT = 30.0
"""Seconds a wait may take at most (a refused client retries after 2 s; CI's cores are shared)."""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with serve(create_app(validate_responses=True, stream_keepalive=0.1)) as live:
        yield live


@pytest.fixture
def live(server: LiveServer) -> Iterator[LiveServer]:
    server.app.runtime.reset_state()
    yield server
    server.app.runtime.faults.clear()
    server.streams.close_all("test ended")


@pytest.fixture
def listener(live: LiveServer) -> Iterator[Process]:
    flow = live.store.flows.find("acme", "main")
    with launch_node(
        live, "resilient_listen.js", "acme", "main", flow.id, FLOWDOCK_TOKEN=live.token(ALICE["id"])
    ) as proc:
        proc.wait_line(lambda line: '"connected":1' in line, timeout=WAIT)
        yield proc


def say(live: LiveServer, text: str) -> dict[str, Any]:
    r = requests.post(
        f"{live.base_url}/flows/acme/main/messages",
        json={"event": "message", "content": text},
        auth=(live.token(BOB["id"]), ""),
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def stream_faults(live: LiveServer, **streams: Any) -> None:
    r = requests.put(f"{live.base_url}/_mock/faults", json={"faults": {}, "streams": streams}, timeout=10)
    assert r.status_code == 200, r.text


def received(proc: Process) -> list[dict[str, Any]]:
    return [d for d in map(json.loads, proc.seen) if "id" in d]


def wait_message(proc: Process, message: dict[str, Any]) -> dict[str, Any]:
    line = proc.wait_line(lambda line: f'"id":{message["id"]},' in line, timeout=WAIT)
    return dict(json.loads(line))


def test_cut_after_an_event__reconnects_and_catches_up_what_was_dropped(
    live: LiveServer, listener: Process
) -> None:
    stream_faults(live, cut_after_events=1)
    sent = [say(live, f"m{n}") for n in range(4)]
    listener.wait_line(lambda line: '"connected":2' in line, timeout=WAIT)
    for message in sent:
        wait_message(listener, message)
    got = received(listener)
    # A message posted while the client catches up can reach it twice, over REST and the new
    # stream: the client sees the second as a duplicate. Each is new to it exactly once.
    fresh = [d for d in got if not d["duplicate"]]
    assert sorted(d["id"] for d in fresh) == [m["id"] for m in sent]
    assert {d["id"] for d in got if d["duplicate"]} <= {m["id"] for m in sent}
    assert got[0] == {"id": sent[0]["id"], "content": "m0", "via": "stream", "duplicate": False}
    assert "catchup" in {d["via"] for d in fresh}  # what the cut dropped came back over REST


def test_cut_now_and_refuse__503_then_the_retry_gets_in_and_catches_up(
    live: LiveServer, listener: Process
) -> None:
    first = say(live, "before")
    wait_message(listener, first)
    stream_faults(live, cut_after_events=0, refuse_s=1)
    missed = say(live, "while refused")
    listener.wait_line(lambda line: '"clientError":503' in line, timeout=WAIT)
    listener.wait_line(lambda line: '"caughtUp":' in line, timeout=WAIT)
    assert wait_message(listener, missed) == {
        "id": missed["id"],
        "content": "while refused",
        "via": "catchup",
        "duplicate": False,
    }


def test_duplicate_on_reconnect__the_last_message_comes_again_and_is_seen_as_one(
    live: LiveServer, listener: Process
) -> None:
    last = say(live, "last before the cut")
    wait_message(listener, last)
    stream_faults(live, duplicate_on_reconnect=True, cut_after_events=0)
    listener.wait_line(lambda line: '"duplicate":true' in line, timeout=WAIT)
    again = [d for d in received(listener) if d["id"] == last["id"]]
    assert [d["duplicate"] for d in again] == [False, True] and again[1]["via"] == "stream"
    after = say(live, "after")
    assert wait_message(listener, after)["duplicate"] is False


def test_stall__nothing_arrives_while_stalled_then_what_waited(live: LiveServer, listener: Process) -> None:
    stream_faults(live, stall_s=3)
    held = say(live, "held back")
    (stream,) = [s for s in live.streams.list() if s["user"] == ALICE["id"]]
    assert stream["queued"] == 1  # waiting on the server: not a byte was sent
    assert wait_message(listener, held)["via"] == "stream"
    assert '"disconnected":true' not in "".join(listener.seen)  # the same connection throughout
