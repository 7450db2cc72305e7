"""A real server on a real socket, for tests that drive real Flowdock client libraries.

``serve(app)`` runs an app under uvicorn in a background thread on a free 127.0.0.1 port and
stops it on exit (bounded waits both ways). ``live_server`` is one compatible-mode server for the
session; ``live`` is the same server with a fresh copy of the seeded world for each test, run
twice: once in the default world (reset) and once in a world created through ``POST /_mock/worlds``
(``in_world``), whose credentials are all different. Every client scenario must give the same
results in both: a client holds only credentials, which pick the world (runtime/worlds.py).
Clients point their base URL at ``live.base_url`` (docs/flowdock.md §10 says how for each client).
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from mock_server.app import create_app
from mock_server.launch import make_server
from mock_server.serving import HttpLimits

STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 5.0


WORLDS = ("default", "created")
"""The worlds every client scenario runs in (the ``live`` fixtures' parameter)."""


@dataclass
class LiveServer:
    """A running server: where it listens, its app, and the world a test's clients reach
    (``store`` and ``streams`` for white-box checks; ``token`` and ``oauth_app`` are that world's
    credentials, which is all that makes a client reach it)."""

    base_url: str
    app: Any
    world: str = "default"

    @property
    def store(self) -> Any:
        return self.app.worlds.get(self.world).store

    @property
    def streams(self) -> Any:
        """The world's stream hub (its open connections; attached on first use)."""
        from mock_server.stream.hub import StreamHub

        return StreamHub.of(self.store)

    @property
    def world_query(self) -> dict[str, str]:
        """``?world=`` for the control API's kit routes (empty for the default world)."""
        return {} if self.world == "default" else {"world": self.world}

    def world_url(self, route: str) -> str:
        """A per-world control route (``/reset``, ``/requests``...): ``/_mock/worlds/<id>/...``
        (``/_mock/...`` for the default world)."""
        prefix = "/_mock" if self.world == "default" else f"/_mock/worlds/{self.world}"
        return f"{self.base_url}{prefix}{route}"

    def token(self, user_id: int) -> str:
        """That user's personal API token (Basic username, any password)."""
        return str(self.store.users.by_id[user_id].api_token)

    def oauth_app(self, app_id: int) -> dict[str, str]:
        """That OAuth application's client id, secret and redirect URI in this world."""
        app = self.store.oauth.applications[app_id]
        return {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": app.redirect_uri,
        }


@contextmanager
def in_world(server: LiveServer, kind: str) -> Iterator[LiveServer]:
    """``server`` with a fresh copy of the seeded world: the default world reset, or a world
    created through the control API as a user would (and deleted after)."""
    if kind == "default":
        server.app.runtime.reset_state()  # the world, its clock and webhooks
        yield server
        return
    created = requests.post(f"{server.base_url}/_mock/worlds", json={}, timeout=STARTUP_TIMEOUT)
    assert created.status_code == 201, created.text
    world = created.json()["id"]
    try:
        yield dataclasses.replace(server, world=world)
    finally:
        requests.delete(f"{server.base_url}/_mock/worlds/{world}", timeout=STARTUP_TIMEOUT)


@pytest.fixture(params=WORLDS)
def world_kind(request: pytest.FixtureRequest) -> str:
    """Which world a client scenario runs in: the default one, or one created for the test."""
    return str(request.param)


@contextmanager
def serve(app: Any, limits: HttpLimits | None = None) -> Iterator[LiveServer]:
    """Serve ``app`` on a free 127.0.0.1 port in a thread until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ready = threading.Event()
    # The CLI's server: it ends open streams on exit, and says when it accepts connections.
    server = make_server(app, "warning", ready.set, limits)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    try:
        if not ready.wait(STARTUP_TIMEOUT):
            raise RuntimeError("the live server did not start")
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        sock.close()


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """One compatible-mode server (response validation on) for the whole session."""
    with serve(create_app(validate_responses=True)) as server:
        yield server


@pytest.fixture
def live(live_server: LiveServer, world_kind: str) -> Iterator[LiveServer]:
    """The session's server with a fresh seeded world (webhooks and clock too), in each world kind."""
    with in_world(live_server, world_kind) as server:
        yield server


STREAM_KEEPALIVE = 0.1
"""Seconds between the stream servers' keep-alives: short, so tests see several without waiting."""


@pytest.fixture(scope="module")
def stream_server() -> Iterator[LiveServer]:
    """The one stream server of a test module (tests/stream and the streaming clients here): a
    compatible-mode server with response validation and a short keep-alive; its streams end
    with it."""
    with serve(create_app(validate_responses=True, stream_keepalive=STREAM_KEEPALIVE)) as server:
        yield server


@contextmanager
def streaming(server: LiveServer, kind: str) -> Iterator[LiveServer]:
    """``in_world`` for stream tests: every stream still open in the world is ended afterwards."""
    with in_world(server, kind) as live:
        try:
            yield live
        finally:
            live.streams.close_all("test ended")


@pytest.fixture
def stream_live(stream_server: LiveServer, world_kind: str) -> Iterator[LiveServer]:
    """The stream server with a fresh seeded world, in each world kind (as ``live``)."""
    with streaming(stream_server, world_kind) as live:
        yield live


@pytest.fixture(autouse=True)
def _no_proxy_for_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients must reach 127.0.0.1 directly even where a proxy is configured."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
