"""Inspector tag: the inspector page and the journal's live feed (mock_server/inspector/)."""

from __future__ import annotations

from typing import Any

from starlette.responses import StreamingResponse

from mock_server.binding.request_context import request_header
from mock_server.inspector.page import render_page
from mock_server.runtime import Runtime
from mock_server.runtime.feed import parse_last_event_id

__all__ = ["get_inspector", "stream_requests"]

_NO_STORE = {"Cache-Control": "no-store"}


def get_inspector(runtime: Runtime) -> Any:
    hints = {"adminToken": runtime.admin_token is not None}
    return render_page(hints), 200, {"Content-Type": "text/html", **_NO_STORE}


def stream_requests(runtime: Runtime, after: int | None = None) -> Any:
    last = parse_last_event_id(request_header("Last-Event-ID"))
    return StreamingResponse(
        runtime.feed.events(last if last is not None else after),
        media_type="text/event-stream",
        headers={**_NO_STORE, "X-Accel-Buffering": "no"},
    )
