"""``flowdock-mock cluster`` as a user runs it: the banner, signals passed on, everything stopped
when it ends (and when HAProxy dies), clear errors; the generated HAProxy configuration checked by
HAProxy itself; the aggregator's merge."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.cli import build_parser
from mock_server.cluster import supervisor
from mock_server.cluster.aggregate import merge
from mock_server.cluster.command import forwarded
from mock_server.cluster.haproxy import Shard, haproxy_config, parse_shards
from mock_server.settings import OPTIONS
from mock_server.world import MAIN_USER
from tests.cluster.conftest import basic, request

START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(p) for p in task.read_text().split()]
    return found


@pytest.fixture
def launch() -> Iterator[object]:
    """``launch(*args)``: ``flowdock-mock cluster ARGS`` in the background, its banner read; killed
    (its whole process group) after the test whatever happened."""
    started: list[subprocess.Popen[str]] = []

    def run(*args: str) -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "cluster", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        started.append(proc)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()], daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        banner = ""
        while "default world" not in banner:
            try:
                banner += lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no banner in {START_TIMEOUT:g}s: {banner!r}") from None
            assert proc.poll() is None or banner, "the cluster exited before its banner"
        return proc, banner

    yield run
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def shard_ports(banner: str) -> list[int]:
    return [int(part.split(":")[1].rstrip("),")) for part in banner.split() if part.startswith("(127.0.0.1:")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cluster_command__serves_then_stops_everything_on_a_signal(
    launch: object, sig: signal.Signals
) -> None:
    port = free_port()
    proc, banner = launch("--processes", "2", "--port", str(port), "--log-level", "warning")  # type: ignore[operator]
    assert f"serving on http://127.0.0.1:{port}" in banner
    ports = shard_ports(banner)
    assert len(ports) == 2 and all(not refuses(p) for p in ports)
    world = request(port, "POST", "/_mock/worlds", json_body={})
    assert world.status == 201 and world.body["id"].startswith("s0.")
    # the processes' public URL is the proxy's: url fields point there
    flows = request(port, "GET", "/flows", headers=basic(MAIN_USER["api_token"]))
    assert flows.status == 200 and flows.body[0]["url"].startswith(f"http://127.0.0.1:{port}/")
    kids = children_of(proc.pid)
    assert len(kids) == 3  # two mock processes and haproxy
    proc.send_signal(sig)
    assert proc.wait(timeout=20) == 0
    assert refuses(port) and all(refuses(p) for p in ports)
    assert not [k for k in kids if Path(f"/proc/{k}").exists()]


def test_cluster_command__haproxy_dying_stops_the_cluster(launch: object) -> None:
    port = free_port()
    proc, banner = launch("--processes", "1", "--port", str(port), "--log-level", "warning")  # type: ignore[operator]
    [mock_port] = shard_ports(banner)
    haproxy = next(k for k in children_of(proc.pid) if "haproxy" in Path(f"/proc/{k}/cmdline").read_text())
    os.kill(haproxy, signal.SIGKILL)
    assert proc.wait(timeout=20) == 1
    assert proc.stderr is not None and "haproxy exited" in proc.stderr.read()
    assert refuses(mock_port)


def test_cluster_command__bad_options_are_clear_errors() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mock_server", "cluster", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    out = run("--processes", "0")
    assert out.returncode == 2 and "expected an integer from 1 to 64" in out.stderr
    out = run("--haproxy", "/nonexistent/haproxy")
    assert out.returncode == 1 and "not found" in out.stderr
    out = run("--print-haproxy-config")
    assert out.returncode == 2 and "--shards" in out.stderr
    out = run("--print-haproxy-config", "--shards", "S1=127.0.0.1:1")
    assert out.returncode == 2 and "lower-case" in out.stderr


def test_find_haproxy__names_the_debian_package_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(supervisor, "SBIN", ("/nonexistent",))
    with pytest.raises(supervisor.ClusterError, match="Debian package `haproxy`"):
        supervisor.find_haproxy()


def test_serve_options_given_to_the_cluster_reach_every_process() -> None:
    args = build_parser().parse_args(
        [
            "cluster",
            "--strict",
            "--no-webhook-any-host",
            "--seed",
            "7",
            "--port",
            "9000",
            "--shard",
            "x",
            "--processes",
            "3",
        ]
    )
    argv = forwarded(args, OPTIONS)
    assert argv == ["--seed", "7", "--strict", "--no-webhook-any-host"]


def test_generated_config__haproxy_accepts_it(tmp_path: Path) -> None:
    haproxy = supervisor.find_haproxy()
    for config in (
        haproxy_config(
            parse_shards("s0=127.0.0.1:9001,s1=127.0.0.1:9002"),
            bind="127.0.0.1:9000",
            aggregator="127.0.0.1:9003",
        ),
        haproxy_config(
            parse_shards(
                "flowdock-mock-0=flowdock-mock-0.flowdock-mock.flowdock-mock.svc.cluster.local:8080"
            ),
            bind=":8080",
            aggregator="127.0.0.1:8081",
            resolvers=True,
        ),
    ):
        path = tmp_path / "haproxy.cfg"
        path.write_text(config)
        check = subprocess.run(
            [haproxy, "-c", "-f", str(path)], check=False, capture_output=True, text=True, timeout=30
        )
        assert check.returncode == 0, check.stderr
        assert "[ALERT]" not in check.stderr and "[WARNING]" not in check.stderr, check.stderr


def test_shards_and_addresses__what_haproxy_would_misread_is_refused() -> None:
    for bad in (
        "s0",
        "s0=host",
        "s0=host:0",
        "s0=host:99999",
        "s0=ho st:1",
        "s0=a:1,s0=b:2",
        "S0=a:1",
        "s.0=a:1",
    ):
        with pytest.raises(ValueError):
            parse_shards(bad)
    assert parse_shards("s0=a:1, s1=b:2") == [Shard("s0", "a:1"), Shard("s1", "b:2")]


def test_aggregate__merges_refuses_and_reports_down_shards() -> None:
    shards = parse_shards("s0=a:1,s1=b:2")
    limits = {"max_worlds": 10, "idle_timeout_s": 60.0}
    s0 = {"limits": limits, "worlds": [{"id": "default"}, {"id": "s0.w1"}]}
    s1 = {"limits": limits, "worlds": [{"id": "default"}, {"id": "s1.w2"}]}
    status, body = merge(shards, [(200, s0), (200, s1)])
    assert status == 200
    assert [w["id"] for w in body["worlds"]] == ["default", "s0.w1", "s1.w2"]
    assert body["limits"] == {"max_worlds": 20, "idle_timeout_s": 60.0}
    status, body = merge(shards, [(200, s0), (0, "connection refused")])
    assert status == 200 and body["shards"][1] == {
        "name": "s1",
        "up": False,
        "error": "connection refused",
        "worlds": 0,
    }
    status, body = merge(shards, [(401, {"message": "admin token"}), (401, {"message": "admin token"})])
    assert status == 401 and body == {"message": "admin token"}
    status, body = merge(shards, [(0, "down"), (0, "down")])
    assert status == 503


def test_body_routes__the_proxy_reads_the_bodies_the_mock_reads() -> None:
    """haproxy.py's BODY_ROUTES and middleware/worlds.py's BODY_CREDENTIALS name the same writes
    and fields, in the same order (the proxy cannot import the mock's middleware)."""
    from mock_server.cluster.haproxy import BODY_ROUTES
    from mock_server.middleware.worlds import BODY_CREDENTIALS

    mine = {(method, path): fields for _, method, path, fields in BODY_ROUTES}
    theirs = {route: tuple(name for _, name in pairs) for route, pairs in BODY_CREDENTIALS.items()}
    assert mine == theirs
