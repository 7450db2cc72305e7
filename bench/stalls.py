"""``make bench-stalls``: how long one heavy request holds up everybody else (the event loop every
world shares), and the memory it costs.

Each scenario runs against a ``flowdock-mock serve`` on 127.0.0.1 (bounded by ``timeout``) while
a prober thread keeps sending ``GET /flows`` on one keep-alive connection: the longest of those
answers during the scenario is how long the heavy request held the loop (target: 100 ms).

- ``regex``: ``GET /_mock/waits/event?regex=(a+)+$`` over a message of ``--regex-length`` ``a``s
  and a ``!`` (a backtracking engine doubles its time per character);
- ``tags``: 8 writers posting messages of 8,096 characters without a space for ``--seconds``;
- ``world``: ``POST /_mock/worlds`` with a seed and ``--world-sizes`` (and, refused by the default
  memory budget, the schema's maximum sizes), with the server's peak RSS (VmHWM) before and after;
- ``import``: ``PUT /_mock/state`` of the default world plus 50k messages (issue target: the
  import within 1.5 s, nothing else held more than 100 ms);
- ``big``: ``PUT /_mock/state`` of a document of about ``--big-mb`` MB on a fresh server (with
  ``--world-memory-mb`` to allow it), its peak RSS as a multiple of the document.

Writes .bench/stalls.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import harness  # bench/harness.py: servers, ports, credentials

import bench  # bench/bench.py, beside this script (machine())

CONTENT_JSON = {"Content-Type": "application/json", "Authorization": harness.AUTH}


def peak_rss(server: harness.Server) -> int:
    """The server process's peak RSS so far (VmHWM), bytes."""
    assert server.proc is not None
    for pid in harness._descendants(server.proc.pid):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return 0


class Prober:
    """``GET /flows`` back to back on one connection; the longest answer while ``window`` is open."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.times: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                conn.request("GET", "/flows", headers={"Authorization": harness.AUTH})
                conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                continue
            self.times.append((started, time.perf_counter() - started))
        conn.close()

    def __enter__(self) -> Self:
        self.thread.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(130)

    cpu_per_request = 0.0
    """The server's CPU seconds per ``GET /flows`` when nothing else runs (``baseline``)."""

    def calibrate(self, server: harness.Server, seconds: float) -> dict[str, Any]:
        """Nothing else running for ``seconds``: the longest answer (what the machine itself
        adds) and the server's CPU per ``GET /flows`` (``cpu_per_request``)."""
        started, cpu = time.perf_counter(), server.cpu()
        time.sleep(seconds)
        ended = time.perf_counter()
        self.cpu_per_request = (server.cpu() - cpu) / max(1, self.count(started, ended))
        return {
            "longest_other_ms": self.longest_ms(started, ended),
            "cpu_per_request_ms": round(self.cpu_per_request * 1000, 3),
            "load_average": round(os.getloadavg()[0], 2),
        }

    def count(self, since: float, until: float) -> int:
        return sum(1 for started, _ in self.times if since <= started <= until)

    def longest_ms(self, since: float, until: float) -> float:
        during = [d for started, d in self.times if started + d >= since and started <= until]
        return round(max(during, default=0.0) * 1000, 1)


def request(
    port: int, method: str, path: str, body: bytes | None = None, timeout: float = 600
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=CONTENT_JSON)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def timed(
    prober: Prober,
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    server: harness.Server | None = None,
) -> dict[str, Any]:
    """One request while the prober runs: its time, the longest ``GET /flows`` meanwhile, the
    load average, and (``server``) the server's CPU time for it, less the prober's requests at
    what each cost before (``Prober.cpu_per_request``): on a shared machine, the figure that
    does not move with the load."""
    load = os.getloadavg()[0]
    cpu = server.cpu() if server is not None else 0.0
    started = time.perf_counter()
    status, data = request(port, method, path, body)
    ended = time.perf_counter()
    time.sleep(0.2)  # the prober's request in flight at the end is counted too
    out = {
        "status": status,
        "seconds": round(ended - started, 3),
        "longest_other_ms": prober.longest_ms(started, ended),
        "answer": data[:200].decode("utf-8", "replace") if status >= 400 else None,
        "load_average": round(load, 2),
    }
    if server is not None:
        probes = prober.count(started, ended + 0.2)
        out["server_cpu_s"] = round(server.cpu() - cpu - probes * prober.cpu_per_request, 3)
    return out


def scenario_regex(port: int, prober: Prober, length: int) -> dict[str, Any]:
    _status, data = request(port, "GET", "/_mock/events?limit=0")
    after = json.loads(data)["last_id"]
    body = json.dumps({"event": "message", "content": "a" * length + "!"}).encode()
    request(port, "POST", "/flows/acme/main/messages", body)
    path = f"/_mock/waits/event?after={after}&timeout=0&regex={quote('(a+)+$')}"
    return {"length": length, **timed(prober, port, "GET", path)}


def scenario_tags(port: int, prober: Prober, seconds: float, writers: int = 8) -> dict[str, Any]:
    body = json.dumps({"event": "message", "content": "x" * 8096}).encode()
    stop = time.perf_counter() + seconds
    posted = [0] * writers

    def write(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop:
            conn.request("POST", "/flows/acme/main/messages", body=body, headers=CONTENT_JSON)
            conn.getresponse().read()
            posted[n] += 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    ended = time.perf_counter()
    during = sorted(d for s, d in prober.times if started <= s <= ended)
    p99 = during[int(len(during) * 0.99)] * 1000 if during else 0.0
    return {
        "writers": writers,
        "posts": sum(posted),
        "longest_other_ms": prober.longest_ms(started, ended),
        "p99_other_ms": round(p99, 1),
    }


def import_document(messages: int, text: str = "imported message {i}") -> bytes:
    from mock_server.contract import load_default_world

    world = load_default_world()
    template = next(m for m in world["messages"] if m["event"] == "message")
    next_id = max(m["id"] for m in world["messages"] if m["flow"] == template["flow"]) + 1
    world["messages"] += [
        {**template, "id": next_id + i, "content": text.format(i=i), "uuid": None, "thread_id": None}
        for i in range(messages)
    ]
    return json.dumps(world).encode()


def serve(name: str, *extra: str) -> harness.Server:
    port = harness.free_port()
    server = harness.Server(
        name, [*harness.SERVE_CMD, "--port", str(port), "--log-level", "warning", *extra], port
    )
    server.start()
    return server


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": bench.machine()}
    servers: list[harness.Server] = []
    try:
        server = serve("stalls")
        servers.append(server)
        with Prober(server.port) as prober:
            result["baseline"] = prober.calibrate(server, args.seconds)
            print("baseline", result["baseline"], flush=True)
            if "regex" in args.only:
                result["regex"] = scenario_regex(server.port, prober, args.regex_length)
                print("regex", result["regex"], flush=True)
            if "tags" in args.only:
                result["tags"] = scenario_tags(server.port, prober, args.seconds)
                print("tags", result["tags"], flush=True)
            if "import" in args.only:
                body = import_document(50_000)
                result["import"] = {
                    "bytes": len(body),
                    **timed(prober, server.port, "PUT", "/_mock/state", body, server),
                }
                print("import", result["import"], flush=True)
        server.stop()

        if "world" in args.only:
            server = serve("stalls-world", "--world-memory-mb", str(args.world_memory_mb))
            servers.append(server)
            with Prober(server.port) as prober:
                prober.calibrate(server, 1.0)
                before = peak_rss(server)
                maximum = {"organizations": 50, "users": 500, "flows": 200, "messages_per_flow": 1000}
                body = json.dumps({"seed": 7, "sizes": maximum}).encode()
                refused = timed(prober, server.port, "POST", "/_mock/worlds", body)
                sizes = dict(
                    zip(
                        ("organizations", "users", "flows", "messages_per_flow"),
                        args.world_sizes,
                        strict=True,
                    )
                )
                made = timed(
                    prober,
                    server.port,
                    "POST",
                    "/_mock/worlds",
                    json.dumps({"seed": 7, "sizes": sizes}).encode(),
                    server,
                )
                result["world"] = {
                    "maximum_sizes": refused,
                    "sizes": sizes,
                    **made,
                    "peak_rss_before": before,
                    "peak_rss_after": peak_rss(server),
                }
            print("world", result["world"], flush=True)
            server.stop()

        if "big" in args.only:
            # ~270 bytes per imported message of this shape
            messages = int(args.big_mb * 1e6 / 270)
            body = import_document(messages)
            server = serve("stalls-big", "--world-memory-mb", str(args.big_world_memory_mb))
            servers.append(server)
            with Prober(server.port) as prober:
                prober.calibrate(server, 1.0)
                before = peak_rss(server)
                put = timed(prober, server.port, "PUT", "/_mock/state", body, server)
                after = peak_rss(server)
            result["big"] = {
                "messages": messages,
                "bytes": len(body),
                **put,
                "peak_rss_before": before,
                "peak_rss_after": after,
                "peak_growth_per_document_byte": round((after - before) / len(body), 2),
            }
            print("big", result["big"], flush=True)
            server.stop()
    finally:
        for server in servers:
            server.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="regex,tags,import,world,big", type=lambda s: set(s.split(",")))
    parser.add_argument("--regex-length", type=int, default=27)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--world-sizes", type=int, nargs=4, default=[10, 200, 50, 400], metavar="N")
    parser.add_argument("--world-memory-mb", type=int, default=512)
    parser.add_argument("--big-mb", type=float, default=80.0)
    parser.add_argument("--big-world-memory-mb", type=int, default=1024)
    args = parser.parse_args()
    result = run(args)
    harness.OUT_DIR.mkdir(exist_ok=True)
    (harness.OUT_DIR / "stalls.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
