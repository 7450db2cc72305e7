"""Where messages are kept and how a page of them is found.

Message ids are unique within their flow and only grow, so each container of messages (a flow's
``FlowLog``, a private conversation's ``Log``) keeps a ``Timeline``: a list of ids beside the list
of messages, in id order. An id-bounded page bisects to its start and walks ``limit`` matches from
the chosen end, O(log n + limit) whatever the flow's size; each thread keeps its own timeline, so
a thread's messages are found without scanning the flow. Per-log counters (``:unread:<uid>``
tags) make the flow's unread mentions O(1).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from mock_server.store import tags as tagging
from mock_server.store.message_model import Message, Thread

_ID = attrgetter("id")


class Timeline:
    """Messages in ascending id order, found by bisection on their ids (one list: a thread's
    timeline is per thread, and most threads hold one message)."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Message] = []

    def __len__(self) -> int:
        return len(self.items)

    def append(self, message: Message) -> None:
        self.items.append(message)

    def remove(self, message_id: int) -> None:
        items = self.items
        i = bisect_left(items, message_id, key=_ID)
        if i < len(items) and items[i].id == message_id:
            del items[i]

    def page(self, query: ListQuery, match: Callable[[Message], bool] | None) -> list[Message]:
        """``skip`` then ``limit`` matches from the ``sort`` end, returned ascending by id."""
        items = self.items
        lo, hi = 0, len(items)
        if not query.search:  # id bounds are ignored for search requests (docs/flowdock.md §3.3)
            if query.since_id is not None:
                lo = bisect_right(items, query.since_id, key=_ID)
            if query.until_id is not None:
                hi = bisect_left(items, query.until_id, key=_ID)
        want = query.skip + query.limit
        picked: list[Message] = []
        indexes = range(hi - 1, lo - 1, -1) if query.sort == "desc" else range(lo, hi)
        for i in indexes:
            message = items[i]
            if match is None or match(message):
                picked.append(message)
                if len(picked) >= want:
                    break
        picked = picked[query.skip :]
        if query.sort == "desc":
            picked.reverse()
        return picked


@dataclass(slots=True)
class ListQuery:
    """The listing parameters of listFlowMessages, listThreadMessages and listPrivateMessages."""

    event: str | None = None
    tags: str | list[str] | None = None
    tag_mode: str = "and"
    limit: int = 30
    since_id: int | None = None
    until_id: int | None = None
    sort: str = "desc"
    search: str | None = None
    skip: int = 0
    app: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ListQuery:
        """The listing parameters among a handler's keyword arguments (the rest is ignored)."""
        return cls(**{name: params[name] for name in cls.__dataclass_fields__ if name in params})


def searchable_text(message: Message) -> str:
    """The words a search looks at: chat text, comment text, file name, inbox title and body."""
    content = message.content
    parts: list[str] = []
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, dict):
        parts.extend(str(content.get(k) or "") for k in ("text", "title", "file_name", "subject", "content"))
    parts.extend(p for p in (message.title, message.body) if p)
    return " ".join(parts)


def matcher(query: ListQuery, nicks: dict[str, int]) -> Callable[[Message], bool] | None:
    """The filter of a listing, or None when every message matches (the fast path)."""
    events = {e.strip() for e in (query.event or "").split(",") if e.strip()}
    wanted = tagging.filter_tags(query.tags, nicks)
    keywords = tagging.words(query.search or "")
    app = query.app
    if not (events or wanted or keywords or app):
        return None
    any_tag = query.tag_mode == "or"

    def by_tags(m: Message) -> bool:
        have = {t.lower() for t in m.tags}
        return any(t in have for t in wanted) if any_tag else all(t in have for t in wanted)

    def by_search(m: Message) -> bool:
        return keywords <= tagging.words(searchable_text(m))

    def match(m: Message) -> bool:
        if events and m.event not in events:
            return False
        if app and m.app != app:
            return False
        if keywords and wanted and any_tag:  # observed: search with tag_mode=or is a union
            return by_search(m) or by_tags(m)
        if wanted and not by_tags(m):
            return False
        return not (keywords and not by_search(m))

    return match


# --- one container of messages: a flow's log or a private conversation -----------------------------
@dataclass
class Log:
    """Messages by id and uuid, their timeline, and per-user ``:unread:`` counts."""

    timeline: Timeline = field(default_factory=Timeline)
    by_id: dict[int, Message] = field(default_factory=dict)
    by_uuid: dict[str, Message] = field(default_factory=dict)
    unread: Counter[int] = field(default_factory=Counter)
    next_id: int = 1

    @property
    def messages(self) -> list[Message]:
        return self.timeline.items

    def add(self, message: Message) -> Message:
        """Store a message whose id is already set (greater than every id here)."""
        self.timeline.append(message)
        self.by_id[message.id] = message
        if message.uuid:
            self.by_uuid.setdefault(message.uuid, message)
        self.next_id = max(self.next_id, message.id + 1)
        self._count(message.tags, 1)
        return message

    def remove(self, message: Message) -> None:
        self.timeline.remove(message.id)
        del self.by_id[message.id]
        if message.uuid and self.by_uuid.get(message.uuid) is message:
            del self.by_uuid[message.uuid]
        self._count(message.tags, -1)

    def retag(self, message: Message, tags: list[str]) -> None:
        self._count(message.tags, -1)
        message.tags = tags
        self._count(tags, 1)

    def _count(self, tags: Iterable[str], delta: int) -> None:
        for tag in tags:
            if tag.startswith(":unread:") and tag[8:].isascii() and tag[8:].isdigit() and len(tag) < 28:
                self.unread[int(tag[8:])] += delta


@dataclass
class FlowLog(Log):
    """One flow's messages and threads (each thread with its own timeline)."""

    threads: dict[str, Thread] = field(default_factory=dict)
    thread_timelines: dict[str, Timeline] = field(default_factory=dict)
    external: dict[tuple[int | None, str], str] = field(default_factory=dict)

    def add(self, message: Message) -> Message:
        super().add(message)
        if message.thread_id is not None:
            timeline = self.thread_timelines.get(message.thread_id)
            if timeline is None:
                timeline = self.thread_timelines[message.thread_id] = Timeline()
            timeline.append(message)
        return message

    def remove(self, message: Message) -> None:
        super().remove(message)
        if message.thread_id is not None and message.thread_id in self.thread_timelines:
            self.thread_timelines[message.thread_id].remove(message.id)

    def add_thread(self, thread: Thread) -> Thread:
        self.threads[thread.id] = thread
        if thread.id not in self.thread_timelines:
            self.thread_timelines[thread.id] = Timeline()
        if thread.external_thread_id is not None:
            self.external[(thread.source_id, thread.external_thread_id)] = thread.id
        return thread
