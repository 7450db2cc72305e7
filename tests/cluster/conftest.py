"""A real cluster for the module: 3 mock processes (shards s0, s1, s2) behind HAProxy on a free
127.0.0.1 port (mock_server/cluster/). Every child process is stopped when the module ends, when
a test fails, and by the kernel if pytest itself dies (``PR_SET_PDEATHSIG``)."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mock_server.cluster.supervisor import Cluster, ClusterOptions

PROCESSES = 3
TIMEOUT = 10.0


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    form: str | None = None,
    multipart: dict[str, str] | None = None,
) -> Answer:
    """One request through the proxy on a fresh connection; the body parsed as JSON when it is."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    headers = {"Accept": "application/json", **(headers or {})}
    body: bytes | None = None
    if json_body is not None:
        body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    elif form is not None:
        body, headers["Content-Type"] = form.encode(), "application/x-www-form-urlencoded"
    elif multipart is not None:
        boundary = "cluster-test-boundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in multipart.items()
        ]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        parsed: Any = json.loads(data) if data else None
    except ValueError:
        parsed = data
    return Answer(response.status, parsed, {k.lower(): v for k, v in response.getheaders()})


def basic(user: str, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    running = Cluster(
        ClusterOptions(
            processes=PROCESSES,
            port=0,
            serve_args=["--log-level", "warning", "--stream-keepalive", "1"],
            startup_timeout=90,
        )
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def port(cluster: Cluster) -> int:
    return int(cluster.url.rsplit(":", 1)[1])
