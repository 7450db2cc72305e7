"""Service tag: health and lifecycle of the mock."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store

__all__ = ["get_health"]


def get_health(store: Store) -> Any:
    return {"status": "ok"}
