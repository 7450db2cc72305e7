"""CORS as Flowdock answered it (docs/flowdock.md §1.3), for browser clients of the mock.

Every path answers a preflight ``OPTIONS`` itself (no route of the contract has OPTIONS). A request
carrying ``Origin`` gets it echoed in ``Access-Control-Allow-Origin``, with Flowdock's exact lists of
allowed methods and headers. CORS is documented Flowdock behaviour, so strict mode allows it too.
"""

from __future__ import annotations

from typing import Any

from mock_server import errors
from mock_server.middleware.responses import send_json
from mock_server.middleware.types import REQUEST_STATE

ALLOW_METHODS = b"POST, PUT, PATCH, DELETE, GET, OPTIONS"
ALLOW_HEADERS = (
    b"Origin, Accept, Content-type, Authorization, X-CSRF-Token, X-Requested-With, X-Prototype-Version"
)


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """The headers Flowdock sent for a request from ``origin``."""
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-methods", ALLOW_METHODS),
        (b"access-control-allow-headers", ALLOW_HEADERS),
        (b"vary", b"Origin"),
    ]


class CorsMiddleware:
    """Answers ``OPTIONS`` on any path; adds the CORS headers to responses for an ``Origin``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = None
        for key, value in scope["headers"]:
            if key == b"origin":
                origin = value
                break
        if scope["method"] == "OPTIONS":
            state = scope.get(REQUEST_STATE)
            if state is not None:
                state.setdefault("normalizations", []).append(errors.RULE_CORS_PREFLIGHT)
            if origin is not None:
                headers = cors_headers(origin)
            else:
                headers = [
                    (b"access-control-allow-methods", ALLOW_METHODS),
                    (b"access-control-allow-headers", ALLOW_HEADERS),
                ]
            await send_json(send, 200, {}, headers)
            return
        if origin is None:
            await self.app(scope, receive, send)
            return
        extra = cors_headers(origin)

        async def send_with_cors(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cors)
