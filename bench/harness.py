"""What every bench module shares: the servers it starts (each wrapped in ``timeout``, on 127.0.0.1),
wrk runs with the server's CPU time per request, process-tree CPU and RSS, and the default token.

Imported by bench.py and by each module of a bench row (streams.py, worlds.py, ...); it imports
none of them, so the bench has no import cycle.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mock_server.world import MAIN_USER

PY = Path(sys.executable)
SERVE_CMD = [str(PY.parent / "flowdock-mock"), "serve"]
PRISM_DIR = BENCH / ".prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5"
OUT_DIR = ROOT / ".bench"
AUTH = "Basic " + base64.b64encode(f"{MAIN_USER['api_token']}:".encode()).decode()
SERVER_LIFETIME = 900  # seconds; every server dies after this even if this script is killed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                out.extend(int(c) for c in fh.read().split())
    return out


def _rss(pid: int) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu(pid: int) -> float:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _descendants(root: int) -> list[int]:
    """The processes under ``root`` (``root`` itself, the ``timeout`` wrapper, excluded)."""
    found, todo = [], _children(root)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(_children(pid))
    return found


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by the processes under ``root``."""
    return sum(_cpu(pid) for pid in _descendants(root))


def tree_rss(root: int) -> int:
    """RSS of the processes under ``root`` (the ``timeout`` wrapper itself excluded)."""
    return sum(_rss(pid) for pid in _descendants(root))


def get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Authorization": AUTH, "Accept": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@dataclass
class Server:
    """A server process on 127.0.0.1:port, wrapped in ``timeout`` so it cannot outlive the run."""

    name: str
    argv: list[str]
    port: int
    cwd: Path = ROOT
    proc: subprocess.Popen[bytes] | None = None
    spawn_to_200: float | None = None
    cpu_to_200: float | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        OUT_DIR.mkdir(exist_ok=True)
        self.log = OUT_DIR / f"{self.name.replace(' ', '-').lower()}.log"

    def start(self, ready_path: str = "/flows", deadline: float = 120.0) -> float:
        started = time.perf_counter()
        # Servers run as installed software does: with bytecode caching, even where the calling
        # environment disables it (PYTHONDONTWRITEBYTECODE); the first of several starts writes it.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.proc = subprocess.Popen(
            ["timeout", "--signal=KILL", str(SERVER_LIFETIME), *self.argv],
            cwd=self.cwd,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while time.perf_counter() - started < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _ = get(self.port, ready_path, timeout=1.0)
                if status == 200:
                    self.spawn_to_200 = time.perf_counter() - started
                    self.cpu_to_200 = tree_cpu(self.proc.pid)
                    return self.spawn_to_200
            time.sleep(0.002)
        raise RuntimeError(f"{self.name} did not answer 200 on {ready_path} within {deadline}s")

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid) if self.proc else 0.0

    def python_pid(self) -> int:
        """The server's own process under ``timeout`` (sampled by py-spy, signalled), not the wrapper."""
        assert self.proc is not None
        children = _children(self.proc.pid)
        return children[0] if children else self.proc.pid

    def rss(self) -> int:
        return tree_rss(self.proc.pid) if self.proc else 0

    def bench_info(self) -> dict[str, Any]:
        """The ``BENCH_JSON`` line bench/serve.py prints before serving."""
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("BENCH_JSON "):
                return dict(json.loads(line[len("BENCH_JSON ") :]))
        return {}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The request wrk loads a server with and how (``make profile``, ``make stages``)."""
    parser.add_argument("--path", default="/flows")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default=None, help="JSON request body (for a POST)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)


def wrk(
    port: int,
    method: str,
    path: str,
    body: str | None,
    *,
    threads: int,
    connections: int,
    duration: float,
    authorization: str = AUTH,
    script: str = "request.lua",
    env_extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    env = {
        **os.environ,
        **(env_extra or {}),
        "BENCH_AUTHORIZATION": authorization,
        "BENCH_METHOD": method,
        "BENCH_BODY": body or "",
    }
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--timeout",
        "5s",
        "-s",
        str(BENCH / script),
        f"http://127.0.0.1:{port}{path}",
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 30, check=True)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            r = dict(json.loads(line[len("BENCH_JSON ") :]))
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
            r["errors"] = sum(r[k] for k in ("connect", "read", "write", "status", "timeout"))
            return r
    raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")


def measured(
    server: Server, method: str, path: str, body: str | None, load: dict[str, Any]
) -> dict[str, Any]:
    """One wrk run against ``server``, with the server's CPU time per request."""
    before = server.cpu()
    r = wrk(server.port, method, path, body, **load)
    r["cpu_us_per_request"] = (server.cpu() - before) * 1e6 / max(r["requests"], 1)
    return r


def ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `make bench` (it installs wrk) or apt-get install wrk")


def ensure_prism() -> None:
    if PRISM_BIN.exists():
        return
    PRISM_DIR.mkdir(exist_ok=True)
    print(f"installing {PRISM_PACKAGE} into {PRISM_DIR} ...", flush=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
            str(PRISM_DIR),
            PRISM_PACKAGE,
        ],
        check=True,
        timeout=600,
    )


def mb(n: float) -> str:
    return f"{n / 1e6:.0f} MB"


def ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"
