"""Real streaming clients against the mock over real sockets (docs/flowdock.md §8.1, §10).

Each client is pointed at the mock only through its documented knob (README "Streaming clients"):
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
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server.app import create_app
from tests.clients.conftest import LiveServer, serve
from tests.conftest import ALICE, BOB, CAROL_ID
from tests.stream.asyncapi import assert_valid_event
from tests.stream.conftest import Opener, wait_until

pytestmark = pytest.mark.client

NODE_DIR = Path(__file__).resolve().parent / "node"
KEEPALIVE = 0.1
COFFEE = str(NODE_DIR / "node_modules" / ".bin" / "coffee")
"""hubot 3's bin/hubot is CoffeeScript, as are hubot-flowdock's sources: run by the lockfile's coffee."""
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def stream_live() -> Iterator[LiveServer]:
    with serve(create_app(validate_responses=True, stream_keepalive=KEEPALIVE)) as server:
        yield server


@pytest.fixture
def live(stream_live: LiveServer) -> Iterator[LiveServer]:
    stream_live.app.store.reset()
    yield stream_live
    stream_live.app.streams.close_all("test ended")


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
    found = live.app.store.flows.find("acme", name)
    assert found is not None
    return str(found.id)


def keepalives_seen(live: LiveServer, user_id: int, count: int) -> None:
    """Wait until the user's stream has been sent ``count`` keep-alives (and is still open)."""
    wait_until(
        lambda: any(s["user"] == user_id and s["keepalives_sent"] >= count for s in live.app.streams.list()),
        timeout=TIMEOUT,
        what=f"{count} keep-alives on user {user_id}'s stream",
    )


# --- node -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    assert found, "node (Node.js 20) is needed for the npm streaming clients"
    assert (NODE_DIR / "node_modules" / "flowdock").is_dir(), (
        "run `make node-clients` (npm ci in tests/clients/node)"
    )
    return found


class Process:
    """A child process whose stdout lines are collected in the background; killed at the end."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_line(self, predicate: Any, timeout: float = TIMEOUT) -> str:
        for line in self.seen:
            if predicate(line):
                return line
        import time

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no matching output; got:\n" + "".join(self.seen[-40:]))
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError("the process exited:\n" + "".join(self.seen[-40:])) from None
                continue
            self.seen.append(line)
            if predicate(line):
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def node_env(live: LiveServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWDOCK_", "HUBOT_"))}
    env.update(
        FLOWDOCK_API_URL=live.base_url,
        FLOWDOCK_STREAM_URL=live.base_url + "/stream/flows",
        NO_PROXY="127.0.0.1,localhost",
        **extra,
    )
    return env


def test_node_flowdock__session_stream_receives_what_another_user_posts(live, node) -> None:
    listener = Process(
        [node, "stream_listen.js", flow_id(live), flow_id(live, "dev")],
        node_env(live, FLOWDOCK_TOKEN=live.token(ALICE["id"])),
        NODE_DIR,
    )
    try:
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
        stream = next(s for s in live.app.streams.list() if s["user"] == ALICE["id"])
        assert stream["private"] is True and stream["format"] == "application/json"
    finally:
        listener.stop()


def test_hubot_flowdock__a_real_hubot_answers_ping_with_pong_in_the_thread(live, node) -> None:
    bot = live.app.store.users.by_id[CAROL_ID]  # the bot's Flowdock account; hubot is named after it
    hubot = Process(
        [COFFEE, "node_modules/hubot/bin/hubot", "--adapter", "flowdock", "--name", bot.nick],
        node_env(live, HUBOT_FLOWDOCK_API_TOKEN=bot.api_token, HUBOT_LOG_LEVEL="info"),
        NODE_DIR,
    )
    try:
        # hubot-flowdock streams every joined flow with active=idle and user=1.
        wait_until(
            lambda: [s for s in live.app.streams.list() if s["user"] == CAROL_ID],
            timeout=TIMEOUT,
            what="hubot's stream",
        )
        (stream,) = [s for s in live.app.streams.list() if s["user"] == CAROL_ID]
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
    finally:
        hubot.stop()


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
    live.app.streams.close_all("test ended")
    listener.join(timeout=TIMEOUT)
    assert not listener.is_alive()
