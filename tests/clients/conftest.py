"""A real server on a real socket, for tests that drive real Flowdock client libraries.

``serve(app)`` runs an app under uvicorn in a background thread on a free 127.0.0.1 port and
stops it on exit (bounded waits both ways). ``live_server`` is one compatible-mode server for the
session; ``live`` is the same server with its world reset to the seeded one for each test.
Clients point their base URL at ``live.base_url`` (docs/flowdock.md §10 says how for each client).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.cli import make_server
from mock_server.serving import HttpLimits

STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 5.0


@dataclass
class LiveServer:
    """A running server: where it listens, and its app (``app.store`` for white-box checks)."""

    base_url: str
    app: Any

    def token(self, user_id: int) -> str:
        """That user's personal API token (Basic username, any password)."""
        return str(self.app.store.users.by_id[user_id].api_token)


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
def live(live_server: LiveServer) -> LiveServer:
    """The session's server, its world reset to the seeded one (webhooks and clock too)."""
    live_server.app.runtime.reset_state()  # the world, its clock and webhooks
    return live_server


@pytest.fixture(autouse=True)
def _no_proxy_for_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients must reach 127.0.0.1 directly even where a proxy is configured."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
