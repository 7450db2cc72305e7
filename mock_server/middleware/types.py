"""What every stage of the pipeline shares: ASGI types and the per-request state key."""

from __future__ import annotations

from typing import Any

Scope = dict[str, Any]
"""An ASGI connection scope."""

REQUEST_STATE = "flowdock"
"""Key of the per-request state dict the pipeline's exchange puts in the ASGI scope (exchange.py)."""
BODY_FLOW_TOKEN = "body_flow_token"
"""Request-state key: the ``flow_token`` the normaliser found in the body of a request with no
Authorization header, for the security layer to judge before the body is validated."""

CONTROL_PREFIX = "/_mock"
"""Where the mock's own API lives (spec/control.yaml)."""
SPEC_DOCUMENTS = frozenset({"/openapi.json", "/openapi.yaml"})
"""The published contract: read by Swagger UI and tools, not a Flowdock request."""


def scope_header(scope: Scope, name: bytes) -> str | None:
    """The first value of the request header ``name`` (lower-case bytes), as text; None: absent."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def is_control_path(path: str) -> bool:
    """``/_mock`` or anything under ``/_mock/`` (not ``/_mockery``)."""
    return path.startswith(CONTROL_PREFIX) and path[len(CONTROL_PREFIX) : len(CONTROL_PREFIX) + 1] in (
        "",
        "/",
    )


def is_flowdock_request(path: str) -> bool:
    """A request to the Flowdock API (journaled, delayed): not /_mock, not the published spec."""
    return not is_control_path(path) and path not in SPEC_DOCUMENTS
