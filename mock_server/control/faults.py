"""Faults tag: the per-operationId table of forced statuses and delays (mock_server/runtime/faults.py)."""

from __future__ import annotations

from typing import Any

from mock_server.runtime import Runtime

__all__ = ["clear_faults", "get_faults", "replace_faults"]


def get_faults(runtime: Runtime) -> Any:
    return runtime.faults.export(), 200


def replace_faults(runtime: Runtime, body: dict[str, Any]) -> Any:
    return runtime.replace_faults(body), 200


def clear_faults(runtime: Runtime) -> Any:
    runtime.faults.clear()
    return None, 204
