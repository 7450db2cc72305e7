"""The Streaming API over real sockets (docs/flowdock.md §8.1): formats, filters, auth, access, replay.

Every event a test receives is parsed the way the clients parse it and checked against
spec/asyncapi.yaml (conftest.Stream).
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import pytest

from mock_server import errors
from tests.clients.conftest import LiveServer
from tests.conftest import ALICE, BOB, CAROL_ID, DAVE_ID
from tests.stream.conftest import Opener, basic, wait_until

MAIN = "/flows/acme/main/messages"


def post(live: LiveServer, user_id: int, path: str, body: dict[str, Any], method: str = "POST") -> Any:
    """A REST write as ``user_id`` over the same server (a second socket)."""
    import http.client

    port = int(live.base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": basic(live.token(user_id)), "Content-Type": "application/json"}
    conn.request(method, path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    assert response.status < 300, data
    return json.loads(data) if data else None


def say(live: LiveServer, user_id: int, text: str, flow: str = "acme/main") -> dict[str, Any]:
    result: dict[str, Any] = post(
        live, user_id, f"/flows/{flow}/messages", {"event": "message", "content": text}
    )
    return result


def flow_id(live: LiveServer, org: str = "acme", name: str = "main") -> str:
    found = live.app.store.flows.find(org, name)
    assert found is not None
    return str(found.id)


def content_is(text: str) -> Any:
    return lambda e: e.get("event") == "message" and e.get("content") == text


# --- the JSON stream ------------------------------------------------------------------------------
def test_json_stream__default_format_chunked_one_object_per_crlf_line(live, open_stream: Opener) -> None:
    stream = open_stream(filter="acme/main")
    assert stream.getheader("content-type").startswith("application/json")
    assert stream.getheader("transfer-encoding") == "chunked"
    sent = say(live, BOB["id"], "hello alice")
    got = stream.wait_for(content_is("hello alice"))
    assert got == sent  # exactly the message REST answered
    text = bytes(stream.raw)
    line = json.dumps(sent, separators=(",", ":")).encode()
    assert line + b"\r\n" in text or (json.loads(text.split(b"\r\n")[0]) == sent)


def test_json_stream__keepalive_is_a_lone_newline_never_crlf(live, open_stream: Opener) -> None:
    stream = open_stream(filter="acme/main")
    stream.wait_keepalives(2)
    say(live, BOB["id"], "between keep-alives")
    stream.wait_for(content_is("between keep-alives"))
    stream.wait_keepalives(stream.keepalives + 1)
    # Every \r is the end of an event line; keep-alives are bare \n (node-flowdock crashes on \r\n).
    raw = bytes(stream.raw)
    assert raw.count(b"\r\n") == len(stream.events) and raw.count(b"\r") == len(stream.events)
    assert b"\n\n" in raw or raw.startswith(b"\n")


def test_message_text_with_newlines_stays_on_one_line(live, open_stream: Opener) -> None:
    stream = open_stream(filter="acme/main")
    say(live, BOB["id"], "line one\nline two\r\nline three")
    got = stream.wait_for(lambda e: e.get("event") == "message")
    assert got["content"] == "line one\nline two\r\nline three"


# --- Server-Sent Events -------------------------------------------------------------------------------
def test_sse__id_and_data_lines_and_comment_keepalives(live, open_stream: Opener) -> None:
    stream = open_stream(filter="acme/main", sse=True)
    assert stream.getheader("content-type").startswith("text/event-stream")
    stream.wait_keepalives(1)
    say(live, BOB["id"], "sse hello")
    stream.wait_for(content_is("sse hello"))
    assert stream.ids == [live.app.store.events.last_seq]
    assert b"id: %d\ndata: {" % stream.ids[0] in bytes(stream.raw)


def test_sse__chosen_by_the_accept_parameter(live, open_stream: Opener) -> None:
    stream = open_stream(filter="acme/main", accept="text/event-stream")
    assert stream.sse


def test_sse__last_event_id_replays_what_was_missed_then_goes_live(live, open_stream: Opener) -> None:
    say(live, BOB["id"], "one")
    first = live.app.store.events.last_seq
    say(live, BOB["id"], "two")
    say(live, BOB["id"], "elsewhere", flow="acme/dev")  # not subscribed: not replayed
    say(live, BOB["id"], "three")
    stream = open_stream(filter="acme/main", sse=True, headers={"Last-Event-ID": str(first)})
    stream.wait_for(content_is("three"))
    say(live, BOB["id"], "four")
    stream.wait_for(content_is("four"))
    assert [e["content"] for e in stream.events] == ["two", "three", "four"]
    assert stream.ids == sorted(stream.ids) and stream.ids[0] > first


def test_sse__replay_after_a_reset_has_nothing(live, open_stream: Opener) -> None:
    say(live, BOB["id"], "before reset")
    before = live.app.store.events.last_seq
    live.app.store.reset()
    stream = open_stream(filter="acme/main", sse=True, headers={"Last-Event-ID": str(before - 1)})
    say(live, BOB["id"], "after reset")
    stream.wait_for(content_is("after reset"))
    assert [e["content"] for e in stream.events] == ["after reset"]
    assert stream.ids[0] == before + 1  # the sequence never goes back


# --- what a stream carries -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "filter_",
    ["acme/main", "acme:main", "{main}", "{main},{dev}", "acme/main,acme/dev"],
)
def test_filter__names_flows_by_path_legacy_colon_or_id(live, open_stream: Opener, filter_: str) -> None:
    value = filter_.replace("{main}", flow_id(live)).replace("{dev}", flow_id(live, "acme", "dev"))
    stream = open_stream(filter=value)
    say(live, BOB["id"], "dev talk", flow="acme/dev")
    say(live, BOB["id"], "main talk")
    stream.wait_for(content_is("main talk"))
    expect_dev = "dev" in filter_
    if expect_dev:
        stream.wait_for(content_is("dev talk"))
    else:
        assert not any(e.get("content") == "dev talk" for e in stream.events)


def test_filter__node_flowdock_url_encoding(live, open_stream: Opener) -> None:
    ids = f"{flow_id(live)},{flow_id(live, 'acme', 'dev')}"
    conn, response = open_stream.request(
        "/stream/flows?filter=" + ids.replace(",", "%2C").replace("-", "%2D"),
        {"Authorization": basic(live.token(ALICE["id"]))},
    )
    assert response.status == 200
    conn.close()


def test_single_flow_endpoint(live, open_stream: Opener) -> None:
    stream = open_stream(path="/stream/flows/acme/main")
    say(live, BOB["id"], "single")
    stream.wait_for(content_is("single"))


def test_stream_host__served_without_the_prefix(live, open_stream: Opener) -> None:
    stream = open_stream(path="/flows", headers={"Host": "stream.example.com"}, filter="acme/main")
    say(live, BOB["id"], "via stream host")
    stream.wait_for(content_is("via stream host"))
    one = open_stream(path="/flows/acme/main", headers={"Host": "stream.localhost:9"})
    say(live, BOB["id"], "again")
    one.wait_for(content_is("again"))


def test_user_1__private_messages_of_the_caller_only(live, open_stream: Opener) -> None:
    alice = open_stream(ALICE["id"], user=1, filter="acme/main")
    without = open_stream(ALICE["id"], filter="acme/main")
    carol = open_stream(CAROL_ID, user=1, filter="acme/main")
    post(live, BOB["id"], f"/private/{ALICE['id']}/messages", {"event": "message", "content": "psst"})
    say(live, BOB["id"], "sentinel")
    pm = alice.wait_for(lambda e: e.get("content") == "psst")
    assert pm["to"] == str(ALICE["id"]) and "flow" not in pm
    for other in (without, carol):
        other.wait_for(content_is("sentinel"))
        assert not any(e.get("content") == "psst" for e in other.events)


# 01: the integer the contract declares, as the validator casts it
@pytest.mark.parametrize("user", ["1", "01"])
def test_user_1_alone__private_messages_only(live, open_stream: Opener, user: str) -> None:
    stream = open_stream(ALICE["id"], user=user)
    post(
        live,
        BOB["id"],
        f"/private/{ALICE['id']}/messages",
        {"event": "message", "content": f"only pm {user}"},
    )
    stream.wait_for(lambda e: e.get("content") == f"only pm {user}")


def test_active__activity_user_to_the_flows_streams(live, open_stream: Opener) -> None:
    watcher = open_stream(BOB["id"], filter="acme/main")
    open_stream(ALICE["id"], filter="acme/main", active="idle")
    presence = watcher.wait_for(lambda e: e.get("event") == "activity.user")
    assert presence["user"] == str(ALICE["id"]) and presence["flow"] == flow_id(live)
    assert live.app.store.users.by_id[ALICE["id"]].last_ping > 0


def test_every_write_streams_its_events_by_type(live, open_stream: Opener) -> None:
    """One stream of Alice's sees the events of a session of writes, each type checked by the schema."""
    stream = open_stream(ALICE["id"], filter="acme/main,acme/dev", user=1)
    m = say(live, ALICE["id"], "typo")
    post(live, ALICE["id"], f"{MAIN}/{m['id']}", {"content": "fixed"}, method="PUT")
    post(live, ALICE["id"], f"{MAIN}/{m['id']}", {"tags": ["done"]}, method="PUT")
    post(live, ALICE["id"], f"{MAIN}/{m['id']}/comments", {"content": "a comment"})
    post(live, ALICE["id"], MAIN, {"event": "status", "content": "busy"})
    post(live, ALICE["id"], "/flows/acme/dev/users", {"id": DAVE_ID})
    post(live, BOB["id"], f"/users/{BOB['id']}", {"nick": "bobby"}, method="PUT")
    post(live, ALICE["id"], "/flows/acme/main/invitations", {"email": "x@example.com"})
    post(live, ALICE["id"], "/flows/acme", {"name": "Brand New"})
    wanted = ["message", "message-edit", "tag-change", "comment", "status", "action", "backend.user.join"]
    wanted += ["user-edit", "flow-add"]
    for kind in wanted:
        stream.wait_for(lambda e, kind=kind: e.get("event") == kind)


# --- access -----------------------------------------------------------------------------------------
def test_auth__basic_with_any_password_or_email_and_password(live, open_stream: Opener) -> None:
    user = live.app.store.users.by_id[ALICE["id"]]
    for password in ("", "DUMMY", "undefined"):
        open_stream(None, headers={"Authorization": basic(user.api_token, password)}, filter="acme/main")
    open_stream(None, headers={"Authorization": basic(user.email, user.password)}, filter="acme/main")


def test_auth__bearer_and_access_token(live, open_stream: Opener) -> None:
    from mock_server.store.oauth import AccessToken
    from mock_server.world import OAUTH_APP

    live.app.store.oauth.tokens["stream-tok"] = AccessToken(
        token="stream-tok", user_id=ALICE["id"], application_id=OAUTH_APP["id"], scopes=["flow", "private"]
    )
    open_stream(None, headers={"Authorization": "Bearer stream-tok"}, filter="acme/main")
    open_stream(None, filter="acme/main", access_token="stream-tok")


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, errors.AUTHENTICATION_REQUIRED),
        ({"Authorization": basic("not-a-token")}, 401, errors.INVALID_CREDENTIALS),
    ],
)
def test_auth__refused_with_flowdocks_401(live, open_stream: Opener, headers, status, message) -> None:
    conn, response = open_stream.request("/stream/flows?filter=acme/main", headers)
    assert response.status == status and json.loads(response.read())["message"] == message
    conn.close()


@pytest.mark.parametrize(
    ("filter_", "status", "message"),
    [
        ("acme/secret", 404, errors.NOT_FOUND),  # exists, invisible to Alice
        ("acme/nope", 404, errors.NOT_FOUND),
        ("00000000-0000-4000-8000-000000000000", 404, errors.NOT_FOUND),
        ("acme/random", 403, errors.NOT_A_MEMBER),  # organization flow she has not joined
        ("acme/main,acme/random", 403, errors.NOT_A_MEMBER),
    ],
)
def test_connect__invisible_404_unjoined_403(live, open_stream: Opener, filter_, status, message) -> None:
    conn, response = open_stream.request(
        "/stream/flows", {"Authorization": basic(live.token(ALICE["id"]))}, filter=filter_
    )
    body = json.loads(response.read())
    assert response.status == status and body["message"] == message
    conn.close()


NO_SELECTION = {"message": errors.VALIDATION_ERROR, "errors": {"filter": [errors.STREAM_NEEDS_FILTER]}}
"""Flowdock wanted `filter` or `user=1`: a stream of neither is this 400, in either mode."""


def refused_selection(opener: Opener, token: str, **query: Any) -> None:
    conn, response = opener.request("/stream/flows", {"Authorization": basic(token)}, **query)
    body = json.loads(response.read())
    conn.close()
    assert (response.status, body) == (400, NO_SELECTION), query


@pytest.mark.parametrize("query", [{}, {"user": 0}, {"filter": ""}, {"filter": ","}, {"active": "idle"}])
def test_connect__neither_filter_nor_user_is_400(live, open_stream: Opener, query: dict[str, Any]) -> None:
    refused_selection(open_stream, live.token(ALICE["id"]), **query)


def test_connect__user_true_alone_is_user_1_in_compatible_mode(live, open_stream: Opener) -> None:
    stream = open_stream(ALICE["id"], user="true")
    post(live, BOB["id"], f"/private/{ALICE['id']}/messages", {"event": "message", "content": "spelled"})
    stream.wait_for(lambda e: e.get("content") == "spelled")


def test_blocked_user__gets_the_block_and_flow_remove_then_nothing_of_the_flow(
    live, open_stream: Opener
) -> None:
    carol = open_stream(CAROL_ID, filter="acme/dev,acme/main")
    post(live, ALICE["id"], f"/flows/acme/dev/users/{CAROL_ID}", {"disabled": True}, method="PUT")
    removed = carol.wait_for(lambda e: e.get("event") == "flow-remove")
    assert removed["content"]["id"] == flow_id(live, "acme", "dev") and removed["user"] == CAROL_ID
    kinds = [e["event"] for e in carol.events]
    assert kinds.index("backend.user.block") < kinds.index("flow-remove")
    say(live, ALICE["id"], "secret after block", flow="acme/dev")
    say(live, ALICE["id"], "sentinel")
    carol.wait_for(content_is("sentinel"))
    assert not any(e.get("content") == "secret after block" for e in carol.events)


def test_removed_user__flow_remove_on_every_stream_of_theirs(live, open_stream: Opener) -> None:
    carol = open_stream(CAROL_ID, filter="acme/main")  # not subscribed to dev, still told
    post(live, ALICE["id"], f"/flows/acme/dev/users/{CAROL_ID}", {}, method="DELETE")
    carol.wait_for(lambda e: e.get("event") == "flow-remove")


# --- operability ---------------------------------------------------------------------------------------
def test_mock_streams__lists_open_connections(live, open_stream: Opener) -> None:
    stream = open_stream(ALICE["id"], filter="acme/main", sse=True, active="idle")
    say(live, BOB["id"], "count me")
    stream.wait_for(content_is("count me"))
    listed = wait_until(lambda: [s for s in open_stream.streams() if s["events_sent"] >= 1])
    entry = listed[0]
    assert entry["user"] == ALICE["id"] and entry["flows"] == [flow_id(live)]
    assert (
        entry["format"] == "text/event-stream"
        and entry["active"] == "idle"
        and entry["path"] == "/stream/flows"
    )
    stream.close()
    wait_until(lambda: not open_stream.streams(), what="the stream to be gone from /_mock/streams")


def test_journal_and_coverage__include_stream_connections(live, open_stream: Opener) -> None:
    live.app.runtime.journal.clear()
    stream = open_stream(filter="acme/main")
    stream.close()
    wait_until(lambda: not open_stream.streams())
    entries = wait_until(
        lambda: [e for e in live.app.runtime.journal.list() if e.get("operationId") == "streamFlows"]
    )
    assert entries[0]["status"] == 200
    assert "streamFlows" in json.dumps(live.app.runtime.journal.coverage())


def test_server_close__ends_the_stream_cleanly(live, open_stream: Opener) -> None:
    stream = open_stream(filter="acme/main")
    live.app.streams.close_all("test")
    stream.wait_end()


def test_stream_lifetime__each_stream_ends_cleanly_and_sse_resumes_where_it_ended() -> None:
    """``--stream-lifetime``: the server ends every stream that long after it opened, with the last
    chunk (as Flowdock's maintenance did); an SSE client reconnecting with ``Last-Event-ID`` then
    gets what was said meanwhile. Without it (every other test here) a stream lasts."""
    from mock_server.app import create_app
    from tests.clients.conftest import serve

    with serve(create_app(validate_responses=False, stream_lifetime=1.0, stream_keepalive=0.1)) as server:
        opener = Opener(server)
        try:
            json_stream = opener(ALICE["id"], filter="acme/main")
            sse = opener(ALICE["id"], filter="acme/main", sse=True)
            json_stream.wait_end()
            sse.wait_end()
            assert json_stream.clean and sse.clean  # the last chunk, not a dropped connection
            assert json_stream.keepalives > 0 and sse.keepalives > 0  # alive until it ended
            wait_until(lambda: opener.streams() == [], what="the ended streams to be released")
            seen = server.app.store.events.last_seq
            say(server, BOB["id"], "said while away")
            again = opener(ALICE["id"], filter="acme/main", sse=True, headers={"Last-Event-ID": str(seen)})
            again.wait_for(content_is("said while away"))
            again.wait_end()
        finally:
            for stream in opener.opened:
                stream.close()


def test_slow_consumer__closed_without_holding_up_the_others(
    open_stream: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that stops reading fills its queue and is dropped (aborted: its unsent buffer is
    not waited on), with one WARNING line and no ASGI error; a reading client is unaffected."""
    import socket

    from mock_server.app import create_app
    from tests.clients.conftest import serve

    with serve(create_app(validate_responses=False, stream_keepalive=30, stream_queue=8)) as server:
        opener = Opener(server)
        reader = opener(BOB["id"], filter="acme/main")
        stuck = socket.create_connection(("127.0.0.1", opener.port))
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        auth = basic(server.token(ALICE["id"]))
        stuck.sendall(
            f"GET /stream/flows?user=1 HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n".encode()
        )
        wait_until(lambda: len(opener.streams()) == 2, what="both streams to register")
        events = server.app.store.events
        big = "x" * 200_000
        for _ in range(200):  # private messages to Alice only, ~40 MB: far beyond any socket buffer
            events.emit(events.envelope("message", big, CAROL_ID, to=ALICE["id"]))
            if len(opener.streams()) == 1:
                break
        wait_until(
            lambda: [s["user"] for s in opener.streams()] == [BOB["id"]], what="the stuck stream to close"
        )
        say(server, ALICE["id"], "still flowing")
        reader.wait_for(content_is("still flowing"), timeout=20)
        # aborted: the server's side is gone at once (a reset or an end once the client reads)
        stuck.settimeout(20)
        with contextlib.suppress(ConnectionResetError):
            while stuck.recv(1 << 20):
                pass
        reader.close()
        stuck.close()
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "slow consumer" in r.getMessage()
    ]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]


def test_stream_limit__one_more_is_503_in_flowdocks_shape_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past ``--max-streams`` (every world's streams together) a stream is refused, before it holds
    a file descriptor for good; once one ends, the next is taken."""
    from mock_server.app import create_app
    from tests.clients.conftest import serve

    with serve(create_app(validate_responses=False, max_streams=2)) as server:
        opener = Opener(server)
        first = opener(ALICE["id"], filter="acme/main")
        opener(BOB["id"], filter="acme/main")
        conn, refused = opener.request(
            "/stream/flows", {"Authorization": basic(server.token(BOB["id"]))}, filter="acme/main"
        )
        assert refused.status == 503
        assert refused.getheader("content-type", "").startswith("application/json")
        assert refused.getheader("retry-after") == "1"
        body = json.loads(refused.read())
        conn.close()
        assert body["message"] == errors.SERVICE_UNAVAILABLE
        assert body["errors"] == {"base": [errors.STREAM_LIMIT.format(limit=2)]}
        assert any("--max-streams" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
        health, answer = opener.request("/_mock/health")
        assert answer.status == 200
        health.close()
        first.close()
        wait_until(lambda: len(opener.streams()) == 1, what="the first stream to end")
        again = opener(ALICE["id"], filter="acme/main")
        again.close()
        opener.opened[1].close()


def test_emit_from_another_thread__reaches_open_streams(live, open_stream: Opener) -> None:
    """What a test does to play Flowdock: ``store.events.emit`` from its own thread."""
    stream = open_stream(ALICE["id"], filter="acme/main", sse=True)
    events = live.app.store.events
    emitted = events.emit(
        events.envelope(
            "message",
            "as if streamed",
            BOB["id"],
            flow=flow_id(live),
            id=999,
            app="chat",
            edited=None,
            edited_at=None,
        )
    )
    got = stream.wait_for(lambda e: e.get("content") == "as if streamed")
    assert got["id"] == 999 and stream.ids[-1] == emitted.seq


def test_strict_mode__declared_stream_parameters_pass_undeclared_are_400(open_stream: Opener) -> None:
    from mock_server.app import create_app
    from tests.clients.conftest import serve

    with serve(create_app(strict=True, stream_keepalive=30)) as server:
        opener = Opener(server)
        stream = opener(ALICE["id"], filter="acme/main", user=1, active="idle", accept="application/json")
        stream.close()
        # the contract's `selection` is its two properties on the wire: either one alone will do
        opener(ALICE["id"], filter="acme/main").close()
        private = opener(ALICE["id"], user=1)
        post(server, BOB["id"], f"/private/{ALICE['id']}/messages", {"event": "message", "content": "strict"})
        private.wait_for(lambda e: e.get("content") == "strict")
        private.close()
        for query in ({}, {"user": 0}, {"filter": ","}, {"active": "idle"}):
            refused_selection(opener, server.token(ALICE["id"]), **query)
        conn, response = opener.request(
            "/stream/flows", {"Authorization": basic(server.token(ALICE["id"]))}, filter="acme/main", bogus=1
        )
        body = json.loads(response.read())
        assert response.status == 400 and "bogus" in body["errors"], body
        conn.close()


def test_worlds__a_stream_sees_only_its_own_worlds_events(live, open_stream: Opener) -> None:
    """Each world has its own event log and streams: the credential chooses the world."""
    import urllib.request

    request = urllib.request.Request(
        live.base_url + "/_mock/worlds",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as created:
        world = json.loads(created.read())
    users = {u["id"]: u for u in world["credentials"]["users"]}
    try:
        mine = open_stream(
            None, headers={"Authorization": basic(users[ALICE["id"]]["api_token"])}, filter="acme/main"
        )
        default = open_stream(ALICE["id"], filter="acme/main")
        listed = {s["world"] for s in open_stream.streams()}
        assert listed == {"default", world["id"]}
        post_as = {"Authorization": basic(users[BOB["id"]]["api_token"]), "Content-Type": "application/json"}
        import http.client

        c = http.client.HTTPConnection("127.0.0.1", open_stream.port, timeout=10)
        c.request(
            "POST", MAIN, body=json.dumps({"event": "message", "content": "in my world"}), headers=post_as
        )
        assert c.getresponse().status == 201
        c.close()
        mine.wait_for(content_is("in my world"))
        say(live, BOB["id"], "in the default world")
        default.wait_for(content_is("in the default world"))
        assert not any(e.get("content") == "in my world" for e in default.events)
        assert not any(e.get("content") == "in the default world" for e in mine.events)
    finally:
        delete = urllib.request.Request(live.base_url + f"/_mock/worlds/{world['id']}", method="DELETE")
        urllib.request.urlopen(delete, timeout=10).close()
    mine.wait_end()  # a removed world's streams end
