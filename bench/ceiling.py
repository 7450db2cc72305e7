"""The ceiling row of ``make bench``: a bare Starlette app on the same server, for scale.

It answers ``GET /flows`` with the bytes the mock answered (``--body``): the same uvicorn, the same
httptools protocol and event loop, one Starlette route, no authentication, validation, journal or
store. What the mock serves as a share of this is what the machine leaves to its own work. It
exits on its own after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def app_for(body: bytes) -> Starlette:
    async def flows(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/flows", flows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--lifetime", type=float, default=600)
    args = parser.parse_args()
    threading.Timer(args.lifetime, os._exit, (0,)).start()
    uvicorn.run(
        app_for(args.body.read_bytes()),
        host="127.0.0.1",
        port=args.port,
        http="httptools",
        loop="asyncio",  # the mock's event loop (mock_server/launch.py EVENT_LOOP)
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
