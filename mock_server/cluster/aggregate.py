"""``GET /_mock/worlds`` over a cluster: every shard's worlds in one list.

Each mock process answers for its own worlds; HAProxy sends ``GET /_mock/worlds`` here
(haproxy.py), and this small HTTP server asks every shard and merges the answers: the first
shard's default world (the one a request without a shard credential reaches), then every created
world of every shard, in shard order; ``limits`` with the shards' ``max_worlds`` added up;
``shards`` says which shard answered what. The caller's ``Authorization`` (an admin token) is
passed on; a shard's 401 is the answer. A shard that does not answer is listed as down and its
worlds are missing; when none answers, 503.

Standard library only: it runs inside ``flowdock-mock cluster`` and, for Kubernetes, beside
HAProxy in the router pod (``flowdock-mock cluster --aggregate-only``).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mock_server.cluster.haproxy import Shard

__all__ = ["Aggregator", "merge"]

ASK_TIMEOUT = 10.0
"""Seconds one shard may take to list its worlds."""
PATH = "/_mock/worlds"


def _ask(shard: Shard, authorization: str | None) -> tuple[int, Any]:
    """A shard's status and JSON answer to GET /_mock/worlds; (0, reason) when it is down."""
    request = urllib.request.Request(f"http://{shard.address}{PATH}", headers={"Accept": "application/json"})
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=ASK_TIMEOUT) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.load(exc)
        except ValueError:
            return exc.code, {"message": str(exc)}
    except (OSError, ValueError) as exc:
        return 0, str(getattr(exc, "reason", exc))


def merge(shards: Sequence[Shard], answers: Sequence[tuple[int, Any]]) -> tuple[int, dict[str, Any]]:
    """The cluster's answer from each shard's (status, body), in shard order."""
    for status, body in answers:
        if status not in (0, 200):  # a refusal (401 without the admin token): the same for all
            return status, body if isinstance(body, dict) else {"message": str(body)}
    worlds: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    max_worlds, idle = 0, None
    for index, (shard, (status, body)) in enumerate(zip(shards, answers, strict=True)):
        if status != 200:
            summary.append({"name": shard.name, "up": False, "error": str(body), "worlds": 0})
            continue
        own = [w for w in body["worlds"] if w["id"] != "default" or index == 0]
        worlds += own
        max_worlds += int(body["limits"]["max_worlds"])
        idle = body["limits"]["idle_timeout_s"] if idle is None else idle
        summary.append({"name": shard.name, "up": True, "worlds": len(own)})
    if idle is None:
        return 503, {"message": "no shard answered", "errors": {"shards": [s["error"] for s in summary]}}
    return 200, {
        "limits": {"max_worlds": max_worlds, "idle_timeout_s": idle},
        "worlds": worlds,
        "shards": summary,
    }


class Aggregator:
    """The HTTP server answering ``GET /_mock/worlds`` for ``shards``, in a thread of its own."""

    def __init__(self, shards: Sequence[Shard], host: str = "127.0.0.1", port: int = 0) -> None:
        self.shards = list(shards)
        pool = ThreadPoolExecutor(max_workers=min(32, len(self.shards)), thread_name_prefix="aggregate")
        shard_list = self.shards

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != PATH:
                    self._send(404, {"message": "Not Found", "errors": {"path": [self.path]}})
                    return
                authorization = self.headers.get("Authorization")
                answers = list(pool.map(lambda shard: _ask(shard, authorization), shard_list))
                self._send(*merge(shard_list, answers))

            do_HEAD = do_GET

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the shards journal their own requests."""

        self.pool = pool
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.address = f"{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="aggregator", daemon=True)

    def start(self) -> Aggregator:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()  # waits for serve_forever, which a thread never started would not end
        self.server.server_close()
        self.pool.shutdown(wait=False)
