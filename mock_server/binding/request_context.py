"""What a handler may read of the current request beyond its parameters (Connexion's context).

Connexion passes path, query and body parameters to handlers, never headers; the few handlers
that need one (the journal feed's ``Last-Event-ID``) read it here, so only ``binding/`` touches
Connexion's request context.
"""

from __future__ import annotations

from connexion import request


def request_header(name: str) -> str | None:
    """The current request's header ``name`` (case-insensitive), or None."""
    value = request.headers.get(name)
    return None if value is None else str(value)
