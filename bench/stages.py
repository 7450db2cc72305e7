"""``make stages``: each pipeline stage's CPU per request, served under the bench's load and in-process.

A request's CPU served is about twice what the same app costs called in a loop of its own
(docs/performance-report.md, "What the turn's end and the gathered access lines removed"). This
script shows where, stage by stage. It times every stage of the pipeline (its ``run`` and its
``done``, with the thread's CPU clock) and the server's ``send`` (uvicorn's response writing and
the socket), then:

- **served**: starts ``flowdock-mock serve`` so instrumented on a free 127.0.0.1 port, loads one
  request with wrk (the bench's request.lua: HTTP Basic on every request; ``GET /flows`` unless
  ``--path``/``--method``/``--body`` say otherwise) for a warm-up second, then for ``--seconds``,
  and reads the server's counts of that second run, and its process CPU from ``/proc``;
- **in-process**: builds the same app in this process and calls it ``--requests`` times with the
  same request, no server, no socket.

It prints one row per stage, µs per request both ways; the clock's own cost (calibrated, about a
microsecond a reading on a VM) is taken off each timing. Everything stops on its own: the server
runs inside ``timeout`` and stops when its counts are read; wrk runs for a fixed time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import (
    AUTH,
    OUT_DIR,
    PY,
    Server,
    add_load_arguments,
    free_port,
    wrk,
)  # bench/harness.py, beside this script

SEND = "the server's send (uvicorn, the socket)"
APP = "the app in all"


class Timings:
    """Thread CPU per stage, summed; ``requests`` counted by the app's calls."""

    def __init__(self) -> None:
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.requests = 0
        self.readings = 0
        self.in_flight = 0
        self._when_idle: list[Callable[[], None]] = []

    def reset(self) -> None:
        self.cpu.clear()
        self.requests = self.readings = 0

    def when_idle(self, action: Callable[[], None]) -> None:
        """``action`` now, or as soon as no request is in the app: a request's answer reaches its
        client before the app has counted it, so a client's signal may arrive in between."""
        if self.in_flight:
            self._when_idle.append(action)
        else:
            action()

    def left(self) -> None:
        """A request left the app (its count taken): what waited for none in flight runs."""
        self.in_flight -= 1
        if not self.in_flight:
            actions, self._when_idle = self._when_idle, []
            for action in actions:
                action()

    def per_request(self, clock_cost: float) -> dict[str, float]:
        """µs per request, each timing less the clock's own cost (two readings per timing)."""
        n = max(self.requests, 1)
        return {name: max(0.0, (total / n) - clock_cost) * 1e6 for name, total in self.cpu.items()}


def instrument(timings: Timings) -> Any:
    """Every pipeline built from now on times its stages; the app times itself and its send.
    Returns what undoes it."""
    from mock_server.binding.application import MockApp
    from mock_server.middleware import pipeline

    clock = time.thread_time
    built = pipeline.Pipeline.__init__

    def timed(name: str, fn: Any, is_async: bool) -> Any:
        if is_async:

            async def run_async(x: Any) -> Any:
                started = clock()
                try:
                    return await fn(x)
                finally:
                    timings.cpu[name] += clock() - started

            return run_async

        def run(x: Any) -> Any:
            started = clock()
            try:
                return fn(x)
            finally:
                timings.cpu[name] += clock() - started

        return run

    def __init__(self: Any, stages: list[tuple[str, Any]], on_error: Any) -> None:
        built(self, stages, on_error)
        self.steps = [
            (
                None if run is None else timed(name, run, is_async),
                None if done is None else timed(f"{name} (done)", done, False),
                is_async,
            )
            for (name, _), (run, done, is_async) in zip(stages, self.steps, strict=True)
        ]

    pipeline.Pipeline.__init__ = __init__  # type: ignore[method-assign]
    called = MockApp.__call__

    async def app(self: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await called(self, scope, receive, send)
            return

        async def timed_send(message: Any) -> None:
            started = clock()
            try:
                await send(message)
            finally:
                timings.cpu[SEND] += clock() - started

        started = clock()
        timings.in_flight += 1
        try:
            await called(self, scope, receive, timed_send)
        finally:
            timings.cpu[APP] += clock() - started
            timings.requests += 1
            timings.left()

    MockApp.__call__ = app  # type: ignore[method-assign]

    def undo() -> None:
        pipeline.Pipeline.__init__ = built  # type: ignore[method-assign]
        MockApp.__call__ = called  # type: ignore[method-assign]

    return undo


def clock_cost() -> float:
    """Seconds one timing adds by itself: its two readings of the thread's CPU clock."""
    clock = time.thread_time
    started = clock()
    for _ in range(20_000):
        clock()
    return 2 * (clock() - started) / 20_000


def serve(port: int, out: Path, extra: list[str]) -> None:
    """The instrumented server: SIGUSR1 starts the counts afresh, SIGUSR2 writes them and exits,
    each once no request is in the app (the signal runs between any two steps of the loop's
    thread, possibly inside a request)."""
    timings = Timings()
    instrument(timings)

    def reset(*_: Any) -> None:
        timings.when_idle(timings.reset)

    def write_and_exit() -> None:
        out.write_text(json.dumps({"cpu": timings.cpu, "requests": timings.requests}))
        os._exit(0)

    def dump(*_: Any) -> None:
        timings.when_idle(write_and_exit)

    signal.signal(signal.SIGUSR1, reset)
    signal.signal(signal.SIGUSR2, dump)
    from mock_server.cli import main

    sys.argv = ["flowdock-mock", "serve", "--port", str(port), *extra]
    main()


def in_process(method: str, path: str, body: str | None, requests: int, log_level: str) -> Timings:
    """The same request through the same app ``requests`` times in this process (after 200 to warm
    up), logging as the server does (its access lines to ``.bench/stages-in-process.log``)."""
    from mock_server.launch import build_app
    from mock_server.settings import Settings

    timings = Timings()
    undo = instrument(timings)
    settings = Settings()
    try:
        return _run(
            build_app(settings, "http://127.0.0.1:9"), timings, method, path, body, requests, log_level
        )
    finally:
        undo()


def _run(
    app: Any, timings: Timings, method: str, path: str, body: str | None, requests: int, log_level: str
) -> Timings:
    from mock_server.logs import configure_logging

    raw_path, _, query = path.partition("?")
    data = (body or "").encode()
    headers = [(b"host", b"127.0.0.1:9"), (b"authorization", AUTH.encode()), (b"user-agent", b"wrk")]
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]

    async def one() -> None:
        scope = {
            "type": "http",
            "method": method,
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "http_version": "1.1",
            "scheme": "http",
            "server": ("127.0.0.1", 9),
            "client": ("127.0.0.1", 5555),
            "headers": headers,
            "state": {},
            "extensions": {},
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": data, "more_body": False}

        async def send(message: Any) -> None:
            pass

        await app(scope, receive, send)

    async def run() -> None:
        for _ in range(200):
            await one()
        timings.reset()
        for _ in range(requests):
            await one()

    stderr, root = sys.stderr, logging.getLogger()
    handlers, level = root.handlers[:], root.level
    OUT_DIR.mkdir(exist_ok=True)
    with (OUT_DIR / "stages-in-process.log").open("w") as log:
        sys.stderr = log  # the server's handler writes to the stderr of the moment
        try:
            configure_logging("text", log_level)  # the server's default format
            asyncio.run(run())
        finally:
            sys.stderr = stderr
            root.handlers[:] = handlers
            root.setLevel(level)
    return timings


def table(served: dict[str, float], local: dict[str, float], process: float | None) -> str:
    """One row per stage in the order a request meets them: each ``run`` in the pipeline's order,
    then each ``done`` in reverse (mock_server/middleware/pipeline.py)."""
    from mock_server.middleware.pipeline import PIPELINE

    order = [step.name for step in PIPELINE] + [f"{step.name} (done)" for step in reversed(PIPELINE)]
    timed = set(served) | set(local)
    lines = [
        "| stage | served µs/request | in-process µs/request | served / in-process |",
        "|---|---:|---:|---:|",
    ]
    for name in [*(n for n in order if n in timed), SEND, APP]:
        s, i = served.get(name), local.get(name)
        ratio = f"{s / i:.1f}x" if s and i and i >= 0.5 else ""
        lines.append(
            f"| {name} | {'' if s is None else f'{s:.1f}'} | {'' if i is None else f'{i:.1f}'} | {ratio} |"
        )
    if process is not None:
        lines.append(f"| the server process in all (/proc) | {process:.0f} | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of the measured load")
    parser.add_argument("--requests", type=int, default=5000, help="in-process requests measured")
    add_load_arguments(parser)
    parser.add_argument(
        "--log-level", default="info", help="the server's (info: with the access log, as served)"
    )
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), Path(args.serve[1]), ["--log-level", args.log_level])
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `make bench` once (it installs wrk)")
    OUT_DIR.mkdir(exist_ok=True)
    out = OUT_DIR / "stages.json"
    out.unlink(missing_ok=True)
    port = free_port()
    argv = [
        str(PY),
        str(Path(__file__).resolve()),
        "--serve",
        str(port),
        str(out),
        "--log-level",
        args.log_level,
    ]
    server = Server("stages", argv, port)
    load = {"threads": args.threads, "connections": args.connections}
    try:
        server.start()
        pid = server.python_pid()
        wrk(port, args.method, args.path, args.body, duration=1, **load)
        os.kill(pid, signal.SIGUSR1)
        cpu_before = server.cpu()
        result = wrk(port, args.method, args.path, args.body, duration=args.seconds, **load)
        cpu = server.cpu() - cpu_before
        os.kill(pid, signal.SIGUSR2)
        deadline = time.monotonic() + 10
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the server writes its counts and exits at once
    finally:
        server.stop()
    if not out.exists():
        raise SystemExit(f"the server wrote no counts; see {server.log}")
    counts = json.loads(out.read_text())
    cost = clock_cost()
    served_timings = Timings()
    served_timings.cpu.update(counts["cpu"])
    served_timings.requests = counts["requests"]
    local = in_process(args.method, args.path, args.body, args.requests, args.log_level)
    print(
        f"{args.method} {args.path}: served {result['rps']:.0f} req/s at {args.connections} connections, "
        f"{counts['requests']} requests timed; in-process {local.requests}; "
        f"the clock's own cost {cost * 1e6:.2f} µs a timing, taken off"
    )
    process = cpu / counts["requests"] * 1e6 if counts["requests"] else None
    print(table(served_timings.per_request(cost), local.per_request(cost), process))


if __name__ == "__main__":
    main()
