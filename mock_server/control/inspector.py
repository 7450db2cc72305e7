"""Inspector tag: the inspector page, its scripts and the journals' live feeds (mock_server/inspector/,
runtime/feed.py), for the default world and for each world of runtime/worlds.py."""

from __future__ import annotations

from typing import Any

from starlette.responses import StreamingResponse

from mock_server.binding.request_context import request_header
from mock_server.errors import NotFound
from mock_server.inspector.page import module_script, render_page
from mock_server.runtime.feed import JournalFeed, parse_last_event_id
from mock_server.runtime.worlds import Worlds

__all__ = ["get_inspector", "get_inspector_module", "stream_requests", "stream_world_requests"]

_NO_STORE = {"Cache-Control": "no-store"}


def get_inspector(worlds: Worlds) -> Any:
    hints = {"adminToken": worlds.default.runtime.admin_token is not None}
    return render_page(hints), 200, {"Content-Type": "text/html", **_NO_STORE}


def get_inspector_module(worlds: Worlds, name: str) -> Any:
    """One ES module of the page, as a file (a module is read as UTF-8 whatever the type says),
    never sniffed as anything but a script."""
    script = module_script(name)
    if script is None:
        raise NotFound()
    headers = {"Content-Type": "text/javascript", "X-Content-Type-Options": "nosniff", **_NO_STORE}
    return script, 200, headers


def stream_requests(worlds: Worlds, after: int | None = None) -> Any:
    return _stream(worlds.default.runtime.feed, after)


def stream_world_requests(worlds: Worlds, world: str, after: int | None = None) -> Any:
    return _stream(worlds.get(world).runtime.feed, after)


def _stream(feed: JournalFeed, after: int | None) -> Any:
    last = parse_last_event_id(request_header("Last-Event-ID"))
    return StreamingResponse(
        feed.events(last if last is not None else after),
        media_type="text/event-stream",
        headers={**_NO_STORE, "X-Accel-Buffering": "no"},
    )
