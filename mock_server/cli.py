"""Command line: ``flowdock-mock serve`` (also ``python -m mock_server``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from mock_server.world import MAIN_USER


def _env(name: str, default: Any) -> Any:
    return os.environ.get(name, default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowdock-mock", description="A stateful mock of the Flowdock REST API, faithful to its contract."
    )
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve the mock over HTTP")
    serve.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="bind address (env HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=int(_env("PORT", 8080)), help="port (env PORT; default 8080)")
    return parser


def banner(base_url: str) -> str:
    return (
        f"flowdock-mock serving on {base_url}\n"
        f"  main user: {MAIN_USER['email']} / password {MAIN_USER['password']}\n"
        f"  API token: {MAIN_USER['api_token']}\n"
        f"  try: curl -u {MAIN_USER['api_token']}: {base_url}/flows\n"
    )


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mock_server.app import create_app
    from mock_server.store import StoreConfig

    base_url = f"http://{args.host}:{args.port}"
    app = create_app(config=StoreConfig(base_url=base_url))
    sys.stdout.write(banner(base_url))
    sys.stdout.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or [])])
    return serve(args)


if __name__ == "__main__":
    raise SystemExit(main())
