"""How ``POST /oauth/token`` answers on the wire: form-encoded unless the client asks for JSON.

Flowdock's token endpoint replied ``application/x-www-form-urlencoded`` by default and JSON only
to ``Accept: application/json`` (docs/flowdock.md §2.2). The handler always returns JSON, so Connexion's
response validation checks every token response against ``TokenResponse`` (it has no validator
for form bodies); this stage wraps the response outside validation and re-encodes a successful answer
when the client did not ask for JSON. Errors stay JSON, as RFC 6749 §5.2 requires.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from mock_server.middleware.exchange import Exchange
from mock_server.middleware.types import Scope

OPERATION_ID = "oauthToken"
FORM = b"application/x-www-form-urlencoded"


def wants_json(scope: Scope) -> bool:
    accept = b",".join(v for k, v in scope.get("headers", []) if k == b"accept").decode("latin-1")
    return "application/json" in accept.lower()


class TokenResponseEncoding:
    """Re-encodes the 200 JSON answer of oauthToken as a form unless ``Accept: application/json``."""

    def __init__(self, settings: Any) -> None:
        pass

    def run(self, x: Exchange) -> None:
        if x.operation_id == OPERATION_ID and not wants_json(x.scope):
            x.send = _form_encoding(x.send)


def _form_encoding(send: Any) -> Any:
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

    return encode
