"""The outermost ASGI layer: whatever escapes every other layer still gets Flowdock's 500.

Connexion's exception layer renders errors raised inside it (binding/problems.py). The middlewares outside it
(request state, journal, CORS, input guard, normaliser) have nothing above them but Starlette's
``ServerErrorMiddleware``, which with Connexion 3.3 on this Starlette calls Connexion's async
``error_response`` without awaiting it: the client gets no response at all. This layer sits just
inside it and answers ``{"message": "Internal server error"}`` instead (and logs the traceback),
unless the response had already started.
"""

from __future__ import annotations

import logging
from typing import Any

from mock_server import errors
from mock_server.middleware.responses import send_error

log = logging.getLogger("flowdock_mock")

Message = dict[str, Any]


class SafetyNetMiddleware:
    """Turns an exception no inner layer handled into a Flowdock-shaped 500."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error outside the exception layer")
            if started:
                raise
            await send_error(send, errors.FlowdockError())
