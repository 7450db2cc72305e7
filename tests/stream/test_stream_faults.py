"""Stream faults per world (runtime/faults.py StreamFaults, stream/hub.py): cut, stall, refuse,
duplicate on reconnect, set through PUT /_mock/faults ``streams`` and seen on raw sockets.

The node-flowdock client that reconnects and catches up after each fault is driven in
tests/clients/test_stream_fault_clients.py.
"""

from __future__ import annotations

import json
import select
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mock_server import errors
from tests.clients.conftest import LiveServer
from tests.conftest import BOB
from tests.stream.conftest import Opener, basic, connect, wait_until
from tests.stream.test_stream import content_is, say


@pytest.fixture(autouse=True)
def no_faults_after(live: LiveServer) -> Iterator[None]:
    yield
    live.app.runtime.faults.clear()


def put_streams(live: LiveServer, streams: dict[str, Any], world: str | None = None) -> dict[str, Any]:
    path = "/_mock/faults" if world is None else f"/_mock/worlds/{world}/faults"
    r = requests.put(live.base_url + path, json={"faults": {}, "streams": streams}, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def faults(live: LiveServer) -> dict[str, Any]:
    return dict(requests.get(live.base_url + "/_mock/faults", timeout=10).json()["streams"])


def test_cut_now__every_open_stream_ends_cleanly_and_a_new_one_is_not_cut(live, open_stream: Opener) -> None:
    first, second = open_stream(filter="acme/main"), open_stream(2, sse=True, filter="acme/main")
    table = put_streams(live, {"cut_after_events": 0})
    assert table["streams"]["cut_after_events"] == 0
    first.wait_end()
    second.wait_end()
    assert first.clean and second.clean  # the last chunk: a clean end, so clients reconnect at once
    again = open_stream(filter="acme/main")
    say(live, BOB["id"], "after the cut")
    again.wait_for(content_is("after the cut"))
    assert not again.ended


def test_cut_after_n_events__sends_n_then_ends_what_it_held_is_dropped(live, open_stream: Opener) -> None:
    stream = open_stream(filter="acme/main")
    put_streams(live, {"cut_after_events": 2})
    assert faults(live)["cut_pending"] == 1
    for n in range(3):
        say(live, BOB["id"], f"m{n}")
    stream.wait_end()
    assert [e["content"] for e in stream.events if e["event"] == "message"] == ["m0", "m1"]
    assert faults(live)["cut_pending"] == 0
    later = open_stream(filter="acme/main")  # opened after the fault was set: not cut
    for n in range(3, 6):
        say(live, BOB["id"], f"m{n}")
    later.wait_for(content_is("m5"))
    assert not later.ended


def test_stall__not_a_byte_keepalives_included_then_what_waited(live, open_stream: Opener) -> None:
    stream = open_stream(sse=True, filter="acme/main")
    stream.wait_keepalives(2)  # 0.2 s keep-alives flow before the stall
    put_streams(live, {"stall_s": 3})
    assert 0 < faults(live)["stall_remaining_s"] <= 3
    sent = say(live, BOB["id"], "held back")
    before = len(stream.raw)
    ready, _, _ = select.select([stream.sock], [], [], 1.5)  # 7 keep-alive intervals
    assert not ready, "the stalled stream sent bytes"
    assert len(stream.raw) == before
    got = stream.wait_for(content_is("held back"), timeout=10)
    assert got["id"] == sent["id"]
    stream.wait_keepalives(stream.keepalives + 1)  # and keep-alives are back


def test_refuse__503_in_flowdocks_shape_with_retry_after_until_it_ends(live, open_stream: Opener) -> None:
    put_streams(live, {"refuse_s": 30})
    refused = connect(
        open_stream.port, "/stream/flows?filter=acme/main", {"Authorization": basic(live.token(1))}
    )
    body = bytes(refused._wire)  # what came with the head
    while len(body) < int(refused.getheader("content-length")):
        body += refused.sock.recv(65536)
    refused.close()
    assert refused.status == 503
    assert 1 <= int(refused.getheader("retry-after")) <= 30
    assert json.loads(body) == {
        "message": errors.SERVICE_UNAVAILABLE,
        "errors": {"base": [errors.STREAM_REFUSED]},
    }
    assert faults(live)["refuse_remaining_s"] > 0
    put_streams(live, {})  # lifted
    open_stream(filter="acme/main")


def test_refuse__ends_on_its_own(live, open_stream: Opener) -> None:
    put_streams(live, {"refuse_s": 0.3})
    wait_until(lambda: faults(live)["refuse_remaining_s"] == 0, what="the refusal to end")
    open_stream(filter="acme/main")


def test_duplicate_on_reconnect__the_last_event_again_then_the_replay(live, open_stream: Opener) -> None:
    stream = open_stream(sse=True, filter="acme/main")
    first = say(live, BOB["id"], "one")
    stream.wait_for(content_is("one"))
    last_id = stream.ids[-1]
    put_streams(live, {"duplicate_on_reconnect": True, "cut_after_events": 0})
    stream.wait_end()
    say(live, BOB["id"], "two")  # missed while away
    again = open_stream(sse=True, filter="acme/main", headers={"Last-Event-ID": str(last_id)})
    again.wait_for(content_is("two"))
    messages = [
        (i, e["content"]) for i, e in zip(again.ids, again.events, strict=True) if e["event"] == "message"
    ]
    assert messages[0] == (last_id, "one") and messages[0][1] == first["content"]  # the duplicate
    assert [c for _, c in messages] == ["one", "two"]


def test_a_worlds_stream_faults_leave_the_default_world_alone(live, open_stream: Opener) -> None:
    created = requests.post(live.base_url + "/_mock/worlds", json={}, timeout=10).json()
    try:
        stream = open_stream(filter="acme/main")
        put_streams(live, {"cut_after_events": 0, "refuse_s": 30}, world=created["id"])
        say(live, BOB["id"], "still here")
        stream.wait_for(content_is("still here"))
        assert not stream.ended
        open_stream(filter="acme/main")  # not refused
    finally:
        requests.delete(live.base_url + f"/_mock/worlds/{created['id']}", timeout=10)


def test_put_without_streams_keeps_them_and_delete_clears_them(live) -> None:
    put_streams(live, {"refuse_s": 30, "duplicate_on_reconnect": True})
    r = requests.put(live.base_url + "/_mock/faults", json={"faults": {}}, timeout=10)
    assert r.json()["streams"]["duplicate_on_reconnect"] is True
    assert requests.delete(live.base_url + "/_mock/faults", timeout=10).status_code == 204
    assert faults(live) == {"stall_remaining_s": 0, "refuse_remaining_s": 0, "cut_pending": 0}


@pytest.mark.parametrize(
    "streams", [{"stall_s": -1}, {"refuse_s": 601}, {"cut_after_events": "x"}, {"cut": True}]
)
def test_bad_stream_faults_are_400(live, streams: dict[str, Any]) -> None:
    r = requests.put(live.base_url + "/_mock/faults", json={"faults": {}, "streams": streams}, timeout=10)
    assert r.status_code == 400 and r.json()["message"] == errors.VALIDATION_ERROR
