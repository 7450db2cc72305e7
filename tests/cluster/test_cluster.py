"""Worlds sharded over 3 mock processes behind HAProxy (mock_server/cluster/).

30 worlds are created through the proxy and spread round-robin; each is then used with every
kind of credential a Flowdock client sends (HTTP Basic with an API token, email and password, an
OAuth token as Bearer and as ``?access_token=``, a source's ``flow_token`` in the body and in the
query, ``PUT /sources`` with the token in the body, the OAuth token endpoint with its credential
in a form and in a JSON body, the Push API's path token, the control API's world id) while a
stream per world is open. Each world's journal (kept by the shard that owns it) must hold exactly
the requests sent with its credentials, each stream exactly its world's messages, and each
world's flow no other world's. The tests run in order: the last one kills a shard.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from mock_server.cluster.supervisor import Cluster
from mock_server.world import MAIN_USER, OAUTH_APP
from tests.cluster.conftest import PROCESSES, basic, request
from tests.stream.conftest import Stream, connect

WORLDS = 30
MAIN = "/flows/acme/main/messages"
KINDS = (
    "basic",
    "login",
    "bearer",
    "query",
    "flow-body",
    "flow-form",
    "flow-multipart",
    "flow-query",
    "push",
)
"""The marker each credential kind posts into its world's main flow."""
EXPECTED_OPERATIONS = Counter(
    {
        "sendFlowMessage": 4,  # basic, login, bearer, query
        "oauthToken": 2,  # form body, JSON body
        "sendMessage": 4,  # flow_token in a JSON, form or multipart body, in the query
        "updateSourceByToken": 1,
        "pushChatMessage": 1,
        "listFlowMessages": 1,
    }
)
"""What each world's journal must hold after ``test_every_credential_kind_reaches_its_world``."""

created: list[dict[str, Any]] = []
streams: dict[str, Stream] = {}


def shard(world_id: str) -> str:
    return world_id.split(".", 1)[0]


def marker(world: dict[str, Any], kind: str) -> str:
    return f"{world['id']} {kind}"


def user(world: dict[str, Any]) -> dict[str, Any]:
    return dict(next(u for u in world["credentials"]["users"] if u["id"] == MAIN_USER["id"]))


def application(world: dict[str, Any]) -> dict[str, Any]:
    return dict(next(a for a in world["credentials"]["oauth_applications"] if a["id"] == OAUTH_APP["id"]))


def main_source(world: dict[str, Any]) -> dict[str, Any]:
    sheet = world["credentials"]
    main = next(f for f in sheet["flows"] if f["organization"] == "acme" and f["flow"] == "main")
    return dict(next(s for s in sheet["sources"] if s["flow"] == main["id"]) | {"push": main["api_token"]})


def test_worlds_created_through_the_proxy_spread_over_every_shard(port: int) -> None:
    for _ in range(WORLDS):
        answer = request(port, "POST", "/_mock/worlds", json_body={})
        assert answer.status == 201, answer.body
        created.append(answer.body)
    per_shard = Counter(shard(w["id"]) for w in created)
    assert per_shard == {f"s{i}": WORLDS // PROCESSES for i in range(PROCESSES)}
    for world in created:  # every credential of a world names the world's shard
        prefix = shard(world["id"]) + "."
        sheet = world["credentials"]
        assert all(
            u["api_token"].startswith(prefix) and u["email"].startswith(prefix) for u in sheet["users"]
        )
        assert all(s["flow_token"].startswith(prefix) for s in sheet["sources"])
    # the cluster's list: every shard's worlds, the default world once
    listed = request(port, "GET", "/_mock/worlds")
    assert listed.status == 200, listed.body
    ids = [w["id"] for w in listed.body["worlds"]]
    assert ids[0] == "default" and sorted(ids[1:]) == sorted(w["id"] for w in created)
    assert [(s["name"], s["up"], s["worlds"]) for s in listed.body["shards"]] == [
        ("s0", True, WORLDS // PROCESSES + 1),
        *((f"s{i}", True, WORLDS // PROCESSES) for i in range(1, PROCESSES)),
    ]
    # each world is addressed by id through the proxy, on its own shard: in the path, and in the
    # Kit's ?world= (the clock of a world another shard holds would be a 404)
    for world in created:
        answer = request(port, "GET", f"/_mock/worlds/{world['id']}")
        assert answer.status == 200 and answer.body["id"] == world["id"], answer.body
        assert request(port, "GET", f"/_mock/clock?world={world['id']}").status == 200


def test_a_stream_per_world_opens_through_the_proxy(port: int) -> None:
    assert len(created) == WORLDS
    for world in created:
        stream = connect(port, "/stream/flows/acme/main", basic(user(world)["api_token"]))
        assert stream.status == 200, stream.raw
        streams[world["id"]] = stream
    for world in created:  # each shard registered its worlds' streams
        info = request(port, "GET", "/_mock/streams", headers=basic(user(world)["api_token"]))
        assert info.status == 200


def send_with_every_credential(port: int, world: dict[str, Any]) -> None:
    alice, app, source = user(world), application(world), main_source(world)

    def ok(answer: Any, status: int) -> Any:
        assert answer.status == status, (world["id"], answer.status, answer.body)
        return answer.body

    def chat(kind: str) -> dict[str, Any]:
        return {"event": "message", "content": marker(world, kind)}

    ok(request(port, "POST", MAIN, headers=basic(alice["api_token"]), json_body=chat("basic")), 201)
    ok(
        request(
            port, "POST", MAIN, headers=basic(alice["email"], alice["password"]), json_body=chat("login")
        ),
        201,
    )
    # the OAuth token endpoint, its only credential in the body: a form, then JSON
    form = urlencode(
        {
            "grant_type": "password",
            "username": alice["email"],
            "password": alice["password"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "flow offline_access",
        }
    )
    token = ok(request(port, "POST", "/oauth/token", form=form), 200)
    refreshed = ok(
        request(
            port,
            "POST",
            "/oauth/token",
            json_body={
                "grant_type": "refresh_token",
                "refresh_token": token["refresh_token"],
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
            },
        ),
        200,
    )
    bearer = {"Authorization": f"Bearer {refreshed['access_token']}"}
    ok(request(port, "POST", MAIN, headers=bearer, json_body=chat("bearer")), 201)
    query = "?access_token=" + quote(refreshed["access_token"])
    ok(request(port, "POST", MAIN + query, json_body=chat("query")), 201)
    # a source's flow_token: in the body of POST /messages and PUT /sources, in the query
    ok(
        request(
            port, "POST", "/messages", json_body={"flow_token": source["flow_token"], **chat("flow-body")}
        ),
        202,
    )
    form_post = urlencode({"flow_token": source["flow_token"], **chat("flow-form")})
    ok(request(port, "POST", "/messages", form=form_post), 202)
    multipart = {"flow_token": source["flow_token"], **chat("flow-multipart")}
    ok(request(port, "POST", "/messages", multipart=multipart), 202)
    ok(
        request(port, "POST", "/messages?flow_token=" + source["flow_token"], json_body=chat("flow-query")),
        202,
    )
    renamed = ok(
        request(port, "PUT", "/sources", json_body={"flow_token": source["flow_token"], "name": "sharded"}),
        200,
    )
    assert renamed["id"] == source["id"]
    # the Push API: the flow's token in the path
    push = {"content": marker(world, "push"), "external_user_name": "bot"}
    ok(request(port, "POST", f"/messages/chat/{source['push']}", json_body=push), 200)


def test_every_credential_kind_reaches_its_world(port: int) -> None:
    assert len(streams) == WORLDS
    for world in created:
        send_with_every_credential(port, world)
    everyone = {marker(w, kind) for w in created for kind in KINDS}
    for world in created:
        mine = {marker(world, kind) for kind in KINDS}
        # the world's flow holds its own markers and no other world's
        page = request(port, "GET", MAIN + "?limit=100", headers=basic(user(world)["api_token"]))
        assert page.status == 200
        contents = {m["content"] for m in page.body if isinstance(m.get("content"), str)}
        assert contents & everyone == mine, world["id"]
        # its stream carried exactly its world's markers
        stream = streams[world["id"]]
        for text in mine:
            stream.wait_for(lambda e, text=text: e.get("content") == text)
        seen = {e.get("content") for e in stream.events if e.get("event") == "message"}
        assert seen & everyone == mine, world["id"]
        # and its journal, kept by its own shard, exactly the requests sent with its credentials
        journal = request(port, "GET", f"/_mock/worlds/{world['id']}/requests")
        assert journal.status == 200
        operations = Counter(
            e["operationId"] for e in journal.body["requests"] if not e["operationId"].startswith("stream")
        )
        assert operations == EXPECTED_OPERATIONS, (world["id"], operations)


def test_file_downloads_lead_back_through_the_proxy_to_their_world(cluster: Cluster, port: int) -> None:
    """/files/... redirects to the processes' public URL, the proxy's, and the download token in
    that URL names the world's shard."""
    for world in created[:PROCESSES]:  # one world per shard (round-robin)
        auth = basic(user(world)["api_token"])
        files = request(port, "GET", MAIN + "?event=file&limit=1", headers=auth)
        path = files.body[0]["content"]["path"]
        redirect = request(port, "GET", path, headers=auth)
        assert redirect.status == 302, redirect.body
        location = redirect.headers["location"]
        assert location.startswith(cluster.url + "/_mock/files/" + shard(world["id"]) + "."), location
        download = request(port, "GET", location.removeprefix(cluster.url))
        assert download.status == 200 and download.body


def test_requests_without_a_shard_credential_reach_the_default_world_on_the_first_shard(port: int) -> None:
    me = request(port, "GET", "/user", headers=basic(MAIN_USER["api_token"]))
    assert me.status == 200 and me.body["email"] == MAIN_USER["email"]
    assert request(port, "GET", "/user").status == 401
    # what the default world served is in s0's journal, not in any created world's
    default = request(port, "GET", "/_mock/worlds/default/requests")
    assert any(e["operationId"] == "getCurrentUser" and e["status"] == 200 for e in default.body["requests"])
    # an unknown shard prefix is no shard's: the default world answers 401
    assert request(port, "GET", "/user", headers=basic("s9.0123456789abcdef")).status == 401


def test_killing_one_shard_fails_only_its_worlds(cluster: Cluster, port: int) -> None:
    victim = next(c for c in cluster.children if c.shard.name == "s1")
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=10)
    for world in created:
        answer = request(port, "GET", "/user", headers=basic(user(world)["api_token"]))
        if shard(world["id"]) == "s1":
            assert answer.status in (502, 503), (world["id"], answer.status)
        else:
            assert answer.status == 200, (world["id"], answer.status, answer.body)
    # the killed shard's streams ended; the others still carry their world's new messages
    for world in created:
        stream = streams[world["id"]]
        if shard(world["id"]) == "s1":
            stream.wait_end()
            continue
        text = marker(world, "after the kill")
        sent = request(
            port,
            "POST",
            MAIN,
            headers=basic(user(world)["api_token"]),
            json_body={"event": "message", "content": text},
        )
        assert sent.status == 201
        stream.wait_for(lambda e, text=text: e.get("content") == text)
    # new worlds land on the shards that are up; the list says which shard is down
    deadline = time.monotonic() + 10
    for _ in range(4):
        answer = request(port, "POST", "/_mock/worlds", json_body={})
        assert answer.status == 201, answer.body
        assert shard(answer.body["id"]) in ("s0", "s2")
        assert time.monotonic() < deadline
    listed = request(port, "GET", "/_mock/worlds")
    assert listed.status == 200
    assert [(s["name"], s["up"]) for s in listed.body["shards"]] == [
        ("s0", True),
        ("s1", False),
        ("s2", True),
    ]
    assert not any(shard(w["id"]) == "s1" for w in listed.body["worlds"])
    assert cluster.check() is None  # the supervisor reports the dead shard and keeps serving


@pytest.fixture(scope="module", autouse=True)
def _close_streams() -> Any:
    yield
    for stream in streams.values():
        stream.close()
