"""``make bench``'s history rows: a 200k-message Flowdock export served with ``--history``.

- loading: ``flowdock-mock serve --history bench/big=PATH`` from spawn to its first 200, and the
  process's CPU time meanwhile (what it costs whatever else runs on the machine), against a target
  of 10 s; the same server without ``--history`` is measured too, so the export's own share shows;
- memory: the served process's RSS once it answers (target <= 600 MB);
- a history page: ``GET .../messages?event=message,file,comment&limit=100&since_id=N&sort=asc``
  (what a migration script sends) on the export vs the same page on Faker data (a generated world
  with full pages), one connection, best of a few alternating rounds (target: as fast).

The export is made by ``mock_server/history/synthetic.py`` (no real data) and kept in .bench/.
Run alone: ``python bench/history.py`` (``--messages`` to change the size).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import sys
import time
from pathlib import Path
from typing import Any

MESSAGES = 200_000
TARGET_LOAD_S = 10.0
TARGET_RSS_MB = 600.0
SEED = 29
FLOW = "bench/big"


def archive(out_dir: Path, messages: int) -> Path:
    """The synthetic export, made once per size and kept."""
    from mock_server.history.synthetic import generate

    path = out_dir / f"history-{messages}-{SEED}-2023-08-15.zip"
    if not path.exists():
        started = time.perf_counter()
        generate(messages, seed=SEED).write_zip(path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)
        print(f"made {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def _get(port: int, path: str, authorization: str) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": authorization})
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"{token}:".encode()).decode()


def _page_path(flow: str, since: int) -> str:
    return f"/flows/{flow}/messages?event=message,file,comment&limit=100&since_id={since}&sort=asc"


def measure(bench: Any, args: Any) -> dict[str, Any]:
    """Every figure of the module docstring (bench: bench/bench.py's helpers)."""
    messages = getattr(args, "history_messages", MESSAGES)
    path = archive(bench.OUT_DIR, messages)
    out: dict[str, Any] = {"messages": messages, "archive_bytes": path.stat().st_size}
    serve = [str(bench.PY), "-m", "mock_server", "serve", "--log-level", "warning"]

    plain_port = bench.free_port()
    plain = bench.Server("history-plain", [*serve, "--port", str(plain_port)], plain_port)
    try:
        plain.start(deadline=120)
        out["plain_spawn_s"], out["plain_cpu_s"] = plain.spawn_to_200, plain.cpu_to_200
    finally:
        plain.stop()

    port = bench.free_port()
    loaded = bench.Server("history-200k", [*serve, "--port", str(port), "--history", f"{FLOW}={path}"], port)
    faker_port = bench.free_port()
    faker = bench.Server(
        "history-faker",
        [*serve, "--port", str(faker_port), "--seed", "7", "--messages-per-flow", "2000"],
        faker_port,
    )
    try:
        loaded.start(deadline=300)
        out["spawn_s"], out["cpu_s"] = loaded.spawn_to_200, loaded.cpu_to_200
        out["rss_bytes"] = loaded.rss()
        print(
            f"history: {messages:,} messages served after {out['spawn_s']:.2f} s "
            f"(CPU {out['cpu_s']:.2f} s), RSS {out['rss_bytes'] / 1e6:.0f} MB",
            flush=True,
        )
        sheet = _get(port, "/_mock/worlds/default", "")["credentials"]["users"]
        flow_id = next(
            f["id"]
            for f in _get(port, "/_mock/worlds/default", "")["credentials"]["flows"]
            if f["flow"] == "big"
        )
        token = next(u["api_token"] for u in sheet if u["email"].endswith("@history.example.com"))
        auth = _basic(token)
        ids = [m["id"] for m in _get(port, _page_path(FLOW, 0), auth)]
        middle = _get(port, f"/flows/{FLOW}/messages?limit=1&until_id={10**15}", auth)[0]["id"] // 2
        out["flow_id"], out["first_page"] = flow_id, len(ids)

        faker.start(deadline=300)
        faker_auth = bench.AUTH
        faker_flow = "acme/main"
        faker_middle = _get(faker_port, f"/flows/{faker_flow}/messages?limit=1", faker_auth)[0]["id"] // 2
        runs: dict[str, list[dict[str, Any]]] = {"history": [], "faker": []}
        for _ in range(getattr(args, "page_rounds", 3)):
            for name, p, target, a in (
                ("history", port, _page_path(FLOW, middle), auth),
                ("faker", faker_port, _page_path(faker_flow, faker_middle), faker_auth),
            ):
                r = bench.wrk(
                    p,
                    "GET",
                    target,
                    None,
                    threads=1,
                    connections=1,
                    duration=getattr(args, "page_duration", 3.0),
                    authorization=a,
                )
                runs[name].append(r)
                print(f"history page ({name}): p50 {bench.ms(r['p50_us'])} errors {r['errors']}", flush=True)
        out["pages"] = {name: min(rs, key=lambda r: r["p50_us"]) for name, rs in runs.items()}
        out["page_sizes"] = {
            "history": len(_get(port, _page_path(FLOW, middle), auth)),
            "faker": len(_get(faker_port, _page_path(faker_flow, faker_middle), faker_auth)),
        }
    finally:
        loaded.stop()
        faker.stop()
    return out


def render(h: dict[str, Any], ms: Any) -> list[str]:
    """The history table: each figure against its target."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    load_s = h["spawn_s"]
    rss_mb = h["rss_bytes"] / 1e6
    page, faker = h["pages"]["history"], h["pages"]["faker"]
    ratio = page["p50_us"] / max(faker["p50_us"], 1)
    return [
        "",
        "| history (a synthetic Flowdock export) | measured | target | |",
        "|---|---:|---:|---|",
        (
            f"| `serve --history` of {h['messages']:,} messages ({h['archive_bytes'] / 1e6:.0f} MB zip): spawn to "
            f"first 200 (CPU time) | {load_s:.2f} s ({h['cpu_s']:.2f} s) | <= {TARGET_LOAD_S:g} s | "
            f"{verdict(load_s <= TARGET_LOAD_S)} |"
        ),
        f"| the same server without the export | {h['plain_spawn_s']:.2f} s ({h['plain_cpu_s']:.2f} s) | | |",
        f"| RSS once it answers | {rss_mb:.0f} MB | <= {TARGET_RSS_MB:g} MB | {verdict(rss_mb <= TARGET_RSS_MB)} |",
        (
            f"| history page (limit=100, since_id, asc; {h['page_sizes']['history']} messages), p50 / p99 | "
            f"{ms(page['p50_us'])} / {ms(page['p99_us'])} | as on Faker data | "
            f"{verdict(ratio <= 1.2)} ({ratio:.2f}x) |"
        ),
        (
            f"| the same page on Faker data ({h['page_sizes']['faker']} messages), p50 / p99 | "
            f"{ms(faker['p50_us'])} / {ms(faker['p99_us'])} | | |"
        ),
    ]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import harness as bench  # bench/harness.py: the server and wrk helpers, as bench.py passes them

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", dest="history_messages", type=int, default=MESSAGES)
    parser.add_argument("--page-rounds", type=int, default=3)
    parser.add_argument("--page-duration", type=float, default=3.0)
    args = parser.parse_args()
    bench.OUT_DIR.mkdir(exist_ok=True)
    result = measure(bench, args)
    (bench.OUT_DIR / "history.json").write_text(json.dumps(result, indent=2))
    print("\n".join(render(result, bench.ms)))


if __name__ == "__main__":
    main()
