"""The one way a stage answers on its own: an ``Answer``, a JSON body (or none) with its headers.

Stages that answer without reaching the handler (the input guard, the normaliser's strict
refusals, CORS preflights, the admin gate, forced faults) return an ``Answer``; the pipeline sends
it through the request's current ``send`` (pipeline.py), so every such response is labelled, sized
and journaled the same way as the handler's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mock_server import errors

JSON_UTF8 = b"application/json; charset=utf-8"
"""How Flowdock labelled its JSON bodies (docs/flowdock.md §1.3)."""

Header = tuple[bytes, bytes]


class Answer:
    """A complete response a stage gives in place of the rest of the pipeline."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: list[Header]) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    async def send(self, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


def bytes_answer(
    status: int, data: bytes, content_type: bytes | None, headers: Iterable[Header] = ()
) -> Answer:
    """``data`` labelled ``content_type`` (None: unlabelled), after ``headers``."""
    out = list(headers)
    if content_type is not None:
        out.append((b"content-type", content_type))
    out.append((b"content-length", str(len(data)).encode()))
    return Answer(status, data, out)


def json_answer(status: int, body: Any, headers: Iterable[Header] = ()) -> Answer:
    """``body`` as JSON (``None``: no body), after ``headers``."""
    if body is None:
        return bytes_answer(status, b"", None, headers)
    return bytes_answer(status, json.dumps(body).encode(), JSON_UTF8, headers)


def error_answer(exc: errors.FlowdockError, headers: Iterable[Header] = ()) -> Answer:
    """A domain error in Flowdock's shape (binding/problems.py renders it the same way for the handlers)."""
    return json_answer(exc.status, exc.to_body(), headers)
