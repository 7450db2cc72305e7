"""Journal tag: the bounded ring of recent Flowdock requests (mock_server/runtime/journal.py keeps it)."""

from __future__ import annotations

from typing import Any

from mock_server.runtime import Runtime

__all__ = ["clear_requests", "list_requests"]


def list_requests(runtime: Runtime, limit: int | None = None) -> Any:
    return {"size": runtime.journal.size, "requests": runtime.journal.list(limit)}, 200


def clear_requests(runtime: Runtime) -> Any:
    runtime.journal.clear()
    return None, 204
