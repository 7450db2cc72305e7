"""SIGTERM with streams open: every stream ends cleanly and the process still exits at once.

Uvicorn waits for open responses before it exits, and a stream never ends on its own: the server
ends them first (launch.make_server), so clients see a complete chunked body, not a cut connection.
"""

from __future__ import annotations

import http.client
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.world import MAIN_USER
from tests.clients.test_lifecycle import STOP_WITHIN, Server, clean_env, free_port
from tests.stream.conftest import basic

BIN = Path(sys.executable).parent


@pytest.fixture
def server() -> Iterator[Server]:
    port = free_port()
    argv = [str(BIN / "flowdock-mock"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    running = Server(argv, clean_env(FLOWDOCK_MOCK_STREAM_KEEPALIVE="30"), port)
    try:
        running.wait_ready()
        yield running
    finally:
        running.close()


def test_sigterm__ends_open_streams_and_exits(server: Server) -> None:
    streams = []
    for accept in ("application/json", "text/event-stream", "application/json"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        headers = {"Authorization": basic(MAIN_USER["api_token"]), "Accept": accept}
        conn.request("GET", "/stream/flows?filter=acme/main&user=1", headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        streams.append((conn, response))

    elapsed = server.stop_with(signal.SIGTERM)

    for conn, response in streams:
        assert response.read() in (b"", b"\n", b":\n\n")  # the whole body: complete, not cut
        conn.close()
    errors = "".join(server.err)
    assert server.proc.returncode == 0, errors
    assert "graceful shutdown exceeded" not in errors and "Traceback" not in errors
    assert elapsed < STOP_WITHIN, elapsed
