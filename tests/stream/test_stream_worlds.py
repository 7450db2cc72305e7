"""Streams and worlds (runtime/worlds.py): a stream belongs to the world its credential names.

Worlds A and B are copies of the default world: the same flows, users and names, different
credentials. A stream opened with A's credentials carries A's events and never one of B's or of
the default world's, whichever credential kind it connects with (API token, email and password,
an OAuth token in the header or in ``?access_token=``); deleting a world ends its streams and
leaves the others open.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.runtime.worlds import DEFAULT_ID
from tests.clients.conftest import LiveServer
from tests.conftest import ALICE, delete_created_worlds
from tests.stream.conftest import Opener, basic, wait_until

MAIN = "/flows/acme/main/messages"


@pytest.fixture
def worlds(live: LiveServer) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Two worlds made from the default one, deleted (their streams with them) after the test."""
    registry = live.app.worlds
    a, b = registry.create_from({}), registry.create_from({})
    yield a, b
    delete_created_worlds(registry)


def user(world: dict[str, Any], user_id: int) -> dict[str, Any]:
    return dict(next(u for u in world["credentials"]["users"] if u["id"] == user_id))


def send(live: LiveServer, authorization: str, text: str, flow: str = "acme/main") -> dict[str, Any]:
    port = int(live.base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST",
        f"/flows/{flow}/messages",
        body=json.dumps({"event": "message", "content": text}),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    data = response.read()
    conn.close()
    assert response.status == 201, data
    return dict(json.loads(data))


def oauth_token(live: LiveServer, world: dict[str, Any]) -> str:
    app = world["credentials"]["oauth_applications"][0]
    alice = user(world, ALICE["id"])
    port = int(live.base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    form = json.dumps(
        {
            "grant_type": "password",
            "username": alice["email"],
            "password": alice["password"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "flow private",
        }
    )
    conn.request(
        "POST",
        "/oauth/token",
        body=form,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return str(body["access_token"])


def texts(stream: Any) -> list[str]:
    return [e["content"] for e in stream.events if e.get("event") == "message"]


def test_a_stream_carries_only_its_own_worlds_events(
    live: LiveServer, open_stream: Opener, worlds: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    a, b = worlds
    alice_a, bob_a, bob_b = user(a, 1), user(a, 2), user(b, 2)
    token_a = basic(alice_a["api_token"])
    email_a = "Basic " + base64.b64encode(f"{alice_a['email']}:{alice_a['password']}".encode()).decode()
    bearer_a = f"Bearer {oauth_token(live, a)}"
    main = {"filter": "acme/main"}
    streams_a = [
        open_stream(None, headers={"Authorization": token_a}, **main),
        open_stream(None, headers={"Authorization": email_a}, **main),
        open_stream(None, headers={"Authorization": bearer_a}, **main),
        open_stream(None, access_token=oauth_token(live, a), **main),
        open_stream(None, "/stream/flows/acme/main", headers={"Authorization": token_a}),
    ]
    stream_b = open_stream(None, headers={"Authorization": basic(user(b, 1)["api_token"])}, **main)
    stream_default = open_stream(1, **main)
    listed = [s["world"] for s in open_stream.streams()]
    assert sorted(listed) == sorted([a["id"]] * len(streams_a) + [b["id"], DEFAULT_ID])

    send(live, basic(bob_b["api_token"]), "B's secret")
    send(live, basic(live.token(2)), "the default world's")
    sent = send(live, basic(bob_a["api_token"]), "A's own")
    for stream in streams_a:
        assert stream.wait_for(lambda e: e.get("content") == "A's own") == sent
    stream_b.wait_for(lambda e: e.get("content") == "B's secret")
    stream_default.wait_for(lambda e: e.get("content") == "the default world's")
    # A's message was sent last, after B's and the default world's: nothing else is on its way
    for stream in streams_a:
        assert texts(stream) == ["A's own"]
    assert texts(stream_b) == ["B's secret"]
    assert texts(stream_default) == ["the default world's"]


def test_deleting_a_world_ends_its_streams_and_leaves_the_others_open(
    live: LiveServer, open_stream: Opener, worlds: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    a, b = worlds
    main = {"filter": "acme/main"}
    stream_a = open_stream(None, headers={"Authorization": basic(user(a, 1)["api_token"])}, **main)
    stream_b = open_stream(None, headers={"Authorization": basic(user(b, 1)["api_token"])}, **main)
    live.app.worlds.delete(a["id"])
    stream_a.wait_end()
    send(live, basic(user(b, 2)["api_token"]), "still here")
    stream_b.wait_for(lambda e: e.get("content") == "still here")
    assert not stream_b.ended
    wait_until(lambda: {s["world"] for s in open_stream.streams()} == {b["id"]}, what="A's stream to go")
