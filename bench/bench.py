"""``make bench`` / ``make bench-compare``: load, latency, startup and memory of flowdock-mock.

Everything runs on 127.0.0.1 and is bounded in time: servers are started on free ports inside
``timeout`` (and killed when this script ends), wrk runs for ``--duration`` seconds.

What it measures, printed as a markdown table (and written to .bench/latest.md and .json):

- spawn to first 200: ``flowdock-mock serve`` started from nothing until ``GET /flows`` with
  Basic auth answers 200 (median of ``--spawns`` starts; the last one stays up for the load);
- req/s, p50, p99 and errors (connect/read/write/timeouts and answers >= 400) with wrk
  (``--threads`` threads, ``--connections`` connections, ``--duration`` s, HTTP Basic on every
  request) for GET /flows, GET /flows/acme/main/messages?limit=30, GET one message and POST a
  message (bench/request.lua);
- RSS of the server idle (after the first 200), after the read rows, and after the POST row (which
  stores every message it posts);
- the latency of one list page (``limit=30``, one connection) in flows of 1k, 100k and 1M
  messages, served by bench/serve.py, which bulk-loads them through ``MessageStore.append``;
- memory per stored message: the RSS growth of that server divided by the messages it loaded,
  and tracemalloc's count of the Python allocations for 100k messages built the same way;
- memory per *posted* message (tracemalloc, 20k posts through sendFlowMessage's store path after
  the event ring is full; target 1 KB), and ``PUT /_mock/state`` of the default world plus 50k
  messages on the load server (target about 1 s), with the longest ``GET /flows`` another
  connection saw meanwhile (how long the import held other requests up).

``--validation`` also serves the same app with response validation on and off (bench/serve.py),
and loads GET /flows and the message list on each.

The Streaming API's three figures (bench/streams.py; ``--no-streams`` skips them): RSS and
``GET /flows`` throughput with 1,000 idle streams, POST-to-arrival latency with 1 and 100
subscribers, and deliveries per second to 200 subscribers, each against its target.

Your own history (bench/history.py; ``--no-history`` skips it): a 200k-message synthetic Flowdock
export served with ``--history`` (time to the first answer, RSS) and a migration script's history
page on it vs on Faker data.

``--compare`` also installs Prism 5 (npm, into bench/.prism), serves our published
/openapi.json with it in static mode, and runs every load row alternately against both servers,
``--rounds`` times, reporting the best of each and the ratio ours/Prism.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import json
import os
import platform
import statistics
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench's own modules, beside this script

import worlds as worlds_bench  # bench/worlds.py
from harness import (  # bench/harness.py: what every bench module shares
    BENCH,
    OUT_DIR,
    PRISM_BIN,
    PRISM_DIR,
    PY,
    SERVE_CMD,
    Server,
    ensure_prism,
    ensure_wrk,
    free_port,
    get,
    mb,
    measured,
    ms,
    wrk,
)

LOADS = [
    ("GET /flows", "GET", "/flows", None),
    ("GET /flows/{o}/{f}/messages?limit=30", "GET", "/flows/acme/main/messages?limit=30", None),
    ("GET /flows/{o}/{f}/messages/{id}", "GET", "/flows/acme/main/messages/1", None),
    (
        "POST /flows/{o}/{f}/messages",
        "POST",
        "/flows/acme/main/messages",
        json.dumps({"event": "message", "content": "benchmark message", "tags": ["bench"]}),
    ),
]


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "load_before": os.getloadavg()[0],
    }


def tracemalloc_per_message(count: int = 100_000) -> float:
    """Bytes Python allocates per message appended the way bench/serve.py fills flows."""
    sys.path.insert(0, str(BENCH))
    from serve import fill_flow

    from mock_server.contract import load_default_world
    from mock_server.store import Store

    store = Store(load_default_world())
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    fill_flow(store, "tracemalloc", count)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


POSTED_WARMUP = 12_000
"""Posts before measuring: more than the event log's ring holds, so its churn nets out."""
IMPORT_MESSAGES = 50_000
POSTED_TARGET_BYTES = 1024
IMPORT_TARGET_S = 1.0


def bytes_per_posted_message(count: int = 20_000) -> float:
    """Bytes Python keeps per message posted through the store's API (sendFlowMessage's path):
    the message, its thread and timeline, tags, indexes. Measured after ``POSTED_WARMUP`` posts,
    so the bounded event ring is full and only what grows with each post is counted."""
    from mock_server.contract import load_default_world
    from mock_server.store import Store

    store = Store(load_default_world())

    def post(n: int, start: int) -> None:
        for i in range(start, start + n):
            body = {"event": "message", "content": f"deploy {i} done #ci @bob"}
            store.messages.send_flow_message("acme", "main", body, viewer=1)

    tracemalloc.start()
    post(POSTED_WARMUP, 0)
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    post(count, POSTED_WARMUP)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


def import_state(port: int, messages: int = IMPORT_MESSAGES) -> dict[str, Any]:
    """``PUT /_mock/state`` of the default world plus ``messages`` messages, timed, while another
    connection keeps reading ``GET /flows``: the longest of those reads is how long the import
    held up other requests."""
    from mock_server.contract import load_default_world

    world = load_default_world()
    template = next(m for m in world["messages"] if m["event"] == "message")
    next_id = max(m["id"] for m in world["messages"] if m["flow"] == template["flow"]) + 1
    world["messages"] += [
        {**template, "id": next_id + i, "content": f"imported message {i}", "uuid": None, "thread_id": None}
        for i in range(messages)
    ]
    body = json.dumps(world).encode()
    waits: list[float] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            started = time.perf_counter()
            get(port, "/flows", timeout=30)
            waits.append(time.perf_counter() - started)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        started = time.perf_counter()
        conn.request("PUT", "/_mock/state", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        seconds = time.perf_counter() - started
    finally:
        conn.close()
        done.set()
        thread.join(35)
    return {
        "messages": messages,
        "bytes": len(body),
        "status": response.status,
        "seconds": seconds,
        "longest_other_request_ms": max(waits) * 1000 if waits else None,
        "other_requests": len(waits),
    }


# --- formatting ----------------------------------------------------------------------------------
def us(r: dict[str, Any]) -> str:
    return f"{r.get('cpu_us_per_request', 0):.0f} µs"


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return max(runs, key=lambda r: r["rps"])


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    a = result["args"]
    lines = [
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, load average {m['load_before']:.2f} "
        f"before the run. wrk: {a['threads']} threads, {a['connections']} connections, {a['duration']} s per "
        f"row, HTTP Basic auth on every request"
        + (f"; best of {a['rounds']} alternating rounds." if result.get("prism") else "."),
        "",
    ]
    prism = result.get("prism")
    if prism:
        lines += [
            "| load | flowdock-mock req/s | p50 | p99 | errors | CPU/req "
            + "| Prism req/s | p50 | p99 | errors | CPU/req | ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, ours_runs in result["loads"].items():
            o, p = best(ours_runs), best(prism["loads"][name])
            lines.append(
                f"| {name} | {o['rps']:.0f} | {ms(o['p50_us'])} | {ms(o['p99_us'])} | {o['errors']} | {us(o)} "
                f"| {p['rps']:.0f} | {ms(p['p50_us'])} | {ms(p['p99_us'])} | {p['errors']} | {us(p)} "
                f"| {o['rps'] / max(p['rps'], 1e-9):.2f}x |"
            )
    else:
        lines += ["| load | req/s | p50 | p99 | errors | server CPU/req |", "|---|---:|---:|---:|---:|---:|"]
        for name, runs in result["loads"].items():
            o = best(runs)
            lines.append(
                f"| {name} | {o['rps']:.0f} | {ms(o['p50_us'])} | {ms(o['p99_us'])} | {o['errors']} | {us(o)} |"
            )
    if result.get("ceiling"):
        c, o = best(result["ceiling"]), best(result["loads"][LOADS[0][0]])
        lines += [
            "",
            (
                "| ceiling (bench/ceiling.py: bare Starlette on the same uvicorn, our GET /flows bytes) "
                "| req/s | p50 | p99 | CPU/req | flowdock-mock's share |"
            ),
            "|---|---:|---:|---:|---:|---:|",
            (
                f"| {LOADS[0][0]} | {c['rps']:.0f} | {ms(c['p50_us'])} | {ms(c['p99_us'])} | {us(c)} "
                f"| {100 * o['rps'] / max(c['rps'], 1e-9):.0f}% of its req/s, its CPU/req "
                f"{100 * c.get('cpu_us_per_request', 0) / max(o.get('cpu_us_per_request', 1), 1e-9):.0f}% of ours |"
            ),
        ]
    lines += [
        "",
        "| measure | flowdock-mock |" + (" Prism |" if prism else ""),
        "|---|---:|" + ("---:|" if prism else ""),
    ]

    def row(label: str, ours: str, theirs: str = "") -> None:
        lines.append(f"| {label} | {ours} |" + (f" {theirs} |" if prism else ""))

    spawns = result["spawn_to_200"]
    row(
        f"spawn to first 200 (median of {len(spawns)})",
        f"{statistics.median(spawns):.2f} s",
        f"{prism['spawn_to_200']:.2f} s" if prism else "",
    )
    row(
        "CPU used until the first 200 (median)",
        f"{statistics.median(result['cpu_to_200']):.2f} s",
        f"{prism['cpu_to_200']:.2f} s" if prism else "",
    )
    row("RSS idle", mb(result["rss_idle"]), mb(prism["rss_idle"]) if prism else "")
    row(
        "RSS after the read rows",
        mb(result["rss_after_reads"]),
        mb(prism["rss_after_reads"]) if prism else "",
    )
    row(
        f"RSS after the POST row ({result['posted']:,} messages stored)",
        mb(result["rss_after"]),
        mb(prism["rss_after"]) if prism else "",
    )
    big = result.get("big")
    if big:
        for flow in big["pages"]:
            row(
                f"list page (limit 30) in a flow of {flow['messages']:,} messages, p50 / p99 (1 connection, "
                f"best of {result['args']['page_rounds']})",
                f"{ms(flow['p50_us'])} / {ms(flow['p99_us'])}"
                + (f" ({flow['errors']} errors)" if flow["errors"] else ""),
            )
        first, last = big["pages"][0], big["pages"][-1]
        row(
            f"list page {last['messages']:,} vs {first['messages']:,} messages (p50)",
            f"{last['p50_us'] / max(first['p50_us'], 1):.2f}x",
        )
        row(
            f"bulk load of {big['fill_messages']:,} messages",
            f"{big['fill_seconds']:.1f} s",
        )
        row("memory per stored message (RSS growth)", f"{big['fill_rss_delta'] / big['fill_messages']:.0f} B")
    if result.get("posted_message_bytes"):
        value = result["posted_message_bytes"]
        verdict = "met" if value <= POSTED_TARGET_BYTES else "missed"
        row(
            f"memory per posted message (tracemalloc, after {POSTED_WARMUP:,} posts; target <= 1 KB, {verdict})",
            f"{value:.0f} B",
        )
    imported = result.get("import")
    if imported:
        verdict = (
            "met" if imported["status"] == 200 and imported["seconds"] <= IMPORT_TARGET_S * 1.5 else "missed"
        )
        row(
            f"PUT /_mock/state of {imported['messages']:,} messages ({mb(imported['bytes'])}; "
            f"target about {IMPORT_TARGET_S:g} s, {verdict})",
            f"{imported['seconds']:.2f} s (HTTP {imported['status']})",
        )
        row(
            f"longest GET /flows during that import ({imported['other_requests']} requests)",
            f"{imported['longest_other_request_ms']:.0f} ms" if imported["longest_other_request_ms"] else "-",
        )
    if result.get("tracemalloc_per_message"):
        row("memory per stored message (tracemalloc, 100k)", f"{result['tracemalloc_per_message']:.0f} B")
    if result.get("worlds"):
        lines += worlds_bench.render(result["worlds"])
    if result.get("history"):
        import history  # bench/history.py

        lines += history.render(result["history"], ms)
    if result.get("validation"):
        lines += [
            "",
            "| response validation | load | req/s | p50 | p99 | server CPU/req |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for f in result["validation"]:
            lines.append(
                f"| {'on' if f['validate_responses'] else 'off'} | {f['load']} | {f['rps']:.0f} "
                f"| {ms(f['p50_us'])} | {ms(f['p99_us'])} | {us(f)} |"
            )
    if result.get("streams"):
        import streams  # bench/streams.py

        lines += streams.render(result["streams"])
    if result.get("cluster"):
        import cluster  # bench/cluster.py

        lines += cluster.render(result["cluster"], best)
    return "\n".join(lines) + "\n"


def validation_cost(args: argparse.Namespace, load: dict[str, Any]) -> list[dict[str, Any]]:
    """The same app with response validation on and off."""
    rows = []
    for validate in (True, False):
        port = free_port()
        server = Server(
            f"validation-{validate}",
            [
                str(PY),
                str(BENCH / "serve.py"),
                "--port",
                str(port),
                "--validate-responses" if validate else "--no-validate-responses",
                "--lifetime",
                "300",
            ],
            port,
        )
        try:
            server.start()
            for name, method, path, body in LOADS[:2]:
                r = measured(server, method, path, body, load)
                rows.append({"validate_responses": validate, "load": name, **r})
                print(f"validation={validate} {name}: {r['rps']:.0f} req/s", flush=True)
        finally:
            server.stop()
    return rows


# --- the run -------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    ensure_wrk()
    load = {"threads": args.threads, "connections": args.connections, "duration": args.duration}
    result: dict[str, Any] = {
        "machine": machine(),
        "args": {**load, "rounds": args.rounds, "page_rounds": args.page_rounds},
        "loads": {},
    }
    servers: list[Server] = []
    try:
        # Startup: the shipped command, several cold starts; the last one serves the load.
        port = free_port()
        spawns, cpus = [], []
        for i in range(args.spawns):
            ours = Server("flowdock-mock", [*SERVE_CMD, "--port", str(port)], port)
            servers.append(ours)
            spawns.append(ours.start())
            cpus.append(ours.cpu_to_200)
            if i < args.spawns - 1:
                ours.stop()
        result["spawn_to_200"] = spawns
        result["cpu_to_200"] = cpus
        time.sleep(1.0)
        result["rss_idle"] = ours.rss()
        print(
            f"spawn to first 200: {[round(s, 3) for s in spawns]} s; RSS idle {mb(result['rss_idle'])}",
            flush=True,
        )

        prism: Server | None = None
        if args.compare:
            ensure_prism()
            spec_file = PRISM_DIR / "openapi.json"
            status, spec = get(port, "/openapi.json")
            if status != 200:
                raise RuntimeError(f"/openapi.json answered {status}")
            spec_file.write_bytes(spec)
            prism_port = free_port()
            prism = Server(
                "prism",
                [str(PRISM_BIN), "mock", "--host", "127.0.0.1", "--port", str(prism_port), str(spec_file)],
                prism_port,
            )
            servers.append(prism)
            prism.start(deadline=60)
            time.sleep(1.0)
            result["prism"] = {
                "spawn_to_200": prism.spawn_to_200,
                "cpu_to_200": prism.cpu_to_200,
                "rss_idle": prism.rss(),
                "loads": {},
            }
            print(f"prism: spawn to first 200 {prism.spawn_to_200:.2f} s", flush=True)

        ceiling: Server | None = None
        if args.ceiling:
            # The ceiling (bench/ceiling.py): a bare Starlette app answering GET /flows with our bytes.
            status, flows_body = get(port, "/flows")
            if status != 200:
                raise RuntimeError(f"GET /flows answered {status}")
            body_file = OUT_DIR / "ceiling-flows.json"
            body_file.write_bytes(flows_body)
            ceiling_port = free_port()
            ceiling = Server(
                "starlette-ceiling",
                [str(PY), str(BENCH / "ceiling.py"), "--port", str(ceiling_port), "--body", str(body_file)],
                ceiling_port,
            )
            servers.append(ceiling)
            ceiling.start(deadline=60)
            result["ceiling"] = []

        for name, method, path, body in LOADS:
            if method == "POST":  # what the reads leave; the writes then add stored messages
                result["rss_after_reads"] = ours.rss()
                if prism:
                    result["prism"]["rss_after_reads"] = prism.rss()
            result["loads"][name] = []
            if prism:
                result["prism"]["loads"][name] = []
            for _ in range(args.rounds if prism else 1):
                r = measured(ours, method, path, body, load)
                result["loads"][name].append(r)
                print(
                    f"ours  {name}: {r['rps']:.0f} req/s p99 {ms(r['p99_us'])} errors {r['errors']}",
                    flush=True,
                )
                if ceiling and name == LOADS[0][0]:  # alternating with ours, the same load
                    r = measured(ceiling, method, path, body, load)
                    result["ceiling"].append(r)
                    print(f"bare Starlette {name}: {r['rps']:.0f} req/s", flush=True)
                if prism:
                    r = measured(prism, method, path, body, load)
                    result["prism"]["loads"][name].append(r)
                    print(
                        f"prism {name}: {r['rps']:.0f} req/s p99 {ms(r['p99_us'])} errors {r['errors']}",
                        flush=True,
                    )
        result["rss_after"] = ours.rss()
        result["posted"] = sum(r["requests"] for r in result["loads"][LOADS[-1][0]])
        if prism:
            result["prism"]["rss_after"] = prism.rss()
        result["import"] = import_state(ours.port)
        print(
            f"import of {result['import']['messages']:,} messages: {result['import']['seconds']:.2f} s, "
            f"longest other request {result['import']['longest_other_request_ms']} ms",
            flush=True,
        )
        for server in servers:
            server.stop()

        if args.validation:
            result["validation"] = validation_cost(args, load)

        if args.worlds:
            result["worlds"] = worlds_bench.measure(sys.modules[__name__], load)

        if args.cluster:
            import cluster  # bench/cluster.py

            result["cluster"] = cluster.measure(sys.modules[__name__], load)

        if args.streams:
            import streams  # bench/streams.py

            result["streams"] = streams.measure(args, load)

        if args.history:
            import history  # bench/history.py

            result["history"] = history.measure(sys.modules[__name__], args)

        if args.sizes:
            big_port = free_port()
            sizes = ",".join(str(s) for s in args.sizes)
            big = Server(
                "big-flows",
                [
                    str(PY),
                    str(BENCH / "serve.py"),
                    "--port",
                    str(big_port),
                    "--fill",
                    sizes,
                    "--lifetime",
                    "600",
                ],
                big_port,
            )
            servers.append(big)
            big.start(deadline=300)
            info = big.bench_info()
            # One connection, so the latency is one request's, not a queue's; the sizes take
            # turns for --page-rounds rounds and each keeps its best round (least disturbed).
            runs: dict[str, list[dict[str, Any]]] = {flow["path"]: [] for flow in info["flows"]}
            for _ in range(args.page_rounds):
                for flow in info["flows"]:
                    r = wrk(
                        big_port,
                        "GET",
                        f"/flows/{flow['path']}/messages?limit=30",
                        None,
                        threads=1,
                        connections=1,
                        duration=args.page_duration,
                    )
                    runs[flow["path"]].append(r)
                    print(
                        f"list page in {flow['messages']:,}: p50 {ms(r['p50_us'])} errors {r['errors']}",
                        flush=True,
                    )
            info["pages"] = [
                {**flow, **min(runs[flow["path"]], key=lambda r: r["p50_us"])} for flow in info["flows"]
            ]
            big.stop()
            result["big"] = info
            result["tracemalloc_per_message"] = tracemalloc_per_message()
        result["posted_message_bytes"] = bytes_per_posted_message()
    finally:
        for server in servers:
            server.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also run every load against Prism 5")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds with --compare")
    parser.add_argument("--spawns", type=int, default=3, help="cold starts measured")
    parser.add_argument("--page-duration", type=float, default=3.0, help="seconds per big-flow list-page run")
    parser.add_argument(
        "--page-rounds", type=int, default=3, help="alternating rounds of big-flow list pages"
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[1_000, 100_000, 1_000_000],
        help="messages in each big flow (empty to skip)",
    )
    parser.add_argument(
        "--ceiling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also load a bare Starlette app with GET /flows's bytes (bench/ceiling.py), alternating",
    )
    parser.add_argument(
        "--validation", action="store_true", help="also measure response validation on and off"
    )
    parser.add_argument(
        "--worlds",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure world creation, memory per world and GET /flows with 1,000 worlds (bench/worlds.py)",
    )
    parser.add_argument(
        "--no-streams", dest="streams", action="store_false", help="skip the Streaming API figures"
    )
    parser.add_argument(
        "--history",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="load a 200k-message synthetic Flowdock export and page it (bench/history.py)",
    )
    parser.add_argument(
        "--cluster",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="GET /flows over 10 worlds on 2 processes behind HAProxy vs one process (bench/cluster.py)",
    )
    import streams  # bench/streams.py: --idle, --posts, --fanout-duration

    streams.add_arguments(parser)
    args = parser.parse_args()
    result = run(args)
    table = render(result)
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "latest.json").write_text(json.dumps(result, indent=2))
    (OUT_DIR / "latest.md").write_text(table)
    print()
    print(table)


if __name__ == "__main__":
    main()
