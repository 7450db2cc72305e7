"""The one request object of the pipeline (pipeline.py): ``Exchange``.

It carries the request as it is now and as the client sent it, the per-request state
``scope["flowdock"]`` (created here; the security checkers, the normaliser, the validation error
renderer and the fault stage record in it, the journal reads it), and the response's way out,
``out``, which adds Flowdock's response headers and notes the status and size.
"""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]

from mock_server.middleware.responses import JSON_UTF8, Answer
from mock_server.middleware.types import REQUEST_STATE, Scope

JSON = b"application/json"
ANSWERED = Answer(0, b"", [])
"""What a stage returns when it has sent the response itself (the handler, Swagger UI)."""


class Exchange:
    """One HTTP request passing through the pipeline, and what its stages learnt about it."""

    __slots__ = (
        "before_end",
        "control_caller",
        "cors",
        "journal",
        "operation",
        "operation_id",
        "original",
        "receive",
        "response_size",
        "scope",
        "send",
        "server_send",
        "started",
        "state",
        "status",
        "view",
        "world_token",
    )

    def __init__(self, scope: Scope, receive: Any, send: Any) -> None:
        state: dict[str, Any] = {}
        scope[REQUEST_STATE] = state
        self.scope = scope
        """The request as it is now (stages replace it with rewritten copies)."""
        self.original = scope
        """The request as the client sent it (what the journal records)."""
        self.receive = receive
        self.server_send = send
        self.send: Any = self.out
        """Where the response goes: ``out``, or a stage's wrapper around it."""
        self.state = state
        """``scope["flowdock"]``: user, normalisations, violations, world, forced (read by the journal)."""
        self.status = 500  # until a response starts
        self.before_end: Any = None
        """Called with the exchange just before the response's last bytes go out (journal.py records
        the request there: a client that has its answer finds the request in the journal)."""
        self.response_size = 0
        self.started = False
        self.cors: list[tuple[bytes, bytes]] | None = None
        self.operation: Any = None
        """The Connexion operation routing matched (binding/dispatch.py), or None."""
        self.operation_id: str | None = None
        self.journal: Any = None
        self.world_token: Any = None
        self.control_caller: Any = None
        self.view: Any = None
        """The request as read once for the Connexion stages (binding/invoke.py's RequestView)."""

    async def out(self, message: dict[str, Any]) -> None:
        """The response's way out: Flowdock's headers added (the charset of JSON bodies,
        ``Flowdock-User`` once a user is known, CORS), its status and size noted."""
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
            self.status = message["status"]
            state = self.state
            headers = []
            for key, value in message.get("headers", ()):
                if key == b"content-type":
                    if value == JSON:
                        value = JSON_UTF8
                    state["content_type"] = value  # as the client gets it, for the journal
                headers.append((key, value))
            if self.cors is not None:
                headers += self.cors
            user = state.get("user_id")
            if user is not None:
                headers.append((b"flowdock-user", str(user).encode()))
            message = {**message, "headers": headers}
        elif kind == "http.response.body":
            self.response_size += len(message.get("body", b""))
            if self.before_end is not None and not message.get("more_body", False):
                before_end, self.before_end = self.before_end, None
                before_end(self)
        await self.server_send(message)


def replay(body: bytes, receive: Any, *, more: bool = False) -> Any:
    """A ``receive`` that hands over ``body`` once, then defers to the real one (the rest of a
    body when ``more``, else whatever the server says next: a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        if receive is None:
            return {"type": "http.disconnect"}
        message: Message = await receive()
        return message

    return replayed
