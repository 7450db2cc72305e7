"""What every layer of the pipeline shares: ASGI types and the per-request state key."""

from __future__ import annotations

from typing import Any

Scope = dict[str, Any]
"""An ASGI connection scope."""

REQUEST_STATE = "flowdock"
"""Key of the per-request state dict that request_state.py puts in the ASGI scope."""
