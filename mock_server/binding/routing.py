"""Where Connexion's routing leaves the matched operation in the ASGI scope.

Connexion's routing middleware writes ``{"operation_id": ..., "api_base_path": ...}`` into
``scope["extensions"][ROUTING_CONTEXT]``; our layers that run after routing (the fault layer, the
token encoding) or read the result afterwards (the journal) get it from here.
"""

from __future__ import annotations

from typing import Any

from connexion.middleware.abstract import ROUTING_CONTEXT

__all__ = ["ROUTING_CONTEXT", "operation_id", "routing_context"]

OPERATION_ID = "operation_id"


def routing_context(scope: dict[str, Any]) -> dict[str, Any]:
    """The routing dict of this request, created empty if routing has not run yet.

    Connexion updates the dict it finds there, so a layer that creates it before routing and reads
    it afterwards sees the operation even when an inner layer copied the scope.
    """
    context: dict[str, Any] = scope.setdefault("extensions", {}).setdefault(ROUTING_CONTEXT, {})
    return context


def operation_id(scope: dict[str, Any]) -> str | None:
    """The operationId routing matched, or None (not routed yet, or no operation matched)."""
    found: str | None = scope.get("extensions", {}).get(ROUTING_CONTEXT, {}).get(OPERATION_ID)
    return found
