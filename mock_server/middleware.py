"""ASGI middleware around the Connexion app: per-request state and the ``Flowdock-User`` header.

The state dict is created here, filled by the security checkers (auth.py) and read back when the
response starts, so every authenticated response names its user as Flowdock did (§1.3).
"""

from __future__ import annotations

from typing import Any

from mock_server.auth import REQUEST_STATE

Scope = dict[str, Any]


class RequestStateMiddleware:
    """Adds ``scope["flowdock"]`` and, once a user is known, the ``Flowdock-User`` header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {}
        scope[REQUEST_STATE] = state

        async def send_with_user(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and state.get("user_id") is not None:
                headers = list(message.get("headers", []))
                headers.append((b"flowdock-user", str(state["user_id"]).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_user)
