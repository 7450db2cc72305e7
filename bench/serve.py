"""A benchmark server: the real app, optionally with large flows, served by uvicorn on 127.0.0.1.

``make bench`` measures the shipped command (``flowdock-mock serve``) for startup, memory and
throughput; this launcher serves the same ``create_app`` with what the command line does not
offer: flows of 1k, 100k and 1M messages bulk-loaded through the store's append path (seconds,
not minutes), and response validation switched off or on. Before serving it prints one ``BENCH_JSON`` line (fill time, RSS before and after, the
flows it made). It exits on its own after ``--lifetime`` seconds, whatever happens to its parent.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mock_server.store import Store, StoreConfig
from mock_server.store.message_model import Message

OWNER = 1
"""alice: the flows are created in her organization (acme) and she is their member."""


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def fill_flow(store: Store, name: str, count: int) -> dict[str, Any]:
    """A new flow in acme with ``count`` chat messages appended through ``MessageStore.append``."""
    flow = store.flows.create_flow("acme", name, viewer=OWNER)
    flow_id = flow["id"]
    sent = 1_600_000_000_000
    append = store.messages.append
    users = (1, 2, 3, 4, 5)
    for i in range(1, count + 1):
        # Realistic small chat messages: short text, an occasional tag, five authors.
        append(
            flow_id,
            Message(
                id=i,
                event="message",
                content=f"message {i} in {name}",
                user=users[i % 5],
                sent=sent + i * 1000,
                tags=["#bench"] if i % 10 == 0 else [],
            ),
        )
    return {"name": name, "path": f"acme/{flow['parameterized_name']}", "messages": count}


def build(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from mock_server.app import create_app

    base_url = f"http://127.0.0.1:{args.port}"
    store_config = StoreConfig(base_url=base_url)
    kwargs: dict[str, Any] = {"config": store_config}
    if args.validate_responses is not None:
        kwargs["validate_responses"] = args.validate_responses
    app = create_app(**kwargs)
    info: dict[str, Any] = {"flows": []}
    if args.fill:
        store = app.store
        gc.collect()
        before = rss_bytes()
        started = time.perf_counter()
        total = 0
        with store.lock:
            for count in args.fill:
                info["flows"].append(fill_flow(store, f"bench {count}", count))
                total += count
        info["fill_seconds"] = round(time.perf_counter() - started, 3)
        gc.collect()
        info["fill_rss_delta"] = rss_bytes() - before
        info["fill_messages"] = total
    info["rss"] = rss_bytes()
    return app, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fill", type=lambda s: [int(x) for x in s.split(",") if x], default=[])
    parser.add_argument(
        "--validate-responses",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="default: as `serve`",
    )
    parser.add_argument("--lifetime", type=float, default=600.0)
    args = parser.parse_args()

    watchdog = threading.Timer(args.lifetime, lambda: os._exit(3))
    watchdog.daemon = True
    watchdog.start()

    import uvicorn

    app, info = build(args)
    sys.stdout.write("BENCH_JSON " + json.dumps(info) + "\n")
    sys.stdout.flush()
    from mock_server.launch import EVENT_LOOP

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", loop=EVENT_LOOP)


if __name__ == "__main__":
    main()
