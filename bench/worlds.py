"""``make bench``'s worlds rows: creating worlds, what one costs, and routing with 1,000 of them.

- creating a world from the default one: p50 and p99 of ``Worlds.create_from({})`` in-process
  (the operation itself; target p50 <= 5 ms), its CPU time (what it costs whatever else runs on
  the machine), and ``POST /_mock/worlds`` over HTTP (the same plus the JSON answer with every
  credential, response validation included);
- memory per default-sized world with 1,000 worlds in one process: the served process's RSS
  growth over 1,000 ``POST /_mock/worlds`` divided by 1,000 (target <= 1 MB), and tracemalloc's
  count of the Python allocations per world in-process;
- ``GET /flows`` throughput with 1,000 worlds present vs one world (target >= 95%): wrk against
  the shipped command, the default world's credentials and a created world's, in alternating
  rounds (one world, 1,000 worlds, worlds deleted, one world, 1,000 again); best of each.
"""

from __future__ import annotations

import base64
import gc
import http.client
import json
import statistics
import time
import tracemalloc
from typing import Any

WORLDS = 1000
TARGET_CREATE_P50_MS = 5.0
TARGET_MB_PER_WORLD = 1.0
TARGET_RATIO = 0.95


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def in_process(samples: int = 300) -> dict[str, Any]:
    """Creation time and Python allocations per world, measured in this process."""
    from mock_server.app import create_app
    from mock_server.runtime.worlds import Limits

    app = create_app(limits=Limits(max_worlds=WORLDS + samples, idle_timeout_s=0))
    worlds = app.worlds
    for _ in range(20):  # warm caches (the template, the schema validators)
        worlds.delete(worlds.create_from({})["id"])
    times, cpu = [], []
    for _ in range(samples):
        started, started_cpu = time.perf_counter(), time.thread_time()
        answer = worlds.create_from({})
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        worlds.delete(answer["id"])
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(100):
        worlds.create_from({})
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "create_p50_ms": statistics.median(times),
        "create_p99_ms": _pct(times, 0.99),
        "create_cpu_p50_ms": statistics.median(cpu),
        "tracemalloc_per_world": (after - before) / 100,
    }


def _post_world(port: int) -> tuple[float, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        started = time.perf_counter()
        conn.request("POST", "/_mock/worlds", body=b"{}", headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 201:
            raise RuntimeError(f"POST /_mock/worlds answered {response.status}: {body[:200]!r}")
        return elapsed, dict(json.loads(body))
    finally:
        conn.close()


def _delete_worlds(port: int, ids: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for world_id in ids:
            conn.request("DELETE", f"/_mock/worlds/{world_id}")
            conn.getresponse().read()
    finally:
        conn.close()


def _wrk(bench: Any, server: Any, load: dict[str, Any], authorization: str | None = None) -> dict[str, Any]:
    """GET /flows under wrk, with the server's CPU time per request (steadier than req/s on a
    shared machine)."""
    before = server.cpu()
    extra = {"authorization": authorization} if authorization else {}
    r: dict[str, Any] = bench.wrk(server.port, "GET", "/flows", None, **load, **extra)
    r["cpu_us_per_request"] = (server.cpu() - before) * 1e6 / max(r["requests"], 1)
    return r


def served(bench: Any, load: dict[str, Any]) -> dict[str, Any]:
    """RSS per world and GET /flows throughput, against ``flowdock-mock serve`` (bench.py's helpers)."""
    port = bench.free_port()
    server = bench.Server(
        "worlds",
        [*bench.SERVE_CMD, "--port", str(port), "--max-worlds", str(WORLDS), "--world-idle-timeout", "0"],
        port,
    )
    out: dict[str, Any] = {"one": [], "many": [], "many_world_credentials": [], "http_create_ms": []}
    try:
        server.start()
        for round_ in range(2):
            r = _wrk(bench, server, load)
            out["one"].append(r)
            print(f"worlds: GET /flows, one world: {r['rps']:.0f} req/s", flush=True)
            gc.collect()
            rss_before = server.rss()
            ids, token = [], ""
            for i in range(WORLDS):
                elapsed, answer = _post_world(port)
                out["http_create_ms"].append(elapsed)
                ids.append(answer["id"])
                if i == WORLDS // 2:
                    token = answer["credentials"]["users"][0]["api_token"]
            time.sleep(0.5)
            if round_ == 0:
                out["rss_per_world"] = (server.rss() - rss_before) / WORLDS
                out["rss_with_worlds"] = server.rss()
            r = _wrk(bench, server, load)
            out["many"].append(r)
            print(f"worlds: GET /flows, {WORLDS} worlds: {r['rps']:.0f} req/s", flush=True)
            auth = "Basic " + base64.b64encode(f"{token}:".encode()).decode()
            r = _wrk(bench, server, load, auth)
            out["many_world_credentials"].append(r)
            print(f"worlds: GET /flows as world #{WORLDS // 2}: {r['rps']:.0f} req/s", flush=True)
            _delete_worlds(port, ids)
    finally:
        server.stop()
    return out


def measure(bench: Any, load: dict[str, Any]) -> dict[str, Any]:
    return {**in_process(), **served(bench, load)}


def render(w: dict[str, Any], best: Any) -> list[str]:
    """The worlds table: each figure against its target."""
    one, many, mine = best(w["one"]), best(w["many"]), best(w["many_world_credentials"])
    http_p50 = statistics.median(w["http_create_ms"])

    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    return [
        "",
        "| worlds | measured | target | |",
        "|---|---:|---:|---|",
        (
            f"| creating a world from the default one, p50 / p99 (in-process) | {w['create_p50_ms']:.2f} ms / "
            f"{w['create_p99_ms']:.2f} ms | p50 <= {TARGET_CREATE_P50_MS:g} ms | "
            f"{verdict(w['create_p50_ms'] <= TARGET_CREATE_P50_MS)} |"
        ),
        f"| the same, CPU time of the creating thread, p50 | {w['create_cpu_p50_ms']:.2f} ms | | |",
        f"| POST /_mock/worlds over HTTP, p50 (answer with every credential, validated) | {http_p50:.1f} ms | | |",
        (
            f"| memory per default-sized world, {WORLDS:,} worlds in one process (RSS growth) | "
            f"{w['rss_per_world'] / 1e6:.2f} MB | <= {TARGET_MB_PER_WORLD:g} MB | "
            f"{verdict(w['rss_per_world'] <= TARGET_MB_PER_WORLD * 1e6)} |"
        ),
        f"| memory per world (tracemalloc, Python allocations) | {w['tracemalloc_per_world'] / 1e6:.2f} MB | | |",
        f"| RSS of the process holding {WORLDS:,} worlds | {w['rss_with_worlds'] / 1e6:.0f} MB | | |",
        (
            f"| GET /flows req/s and server CPU per request, one world | {one['rps']:.0f}; "
            f"{one['cpu_us_per_request']:.0f} µs | | |"
        ),
        (
            f"| GET /flows req/s, {WORLDS:,} worlds (default world's credentials); CPU per request | "
            f"{many['rps']:.0f} ({many['rps'] / max(one['rps'], 1e-9):.0%}); {many['cpu_us_per_request']:.0f} µs "
            f"({one['cpu_us_per_request'] / max(many['cpu_us_per_request'], 1e-9):.0%}) | >= {TARGET_RATIO:.0%} | "
            f"{verdict(many['rps'] >= TARGET_RATIO * one['rps'])} |"
        ),
        (
            f"| GET /flows req/s, {WORLDS:,} worlds (a created world's credentials); CPU per request | "
            f"{mine['rps']:.0f} ({mine['rps'] / max(one['rps'], 1e-9):.0%}); {mine['cpu_us_per_request']:.0f} µs "
            f"({one['cpu_us_per_request'] / max(mine['cpu_us_per_request'], 1e-9):.0%}) | >= {TARGET_RATIO:.0%} | "
            f"{verdict(mine['rps'] >= TARGET_RATIO * one['rps'])} |"
        ),
    ]
