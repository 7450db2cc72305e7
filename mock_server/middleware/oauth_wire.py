"""How ``POST /oauth/token`` answers on the wire: form-encoded unless the client asks for JSON.

Flowdock's token endpoint replied ``application/x-www-form-urlencoded`` by default and JSON only
to ``Accept: application/json`` (docs/flowdock.md §2.2). The handler always returns JSON, so Connexion's
response validation checks every token response against ``TokenResponse`` (it has no validator
for form bodies); this middleware sits outside validation and re-encodes a successful answer
when the client did not ask for JSON. Errors stay JSON, as RFC 6749 §5.2 requires.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from mock_server.binding.routing import operation_id
from mock_server.middleware.types import Scope

OPERATION_ID = "oauthToken"
FORM = b"application/x-www-form-urlencoded"


def wants_json(scope: Scope) -> bool:
    accept = b",".join(v for k, v in scope.get("headers", []) if k == b"accept").decode("latin-1")
    return "application/json" in accept.lower()


class TokenResponseEncoding:
    """Re-encodes the 200 JSON answer of oauthToken as a form unless ``Accept: application/json``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or operation_id(scope) != OPERATION_ID or wants_json(scope):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def encode(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    await send(message)
                    return
                start.update(message)
                return
            if not start:  # an error passes through untouched
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            fields = json.loads(b"".join(chunks))
            body = urlencode({k: str(v) for k, v in fields.items()}).encode()
            headers = [
                (k, v)
                for k, v in start.get("headers", [])
                if k.lower() not in (b"content-type", b"content-length")
            ]
            headers += [(b"content-type", FORM), (b"content-length", str(len(body)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, encode)
