"""ASGI middleware around the Connexion app: per-request state and Flowdock's response headers.

The state dict is created here, filled by the security checkers (binding/security.py) and read back
when the response starts, so every authenticated response names its user as Flowdock did, and JSON
bodies are labelled ``application/json; charset=utf-8`` as Flowdock labelled them (both in
docs/flowdock.md §1.3). The charset is added here, outside Connexion, because Connexion labels a
response with the media type the spec declares, which has no parameters.
"""

from __future__ import annotations

from typing import Any

from mock_server.middleware.responses import JSON_UTF8
from mock_server.middleware.types import REQUEST_STATE, Scope

JSON = b"application/json"


class RequestStateMiddleware:
    """Adds ``scope["flowdock"]``, the ``Flowdock-User`` header once a user is known, and the charset."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {}
        scope[REQUEST_STATE] = state

        async def send_with_user(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for key, value in message.get("headers", []):
                    if key == b"content-type":
                        if value == JSON:
                            value = JSON_UTF8
                        state["content_type"] = value  # as the client gets it, for the journal
                    headers.append((key, value))
                if state.get("user_id") is not None:
                    headers.append((b"flowdock-user", str(state["user_id"]).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_user)
