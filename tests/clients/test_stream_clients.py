"""Real streaming clients against the mock over real sockets (docs/flowdock.md §8.1, §10).

Each client is pointed at the mock only through its documented knob (docs/streaming.md):
node-flowdock and hubot-flowdock through ``FLOWDOCK_API_URL``/``FLOWDOCK_STREAM_URL``,
aioflowdock's ``EventStream`` through ``FLOWDOCK_STREAM_URL``, flowdock-api-wrapper through its
module global ``STREAM``. The npm packages come from tests/clients/node/package-lock.json
(``make node-clients``, which ``make test`` runs first). The server's keep-alive is short, so
every client also parses several keep-alives between the events it receives.
"""

from __future__ import annotations

import asyncio
import base64
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.clients.conftest import LiveServer
from tests.clients.nodeclients import TIMEOUT, launch_hubot, launch_node
from tests.conftest import ALICE, BOB, CAROL_ID
from tests.stream.asyncapi import assert_valid_event
from tests.stream.conftest import Opener, wait_until

pytestmark = pytest.mark.client


@pytest.fixture
def live(stream_live: LiveServer) -> Iterator[LiveServer]:
    """The stream server (tests/clients/conftest.py) in each world kind."""
    yield stream_live


def rest(live: LiveServer, user_id: int, method: str, path: str, body: Any = None) -> Any:
    import urllib.request

    request = urllib.request.Request(
        live.base_url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": "Basic " + base64.b64encode(f"{live.token(user_id)}:".encode()).decode(),
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        data = response.read()
    return json.loads(data) if data else None


def flow_id(live: LiveServer, name: str = "main") -> str:
    found = live.store.flows.find("acme", name)
    assert found is not None
    return str(found.id)


def keepalives_seen(live: LiveServer, user_id: int, count: int) -> None:
    """Wait until the user's stream has been sent ``count`` keep-alives (and is still open)."""
    wait_until(
        lambda: any(s["user"] == user_id and s["keepalives_sent"] >= count for s in live.streams.list()),
        timeout=TIMEOUT,
        what=f"{count} keep-alives on user {user_id}'s stream",
    )


# --- node -------------------------------------------------------------------------------------------
def test_node_flowdock__session_stream_receives_what_another_user_posts(live: LiveServer) -> None:
    with launch_node(
        live, "stream_listen.js", flow_id(live), flow_id(live, "dev"), FLOWDOCK_TOKEN=live.token(ALICE["id"])
    ) as listener:
        listener.wait_line(lambda line: '"connected"' in line)
        keepalives_seen(live, ALICE["id"], 3)  # lone \n keep-alives: its parser must skip them
        sent = rest(
            live, BOB["id"], "POST", "/flows/acme/dev/messages", {"event": "message", "content": "hi node"}
        )
        line = listener.wait_line(lambda line: "hi node" in line)
        got = json.loads(line)["message"]
        assert got == sent
        assert_valid_event(got)
        rest(
            live,
            BOB["id"],
            "POST",
            f"/private/{ALICE['id']}/messages",
            {"event": "message", "content": "pm node"},
        )
        pm = json.loads(listener.wait_line(lambda line: "pm node" in line))["message"]
        assert pm["to"] == str(ALICE["id"]) and "flow" not in pm
        assert not any("clientError" in line for line in listener.seen), listener.seen
        stream = next(s for s in live.streams.list() if s["user"] == ALICE["id"])
        assert stream["private"] is True and stream["format"] == "application/json"


def test_hubot_flowdock__a_real_hubot_answers_ping_with_pong_in_the_thread(live: LiveServer) -> None:
    bot = live.store.users.by_id[CAROL_ID]  # the bot's Flowdock account; hubot is named after it
    with launch_hubot(live, CAROL_ID) as hubot:
        # hubot-flowdock streams every joined flow with active=idle and user=1.
        wait_until(
            lambda: [s for s in live.streams.list() if s["user"] == CAROL_ID],
            timeout=TIMEOUT,
            what="hubot's stream",
        )
        (stream,) = [s for s in live.streams.list() if s["user"] == CAROL_ID]
        assert stream["private"] is True and stream["active"] == "idle" and flow_id(live) in stream["flows"]
        keepalives_seen(live, CAROL_ID, 2)
        ping = rest(
            live,
            ALICE["id"],
            "POST",
            "/flows/acme/main/messages",
            {"event": "message", "content": f"{bot.nick} ping"},
        )

        def pong() -> Any:
            page = rest(live, ALICE["id"], "GET", f"/flows/acme/main/messages?since_id={ping['id']}")
            return [m for m in page if m["user"] == str(CAROL_ID)]

        (answer,) = wait_until(pong, timeout=TIMEOUT, what="the bot's PONG")
        assert answer["content"] == "PONG" and answer["thread_id"] == ping["thread_id"]
        # Its own message came back on its stream: hubot ignores it (no second PONG).
        hubot.wait_line(lambda line: "connected and streaming" in line, timeout=5)
        assert len(pong()) == 1


# --- Python ---------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings(
    "ignore:pyee.AsyncIOEventEmitter has been moved:DeprecationWarning"
)  # its own import
def test_aioflowdock__event_stream_receives_a_message(live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDOCK_STREAM_URL", live.base_url + "/stream/flows")
    from aioflowdock.stream import EventStream

    async def scenario() -> dict[str, Any]:
        received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        auth = "Basic " + base64.b64encode(f"{live.token(ALICE['id'])}:".encode()).decode()
        stream = EventStream(auth, [flow_id(live)], params={"active": "idle", "user": "1"})
        stream.on("message", received.put_nowait)
        await stream.connect()
        try:
            await asyncio.to_thread(keepalives_seen, live, ALICE["id"], 3)
            await asyncio.to_thread(
                rest,
                live,
                BOB["id"],
                "POST",
                "/flows/acme/main/messages",
                {"event": "message", "content": "hi aio"},
            )
            while True:
                event = await asyncio.wait_for(received.get(), TIMEOUT)
                if event.get("content") == "hi aio":
                    return event
        finally:
            await stream.end()
            await stream.session.close()

    event = asyncio.run(scenario())
    assert_valid_event(event)
    assert event["user"] == str(BOB["id"]) and int(event["user"]) == BOB["id"]  # the adapter's int(user)


def test_flowdock_api_wrapper__events_of_a_flow(live, monkeypatch: pytest.MonkeyPatch) -> None:
    import flowdock

    monkeypatch.setattr(flowdock, "API", live.base_url)
    monkeypatch.setattr(flowdock, "STREAM", live.base_url + "/stream")
    flow = flowdock.connect(token=live.token(ALICE["id"]), org="acme", flow="main")
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    def listen() -> None:
        for event in flow.events():  # ends when the server closes the stream
            received.put(event)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    opener = Opener(live)
    wait_until(lambda: [s for s in opener.streams() if s["format"] == "text/event-stream"], timeout=TIMEOUT)
    keepalives_seen(live, ALICE["id"], 3)
    bob = flowdock.connect(token=live.token(BOB["id"]), org="acme", flow="main")
    bob.send("hi wrapper")
    event = received.get(timeout=TIMEOUT)
    while event.get("content") != "hi wrapper":
        event = received.get(timeout=TIMEOUT)
    assert_valid_event(event)
    live.streams.close_all("test ended")
    listener.join(timeout=TIMEOUT)
    assert not listener.is_alive()
