"""``flowdock-mock health``: exit 0 when the server answers ``GET /_mock/health`` (the container's
HEALTHCHECK), 1 otherwise."""

from __future__ import annotations

import argparse
import json
import sys

from mock_server.settings import env_value

NAME = "health"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        NAME,
        help="exit 0 when the server answers GET /_mock/health (the container's HEALTHCHECK)",
        description="Exit 0 when the server answers GET /_mock/health, 1 otherwise.",
    )
    parser.add_argument(
        "--url",
        default=None,
        help="the server's base URL (default http://127.0.0.1:PORT, PORT from FLOWDOCK_MOCK_PORT or PORT, else 8080)",
    )
    parser.add_argument(
        "--timeout", type=float, default=2.0, help="seconds to wait for the answer (default 2)"
    )


def execute(args: argparse.Namespace) -> int:
    return health(args.url, args.timeout)


def health(url: str | None, timeout: float) -> int:
    if url is None:
        port = (env_value(("FLOWDOCK_MOCK_PORT", "PORT")) or ("", "8080"))[1]
        url = f"http://127.0.0.1:{port}"
    target = url.rstrip("/") + "/_mock/health"
    import urllib.request  # here: every command's parser module is imported, serve's start included

    try:
        with urllib.request.urlopen(target, timeout=timeout) as response:
            ok = response.status == 200 and json.load(response).get("status") == "ok"
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"flowdock-mock health: {target}: {exc}\n")
        return 1
    if not ok:
        sys.stderr.write(f"flowdock-mock health: {target}: not ready\n")
    return 0 if ok else 1
