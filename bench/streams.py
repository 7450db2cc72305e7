"""The Streaming API's figures for ``make bench`` (bench.py runs ``measure``; also runnable alone).

Against one ``flowdock-mock serve`` (keep-alive 30 s), with subscribers held by this process on
raw sockets (each a ``GET /stream/flows?filter=acme/main`` JSON stream):

1. idle streams: RSS and ``GET /flows`` throughput (wrk) with no stream, then with ``--idle``
   (1,000) streams open: RSS growth (target <= 50 MB) and throughput kept (target >= 90%);
2. POST -> arrival: ``--posts`` sequential POSTs to acme/main, each timed from just before the
   request is written to the moment its event is read on each subscriber socket; p50/p99 over
   every delivery, with 1 and with 100 subscribers (targets p99 <= 5 ms and <= 20 ms);
3. deliveries per second: 200 subscribers of acme/main while wrk POSTs to it as fast as the
   server answers (2 connections, ``--fanout-duration`` s): events read by all subscribers per
   second (target >= 20,000), with the POST rate that carried them.

The reader is this one Python process (a selector over every socket), so the latencies include
its own time to drain 100 sockets; the server and the reader share the machine's CPUs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import AUTH, SERVE_CMD, Server, free_port, mb, measured  # bench/harness.py

STREAM_PATH = "/stream/flows?filter=acme/main"
POST_PATH = "/flows/acme/main/messages"
TARGETS = {
    "idle_rss": 50e6,
    "idle_throughput": 0.90,
    "p99_1": 5.0,
    "p99_100": 20.0,
    "deliveries": 20_000,
}


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


class Subscriber:
    """One JSON stream on a raw socket; counts the events (``\\r\\n`` line ends) it reads."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        request = f"GET {STREAM_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH}\r\n\r\n"
        self.sock.sendall(request.encode())
        self.buffer = b""
        self.head = False
        self.events = 0
        self.tail = b""  # the last bytes read: an event end split across two reads still counts once

    def read_head(self) -> None:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("stream closed before its head")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"stream refused: {head[:80]!r}")
        self.head = True
        self.sock.setblocking(False)

    def drain(self) -> bytes:
        data = b""
        with contextlib.suppress(BlockingIOError):
            while True:
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        joined = self.tail + data
        self.events += joined.count(b"}\r\n")
        self.tail = joined[-2:]
        return data

    def close(self) -> None:
        self.sock.close()


def open_subscribers(port: int, count: int) -> list[Subscriber]:
    subs = [Subscriber(port) for _ in range(count)]
    for sub in subs:
        sub.read_head()
    deadline = time.monotonic() + 60
    while True:  # registered on the server (the head arrives after registration, but be sure)
        conn = _http(port, "GET", "/_mock/streams", None)
        if len(json.loads(conn)["streams"]) >= count:
            return subs
        if time.monotonic() > deadline:
            raise RuntimeError("the streams did not register")
        time.sleep(0.05)


def _http(port: int, method: str, path: str, body: bytes | None) -> bytes:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": AUTH, "Content-Type": "application/json"}
    conn.request(method, path, body=body, headers=headers)
    data = conn.getresponse().read()
    conn.close()
    return data


def post_to_arrival(port: int, subs: list[Subscriber], posts: int) -> list[float]:
    """Milliseconds from each POST's first byte to its event on each subscriber."""
    sel = selectors.DefaultSelector()
    for sub in subs:
        sel.register(sub.sock, selectors.EVENT_READ, sub)
    poster = socket.create_connection(("127.0.0.1", port), timeout=30)
    poster.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies: list[float] = []
    for i in range(posts):
        marker = f"bench-{i}-{time.monotonic_ns()}".encode()
        body = b'{"event":"message","content":"' + marker + b'"}'
        request = (
            f"POST {POST_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        waiting = set(subs)
        started = time.perf_counter()
        poster.sendall(request)
        deadline = started + 10
        while waiting:
            for key, _ in sel.select(timeout=max(0.0, deadline - time.perf_counter())):
                sub = key.data
                if sub in waiting and marker in sub.drain():
                    latencies.append((time.perf_counter() - started) * 1000)
                    waiting.discard(sub)
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{len(waiting)} subscribers never saw post {i}")
        response = b""
        while b"\r\n\r\n" not in response or not _complete(response):
            response += poster.recv(65536)
    sel.close()
    poster.close()
    return latencies


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return True


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fanout(port: int, subs: list[Subscriber], duration: float) -> dict[str, Any]:
    """Deliveries per second while wrk POSTs to the subscribers' flow as fast as it is answered."""
    sel = selectors.DefaultSelector()
    for sub in subs:
        sub.events = 0
        sel.register(sub.sock, selectors.EVENT_READ, sub)
    body = json.dumps({"event": "message", "content": "fan-out"})
    env_body = {"BENCH_AUTHORIZATION": AUTH, "BENCH_METHOD": "POST", "BENCH_BODY": body}
    cmd = [
        "wrk",
        "-t1",
        "-c2",
        f"-d{duration:g}s",
        "-s",
        str(BENCH / "request.lua"),
        f"http://127.0.0.1:{port}{POST_PATH}",
    ]
    import os

    wrk = subprocess.Popen(cmd, env={**os.environ, **env_body}, stdout=subprocess.PIPE, text=True)
    started = time.perf_counter()
    while wrk.poll() is None:
        for key, _ in sel.select(timeout=0.1):
            key.data.drain()
    # what was posted arrives shortly after the last POST: drain until quiet
    quiet_since = time.perf_counter()
    while time.perf_counter() - quiet_since < 0.5:
        got = sel.select(timeout=0.1)
        for key, _ in got:
            if key.data.drain():
                quiet_since = time.perf_counter()
    elapsed = time.perf_counter() - started
    sel.close()
    out = wrk.stdout.read() if wrk.stdout else ""
    posted = 0
    for line in out.splitlines():
        if line.startswith("BENCH_JSON "):
            posted = json.loads(line[len("BENCH_JSON ") :])["requests"]
    delivered = sum(s.events for s in subs)
    return {
        "subscribers": len(subs),
        "posted": posted,
        "delivered": delivered,
        "seconds": elapsed,
        "deliveries_per_s": delivered / elapsed,
        "posts_per_s": posted / elapsed,
        # wrk counts only the responses it read before stopping: a few more POSTs may have landed
        "complete": delivered >= posted * len(subs),
    }


def measure(args: argparse.Namespace, load: dict[str, Any]) -> dict[str, Any]:
    raise_fd_limit(args.idle + 512)
    port = free_port()
    server = Server("streams", [*SERVE_CMD, "--port", str(port), "--log-level", "warning"], port)
    result: dict[str, Any] = {}
    subs: list[Subscriber] = []
    try:
        server.start()
        time.sleep(1.0)
        # 1. idle streams
        before = server.rss()
        base = measured(server, "GET", "/flows", None, load)
        subs = open_subscribers(port, args.idle)
        time.sleep(1.0)
        with_streams = measured(server, "GET", "/flows", None, load)
        after = server.rss()
        result["idle"] = {
            "streams": args.idle,
            "rss_before": before,
            "rss_after": after,
            "rss_growth": after - before,
            "rps_without": base["rps"],
            "rps_with": with_streams["rps"],
            "ratio": with_streams["rps"] / max(base["rps"], 1e-9),
        }
        print(
            f"{args.idle} idle streams: RSS +{mb(after - before)}; GET /flows {base['rps']:.0f} -> "
            f"{with_streams['rps']:.0f} req/s",
            flush=True,
        )
        for sub in subs:
            sub.close()
        subs = []
        time.sleep(1.0)
        again = measured(server, "GET", "/flows", None, load)  # none again: the machine may have changed
        without = (base["rps"] + again["rps"]) / 2
        result["idle"].update(rps_without=without, ratio=with_streams["rps"] / max(without, 1e-9))
        # 2. POST -> arrival
        result["latency"] = {}
        for count in (1, 100):
            subs = open_subscribers(port, count)
            lat = post_to_arrival(port, subs, args.posts)
            result["latency"][str(count)] = {
                "subscribers": count,
                "deliveries": len(lat),
                "p50_ms": statistics.median(lat),
                "p99_ms": percentile(lat, 0.99),
            }
            print(
                f"POST -> arrival, {count} subscriber(s): p50 {statistics.median(lat):.2f} ms, "
                f"p99 {percentile(lat, 0.99):.2f} ms",
                flush=True,
            )
            for sub in subs:
                sub.close()
            subs = []
            time.sleep(0.5)
        # 3. deliveries per second
        subs = open_subscribers(port, 200)
        result["fanout"] = fanout(port, subs, args.fanout_duration)
        f = result["fanout"]
        print(
            f"fan-out to {f['subscribers']}: {f['deliveries_per_s']:.0f} deliveries/s "
            f"({f['posts_per_s']:.0f} posts/s, complete: {f['complete']})",
            flush=True,
        )
    finally:
        for sub in subs:
            sub.close()
        server.stop()
    return result


def render(streams: dict[str, Any]) -> list[str]:
    """Rows of bench.py's table: each figure against its target."""
    idle, lat, fan = streams["idle"], streams["latency"], streams["fanout"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    rows = [
        "",
        "| Streaming API | measured | target | |",
        "|---|---:|---:|---|",
        (
            f"| RSS growth with {idle['streams']:,} idle streams | {mb(idle['rss_growth'])} | ≤ 50 MB "
            f"| {verdict(idle['rss_growth'] <= TARGETS['idle_rss'])} |"
        ),
        (
            f"| GET /flows with {idle['streams']:,} idle streams vs none | {idle['rps_with']:.0f} / "
            f"{idle['rps_without']:.0f} req/s = {idle['ratio']:.0%} | ≥ 90% "
            f"| {verdict(idle['ratio'] >= TARGETS['idle_throughput'])} |"
        ),
    ]
    for key, target in (("1", TARGETS["p99_1"]), ("100", TARGETS["p99_100"])):
        r = lat[key]
        rows.append(
            f"| POST → arrival, {r['subscribers']} subscriber(s), p50 / p99 over {r['deliveries']:,} deliveries "
            f"| {r['p50_ms']:.2f} / {r['p99_ms']:.2f} ms | p99 ≤ {target:g} ms | {verdict(r['p99_ms'] <= target)} |"
        )
    rows.append(
        f"| deliveries/s to {fan['subscribers']} subscribers of one flow ({fan['posts_per_s']:.0f} POST/s, "
        f"{'all delivered' if fan['complete'] else 'NOT all delivered'}) | {fan['deliveries_per_s']:,.0f} "
        f"| ≥ 20,000 | {verdict(fan['deliveries_per_s'] >= TARGETS['deliveries'] and fan['complete'])} |"
    )
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--idle", type=int, default=1000, help="idle streams held open")
    parser.add_argument("--posts", type=int, default=300, help="POSTs timed to their arrival")
    parser.add_argument(
        "--fanout-duration", type=float, default=5.0, help="seconds of POST load in the fan-out"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    add_arguments(parser)
    args = parser.parse_args()
    load = {"threads": args.threads, "connections": args.connections, "duration": args.duration}
    streams = measure(args, load)
    print("\n".join(render(streams)))


if __name__ == "__main__":
    main()
