"""The outermost layer answers Flowdock's 500 when an outer middleware fails (safety_net.py)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from mock_server import errors
from mock_server.middleware.safety_net import SafetyNetMiddleware


def call(app: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await SafetyNetMiddleware(app)({"type": "http", "method": "GET", "path": "/"}, receive, send)

    anyio.run(run)
    return sent


def test_exception_before_the_response_starts_is_a_flowdock_500() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise IndexError("pop from empty list")

    start, body = call(broken)
    assert start["status"] == 500
    assert (b"content-type", b"application/json; charset=utf-8") in start["headers"]
    assert json.loads(body["body"]) == {"message": errors.INTERNAL_ERROR}


def test_exception_after_the_response_started_is_not_hidden() -> None:
    async def half(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise IndexError("late")

    with pytest.raises(IndexError):
        call(half)
