"""The one way our ASGI layers answer on their own: a JSON body (or none) with its headers.

Layers that answer without reaching Connexion (the safety net, the input guard, the normaliser's
strict refusals, CORS preflights, the admin gate, forced faults) all send through ``send_json``,
so every such response is labelled and sized the same way as Connexion's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mock_server import errors

JSON_UTF8 = b"application/json; charset=utf-8"
"""How Flowdock labelled its JSON bodies (docs/flowdock.md §1.3)."""

Header = tuple[bytes, bytes]


async def send_json(send: Any, status: int, body: Any, headers: Iterable[Header] = ()) -> None:
    """Send a complete response: ``body`` as JSON (``None``: no body), after ``headers``."""
    if body is None:
        await send_bytes(send, status, b"", None, headers)
    else:
        await send_bytes(send, status, json.dumps(body).encode(), JSON_UTF8, headers)


async def send_bytes(
    send: Any, status: int, data: bytes, content_type: bytes | None, headers: Iterable[Header] = ()
) -> None:
    """Send a complete response: ``data`` labelled ``content_type`` (None: unlabelled), after ``headers``."""
    out = list(headers)
    if content_type is not None:
        out.append((b"content-type", content_type))
    out.append((b"content-length", str(len(data)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": data})


async def send_error(send: Any, exc: errors.FlowdockError, headers: Iterable[Header] = ()) -> None:
    """A domain error in Flowdock's shape (binding/problems.py renders it the same way inside Connexion)."""
    await send_json(send, exc.status, exc.to_body(), headers)
