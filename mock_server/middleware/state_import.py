"""``PUT /_mock/state`` and ``PUT /_mock/worlds/{world}/state``: a world document read, checked,
built and answered in small steps, so a large one never holds up the other requests.

Every world shares one event loop. Parsed by Connexion (one ``json.loads`` of the whole body),
validated on the loop (one compiled-validator call) and answered as one encoded body, a document
of hundreds of megabytes held every request of every world for seconds. Here the body is decoded
as its chunks arrive (``DocumentText``), then parsed, checked whole (``check_world``: schema,
representability, uniqueness, references, a trial build) and built aside in a worker thread in
steps of one element or slice each (world/loading.py), the world's lock held only for the swap;
the new state goes back as chunks. A refused document leaves the world as it was.

The body is bounded before it is read: ``--world-memory-mb`` divided by what a world takes per
byte of its document, and never more than 512 MiB (``Limits.document_bytes``), or the size of
the world's own export when that is larger (a world grown past its budget by posting takes its
own export back); over it, 413 (from ``Content-Length`` when the client sends one, otherwise
once that much has arrived).
Every other check of the request (the admin gate, the journal) has run by the time it gets here;
what Connexion would check of it (the JSON content type, the document's schema) is checked here
the same way, with the same answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mock_server import errors
from mock_server.middleware.exchange import ANSWERED, Exchange
from mock_server.middleware.input_guard import STATE_ROUTE, is_state_import, too_large
from mock_server.middleware.responses import JSON_UTF8, Answer
from mock_server.middleware.types import Scope, scope_header
from mock_server.runtime.core import DocumentText, SchemaRefused
from mock_server.runtime.worlds import DEFAULT_ID, Worlds


def document_limit(worlds: Worlds) -> int:
    """The largest world document a world may be built from (bytes)."""
    return worlds.limits.document_bytes


class StateImport:
    """The pipeline stage (pipeline.py) that answers ``PUT`` of a world's state itself."""

    def __init__(self, settings: Any) -> None:
        self.worlds: Worlds = settings.worlds

    async def run(self, x: Exchange) -> Answer | None:
        scope = x.scope
        if not is_state_import(scope):
            return None  # not ours (or not UTF-8 JSON: Connexion's answer)
        match = STATE_ROUTE.match(scope["path"])
        assert match is not None
        world_id = match["world"]
        x.state["operation_id"] = "replaceWorldState" if world_id else "replaceState"
        runtime = self.worlds.get(world_id or DEFAULT_ID).runtime
        body = await self._read(scope, x.receive, document_limit(self.worlds), runtime)
        if body is None:
            return ANSWERED  # the client went away
        if body.size == 0:
            raise errors.ValidationFailed.field("body", "RequestBody is required")
        try:
            chunks = await asyncio.to_thread(runtime.replace_state_text, body)
        except SchemaRefused as refused:
            x.receive = _replay(refused.body, x.receive)  # Connexion's validation words the 400
            return None
        size = sum(map(len, chunks))
        headers = [(b"content-type", JSON_UTF8), (b"content-length", str(size).encode())]
        await x.send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in chunks:
            await x.send({"type": "http.response.body", "body": chunk, "more_body": True})
        await x.send({"type": "http.response.body", "body": b"", "more_body": False})
        return ANSWERED

    @staticmethod
    async def _read(scope: Scope, receive: Any, limit: int, runtime: Any) -> DocumentText | None:
        declared = (scope_header(scope, b"content-length") or "").strip()
        if declared and (not declared.isascii() or not declared.isdigit()):
            raise errors.ValidationFailed.field("content_length", errors.INVALID)
        own: list[int] = []

        async def over(size: int) -> bool:
            """Over the limit, which is at least the world's own export (counted off the loop,
            once, and only for a document over the budget): a world grown past its budget still
            takes its own export back."""
            if size > limit and not own:
                own.append(await asyncio.to_thread(runtime.store.export_size))
            return size > max([limit, *own])

        if declared and (len(declared) > 18 or await over(int(declared))):
            raise too_large(max([limit, *own]))
        body = DocumentText()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            if await over(body.size + len(chunk)):
                raise too_large(max([limit, *own]))
            more = bool(message.get("more_body", False))
            body.feed(chunk, final=not more)
            if not more:
                return body


def _replay(chunks: list[bytes], receive: Any) -> Any:
    """A ``receive`` that gives ``chunks`` as the request body, then what the client sends."""
    pending = list(chunks) or [b""]

    async def replay() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        message: dict[str, Any] = await receive()
        return message

    return replay
