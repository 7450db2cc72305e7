"""Outgoing webhooks against receivers that misbehave, and against the mock itself.

Every delivery attempt ends within the server's total deadline and is recorded, whatever the
receiver does: answers a byte at a time, sends a status line or a header no parser takes, never
answers. Deleting a world ends its delivery worker at once, even mid-attempt. A webhook may not
target the mock's own listening address, a world holds a bounded number of webhooks, and
deliveries never push a client's own requests out of the journal. Real sockets on 127.0.0.1;
every receiver stops with its test.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from mock_server import errors
from mock_server.app import create_app
from tests.clients.conftest import LiveServer, serve
from tests.conftest import ALICE, assert_error

pytestmark = pytest.mark.client

DEADLINE = 1.0
"""The server's total deadline per attempt here (--webhook-timeout)."""
WAIT = 15.0
"""Upper bound of any wait in these tests."""
MAX_WEBHOOKS = 3


@pytest.fixture(scope="module")
def mock() -> Iterator[LiveServer]:
    app = create_app(journal_size=12, webhook_timeout=DEADLINE, max_webhooks=MAX_WEBHOOKS)
    with serve(app) as live:
        yield live


@pytest.fixture
def api(mock: LiveServer) -> Iterator[httpx.Client]:
    mock.app.runtime.reset_state()  # no webhooks, no deliveries
    mock.app.runtime.journal.clear()
    with httpx.Client(base_url=mock.base_url, timeout=WAIT, trust_env=False) as client:
        yield client


Behaviour = Callable[[socket.socket, threading.Event], None]


class Receiver(str):
    """The receiver's URL; ``answering`` is set once it has read a request and begun its behaviour."""

    answering: threading.Event


@contextmanager
def raw_receiver(behaviour: Behaviour) -> Iterator[Receiver]:
    """A TCP receiver on 127.0.0.1 that reads each request's head and then does ``behaviour``;
    everything it opened is closed when the block ends."""
    stop = threading.Event()
    answering = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    conns: list[socket.socket] = []

    def serve_forever() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conns.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    def handle(conn: socket.socket) -> None:
        conn.settimeout(WAIT)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            answering.set()
            behaviour(conn, stop)
        except OSError:
            return

    thread = threading.Thread(target=serve_forever, daemon=True)
    thread.start()
    url = Receiver(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    url.answering = answering
    try:
        yield url
    finally:
        stop.set()
        thread.join(WAIT)
        listener.close()
        for conn in conns:
            conn.close()


def drip(conn: socket.socket, stop: threading.Event) -> None:
    """A valid response, one byte every 0.2 s, never finished."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
        if stop.wait(0.2):
            return
        conn.sendall(bytes([byte]))


def line_too_long(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 200_000 + b"\r\n\r\n")


def bad_status_line(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"this is not HTTP\r\n\r\n")
    conn.shutdown(socket.SHUT_WR)


def silent(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(WAIT)


def post_message(api: httpx.Client, content: str = "hook me") -> None:
    r = api.post(
        "/flows/acme/main/messages",
        json={"event": "message", "content": content},
        auth=(ALICE["api_token"], ""),
    )
    assert r.status_code == 201, r.text


def register(api: httpx.Client, url: str, **params: Any) -> httpx.Response:
    return api.post("/_mock/webhooks", params=params, json={"url": url, "secret": "s", "events": ["message"]})


def deliveries(api: httpx.Client, at_least: int, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/_mock/webhooks/deliveries", params={"at_least": at_least, "timeout": WAIT, **params})
    assert r.status_code == 200, f"fewer than {at_least} attempts recorded: {r.text}"
    return list(r.json()["deliveries"])


# --- item 11: every attempt ends within the deadline and is recorded ------------------------------
@pytest.mark.parametrize(
    ("behaviour", "error"),
    [(drip, "deadline"), (silent, "deadline"), (line_too_long, "malformed"), (bad_status_line, "malformed")],
)
def test_every_attempt_ends_and_is_recorded(api: httpx.Client, behaviour: Behaviour, error: str) -> None:
    with raw_receiver(behaviour) as url:
        assert register(api, url).status_code == 201
        post_message(api)
        first = deliveries(api, 1)[0]
        assert first["status"] is None and first["ok"] is False
        assert error in first["error"], first
        assert first["will_retry"] is True
        # the worker is alive and goes on: the retries are recorded too
        assert [d["attempt"] for d in deliveries(api, 3)] == [1, 2, 3]


def test_deleting_a_world_ends_its_worker_mid_attempt(api: httpx.Client, mock: LiveServer) -> None:
    slow = create_app(webhook_timeout=60.0)  # a deadline far beyond this test's waits
    with (
        serve(slow) as server,
        raw_receiver(drip) as url,
        httpx.Client(base_url=server.base_url, timeout=WAIT, trust_env=False) as c,
    ):
        world = c.post("/_mock/worlds", json={}).json()
        token = world["credentials"]["users"][0]["api_token"]
        assert register(c, url, world=world["id"]).status_code == 201
        hooks = server.app.worlds.by_id[world["id"]].runtime.webhooks
        sent = c.post(
            "/flows/acme/main/messages", json={"event": "message", "content": "x"}, auth=(token, "")
        )
        assert sent.status_code == 201
        assert url.answering.wait(WAIT), "the delivery never started"
        worker = hooks._worker
        assert worker is not None and worker.is_alive()
        assert c.delete(f"/_mock/worlds/{world['id']}").status_code == 204
        worker.join(5.0)
        assert not worker.is_alive(), "the deleted world's delivery worker is still running"


# --- item 12: not the mock itself, a bounded number, the journal kept ------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/_mock/reset",
        "http://localhost:{port}/flows/acme/main/messages",
        "http://127.0.0.2:{port}/anything",
        "http://[::1]:{port}/",
    ],
)
def test_a_webhook_to_the_mock_itself_is_refused(api: httpx.Client, mock: LiveServer, target: str) -> None:
    port = mock.base_url.rsplit(":", 1)[1]
    r = register(api, target.format(port=port))
    assert_error(r, 400, errors.VALIDATION_ERROR, {"url": [errors.WEBHOOK_TO_SELF]})
    assert api.get("/_mock/webhooks").json()["webhooks"] == []


def test_webhooks_per_world_are_capped(api: httpx.Client) -> None:
    for i in range(MAX_WEBHOOKS):
        assert register(api, f"http://127.0.0.1:9/hook{i}").status_code == 201
    r = register(api, "http://127.0.0.1:9/one-more")
    assert_error(r, 429, errors.TOO_MANY_WEBHOOKS)
    assert len(api.get("/_mock/webhooks").json()["webhooks"]) == MAX_WEBHOOKS


def test_deliveries_never_push_clients_requests_out_of_the_journal(api: httpx.Client) -> None:
    with raw_receiver(bad_status_line) as url:
        for _ in range(MAX_WEBHOOKS):
            assert register(api, url).status_code == 201
        post_message(api, "mine")
        for i in range(4):  # 5 writes x 3 webhooks x 3 attempts: 45 attempts, a 12-entry journal
            post_message(api, f"more {i}")
        deliveries(api, 45)
    entries = api.get("/_mock/requests").json()["requests"]
    mine = [e for e in entries if "webhook" not in e]
    assert [e["operationId"] for e in mine] == ["sendFlowMessage"] * 5
    assert any("webhook" in e for e in entries)  # deliveries are journaled too, apart
