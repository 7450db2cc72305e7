"""What a handler may read of the current request beyond its parameters (Connexion's context).

Connexion passes path, query and body parameters to handlers, never headers; the few handlers
that need one (the journal feed's ``Last-Event-ID``) or the address the request came in on
(webhooks refuse the mock's own) read it here, so only ``binding/`` touches Connexion's request
context.
"""

from __future__ import annotations

from connexion import request


def request_server() -> tuple[str, int] | None:
    """The address the current request came in on (the ASGI ``server``: one this server listens
    on), or None when the server did not say."""
    server = request.scope.get("server")
    if not server or len(server) < 2 or not isinstance(server[1], int):
        return None
    return str(server[0]), int(server[1])


def request_header(name: str) -> str | None:
    """The current request's header ``name`` (case-insensitive), or None."""
    value = request.headers.get(name)
    return None if value is None else str(value)
