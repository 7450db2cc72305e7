"""Outgoing webhooks over real sockets: a receiver on 127.0.0.1 checks every delivery's signature
and sees a failed delivery retried (runtime/webhooks.py, docs/flowdock.md §8.6)."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.clients.conftest import LiveServer
from tests.conftest import ALICE, BOB

pytestmark = pytest.mark.client

SECRET = "webhook-shared-secret"
WAIT = 10.0
"""Seconds a test waits for a delivery at most (the receiver answers at once)."""


@dataclass
class Receiver:
    url: str
    deliveries: queue.Queue[tuple[dict[str, str], bytes, int]] = field(default_factory=queue.Queue)
    fail_next: int = 0
    """Answer this many next deliveries with 500."""

    def next(self) -> tuple[dict[str, str], bytes, int]:
        return self.deliveries.get(timeout=WAIT)


@contextmanager
def receiver() -> Iterator[Receiver]:
    """An HTTP receiver on a free 127.0.0.1 port, in a thread, until the block ends."""
    found: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            me = found[0]
            status = 200
            if me.fail_next:
                me.fail_next -= 1
                status = 500
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            me.deliveries.put(({k.lower(): v for k, v in self.headers.items()}, body, status))

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    found.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield found[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


def register(live: LiveServer, **body: Any) -> dict[str, Any]:
    r = requests.post(f"{live.base_url}/_mock/webhooks", params=live.world_query, json=body, timeout=10)
    assert r.status_code == 201, r.text
    return dict(r.json())


def post(live: LiveServer, user: int, content: str) -> dict[str, Any]:
    r = requests.post(
        f"{live.base_url}/flows/acme/main/messages",
        json={"event": "message", "content": content},
        auth=(live.token(user), ""),
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def assert_signed(headers: dict[str, str], body: bytes) -> None:
    assert headers["content-type"] == "application/json"
    expected = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert hmac.compare_digest(headers["x-flowdock-signature"], expected)


def test_webhooks__every_delivery_is_signed_and_a_failure_is_retried(live: LiveServer) -> None:
    with receiver() as hook:
        register(live, url=hook.url, secret=SECRET, flows=["acme/main"], events=["message"])
        hook.fail_next = 1
        sent = post(live, ALICE["id"], "deploy api")
        first_headers, first_body, first_status = hook.next()
        retry_headers, retry_body, retry_status = hook.next()
        assert (first_status, retry_status) == (500, 200)
        for headers, body in ((first_headers, first_body), (retry_headers, retry_body)):
            assert_signed(headers, body)
            event = json.loads(body)
            assert (
                event["event"] == "message" and event["id"] == sent["id"] and event["content"] == "deploy api"
            )
        assert first_body == retry_body
        post(live, BOB["id"], "second")
        headers, body, _ = hook.next()
        assert_signed(headers, body)
        assert json.loads(body)["content"] == "second"

        r = requests.get(
            f"{live.base_url}/_mock/webhooks/deliveries",
            params={"at_least": 3, **live.world_query},
            timeout=WAIT + 5,
        )
        assert r.status_code == 200, r.text
        attempts = [(d["attempt"], d["status"], d["will_retry"]) for d in r.json()["deliveries"]]
        assert attempts == [(1, 500, True), (2, 200, False), (1, 200, False)]
        journal = requests.get(live.world_url("/requests"), timeout=10).json()["requests"]
        assert [e["webhook"]["attempt"] for e in journal if "webhook" in e] == [1, 2, 1]


def test_webhooks__only_chosen_flows_and_types_are_delivered(live: LiveServer) -> None:
    with receiver() as hook:
        register(live, url=hook.url, secret=SECRET, flows=["acme/dev"], events=["message"])
        post(live, ALICE["id"], "not in dev")
        r = requests.post(
            f"{live.base_url}/flows/acme/dev/messages",
            json={"event": "message", "content": "in dev"},
            auth=(live.token(ALICE["id"]), ""),
            timeout=10,
        )
        assert r.status_code == 201
        headers, body, _ = hook.next()
        assert_signed(headers, body)
        assert json.loads(body)["content"] == "in dev"
        assert hook.deliveries.empty()


def test_webhooks__an_injected_event_is_delivered_like_a_real_one(live: LiveServer) -> None:
    with receiver() as hook:
        register(live, url=hook.url, secret=SECRET, events=["emoji-reaction"])
        content = {"message": 1, "emoji": "+1", "type": "add"}
        r = requests.post(
            f"{live.base_url}/_mock/events",
            params=live.world_query,
            json={"event": "emoji-reaction", "user": BOB["id"], "flow": "acme/main", "content": content},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        headers, body, _ = hook.next()
        assert_signed(headers, body)
        assert json.loads(body) == r.json()["events"][0]["event"]


@pytest.mark.parametrize(
    "url", ["http://192.0.2.1/hook", "http://example.com/hook", "ftp://127.0.0.1/x", "http:///nohost"]
)
def test_webhooks__only_loopback_urls_can_be_registered(live: LiveServer, url: str) -> None:
    r = requests.post(
        f"{live.base_url}/_mock/webhooks",
        params=live.world_query,
        json={"url": url, "secret": "s"},
        timeout=10,
    )
    assert r.status_code == 400
    assert "url" in r.json()["errors"]


def test_webhooks__a_reset_forgets_them(live: LiveServer) -> None:
    register(live, url="http://127.0.0.1:9/hook", secret="s")
    assert requests.post(live.world_url("/reset"), timeout=10).status_code == 200
    listed = requests.get(f"{live.base_url}/_mock/webhooks", params=live.world_query, timeout=10)
    assert listed.json() == {"webhooks": []}
