"""``make bench``'s cluster rows: what sharding worlds over processes behind HAProxy buys.

- ``GET /flows`` req/s over 10 worlds spread on 2 processes (``flowdock-mock cluster
  --processes 2``, through HAProxy) vs the same 10 worlds in one process (``flowdock-mock serve``,
  no proxy), target >= 1.7x on a 2-CPU machine; wrk takes turns over the 10 worlds' credentials
  (bench/cluster.lua), alternating rounds (one, cluster, one, cluster), best of each;
- the proxy's added p50: a world of the first shard, ``GET /flows`` on one keep-alive connection
  through HAProxy and one straight to that shard's own port, the two taking turns request by
  request (so the machine's load weighs on both alike), the median of each and of the differences.

wrk, HAProxy and the mock processes share the machine's CPUs, so the ratio is what a client on the
same machine sees, not the processes' ceiling; the CPU time per request of the whole process tree
(mock processes and HAProxy together) is reported beside it.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import statistics
import time
from typing import Any

WORLDS = 10
PROCESSES = 2
TARGET_RATIO = 1.7
ROUNDS = 2
PAIRS = 500


def _create_worlds(port: int) -> list[str]:
    """POST /_mock/worlds WORLDS times; each world's main user's Basic header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    try:
        for _ in range(WORLDS):
            conn.request("POST", "/_mock/worlds", body=b"{}", headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 201:
                raise RuntimeError(f"POST /_mock/worlds answered {response.status}: {body[:200]!r}")
            token = json.loads(body)["credentials"]["users"][0]["api_token"]
            out.append("Basic " + base64.b64encode(f"{token}:".encode()).decode())
    finally:
        conn.close()
    return out


def _haproxy_cpu(bench: Any, server: Any) -> float:
    """CPU seconds of the HAProxy under ``server`` (0 when there is none)."""
    pids = bench._descendants(server.proc.pid) if server.proc else []
    for pid in pids:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"haproxy" in fh.read().split(b"\0")[0]:
                return float(bench._cpu(pid))
    return 0.0


def _load(bench: Any, server: Any, port: int, auths: list[str], load: dict[str, Any]) -> dict[str, Any]:
    before, before_proxy = server.cpu(), _haproxy_cpu(bench, server)
    r: dict[str, Any] = bench.wrk(
        port,
        "GET",
        "/flows",
        None,
        **load,
        script="cluster.lua",
        env_extra={"BENCH_AUTHORIZATIONS": "\n".join(auths)},
    )
    r["cpu_us_per_request"] = (server.cpu() - before) * 1e6 / max(r["requests"], 1)
    r["haproxy_cpu_us_per_request"] = (
        (_haproxy_cpu(bench, server) - before_proxy) * 1e6 / max(r["requests"], 1)
    )
    return r


def _shard_port(server: Any, shard: str) -> int:
    """A shard's own port, from the cluster's banner in its log."""
    found = re.search(rf"\b{shard} \(127\.0\.0\.1:(\d+)\)", server.log.read_text(errors="replace"))
    if found is None:
        raise RuntimeError(f"no port for shard {shard} in {server.log}")
    return int(found.group(1))


def _paired_latency(
    direct_port: int, proxy_port: int, authorization: str, pairs: int = PAIRS
) -> dict[str, float]:
    """Milliseconds: the median of GET /flows straight to a shard and through the proxy, taking turns."""
    headers = {"Authorization": authorization, "Accept": "application/json"}
    conns = {
        key: http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for key, port in (("direct", direct_port), ("proxied", proxy_port))
    }
    times: dict[str, list[float]] = {"direct": [], "proxied": []}
    try:
        for i in range(pairs + 20):  # the first 20 warm both paths up
            for key in ("direct", "proxied") if i % 2 else ("proxied", "direct"):
                started = time.perf_counter()
                conns[key].request("GET", "/flows", headers=headers)
                response = conns[key].getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET /flows ({key}) answered {response.status}")
                if i >= 20:
                    times[key].append((time.perf_counter() - started) * 1000)
    finally:
        for conn in conns.values():
            conn.close()
    differences = [p - d for p, d in zip(times["proxied"], times["direct"], strict=True)]
    return {
        "direct_p50_ms": statistics.median(times["direct"]),
        "proxied_p50_ms": statistics.median(times["proxied"]),
        "added_p50_ms": statistics.median(differences),
    }


def measure(bench: Any, load: dict[str, Any]) -> dict[str, Any]:
    """Both layouts under the same load, alternating; and the proxy's own latency."""
    quiet = ["--log-level", "warning", "--port"]
    one_port, cluster_port = bench.free_port(), bench.free_port()
    one = bench.Server("cluster-one-process", [*bench.SERVE_CMD, *quiet, str(one_port)], one_port)
    cluster = bench.Server(
        "cluster-two-processes",
        [
            str(bench.PY.parent / "flowdock-mock"),
            "cluster",
            "--processes",
            str(PROCESSES),
            *quiet,
            str(cluster_port),
        ],
        cluster_port,
    )
    out: dict[str, Any] = {"one": [], "cluster": []}
    try:
        one.start()
        cluster.start()
        one_auths, cluster_auths = _create_worlds(one_port), _create_worlds(cluster_port)
        shards = [base64.b64decode(a.split()[1]).decode().split(".", 1)[0] for a in cluster_auths]
        out["spread"] = {name: shards.count(name) for name in sorted(set(shards))}
        for _ in range(ROUNDS):
            r = _load(bench, one, one_port, one_auths, load)
            out["one"].append(r)
            print(f"cluster: GET /flows over {WORLDS} worlds, one process: {r['rps']:.0f} req/s", flush=True)
            r = _load(bench, cluster, cluster_port, cluster_auths, load)
            out["cluster"].append(r)
            print(
                f"cluster: GET /flows over {WORLDS} worlds, {PROCESSES} processes: {r['rps']:.0f} req/s",
                flush=True,
            )
        s0 = next(a for a, name in zip(cluster_auths, shards, strict=True) if name == "s0")
        out.update(_paired_latency(_shard_port(cluster, "s0"), cluster_port, s0))
        print(
            f"cluster: p50 through the proxy {out['proxied_p50_ms']:.2f} ms, direct {out['direct_p50_ms']:.2f} ms, "
            f"added {out['added_p50_ms']:.2f} ms",
            flush=True,
        )
    finally:
        cluster.stop()
        one.stop()
    return out


def render(c: dict[str, Any], best: Any) -> list[str]:
    one, many = best(c["one"]), best(c["cluster"])
    ratio = many["rps"] / max(one["rps"], 1e-9)
    spread = ", ".join(f"{name}: {count}" for name, count in c["spread"].items())
    return [
        "",
        "| cluster (flowdock-mock cluster, HAProxy) | measured | target | |",
        "|---|---:|---:|---|",
        (
            f"| GET /flows req/s over {WORLDS} worlds, one process (no proxy); CPU per request | "
            f"{one['rps']:.0f}; {one['cpu_us_per_request']:.0f} µs | | |"
        ),
        (
            f"| GET /flows req/s over the same {WORLDS} worlds on {PROCESSES} processes behind HAProxy "
            f"({spread}); CPU per request, all processes and HAProxy (HAProxy's share) | {many['rps']:.0f} "
            f"({ratio:.2f}x); {many['cpu_us_per_request']:.0f} µs ({many['haproxy_cpu_us_per_request']:.0f} µs) | >= {TARGET_RATIO:g}x | {'met' if ratio >= TARGET_RATIO else 'missed'} |"
        ),
        (
            f"| the proxy's added p50 (median of paired differences, {PAIRS} pairs: through HAProxy vs the "
            f"shard's own port) | {c['added_p50_ms']:.2f} ms ({c['proxied_p50_ms']:.2f} vs "
            f"{c['direct_p50_ms']:.2f} ms) | | |"
        ),
    ]
