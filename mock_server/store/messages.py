"""Flow messages and threads: per-flow logs ordered by id, threads with their counters.

Message ids are unique within their flow and only grow, so each flow's log is a list in id order;
id-bounded pages are found by bisection. Operations on messages live here and are named after
the contract's operations.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.store.timefmt import iso_ms

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.flows import Flow


@dataclass(slots=True)
class Message:
    """One stored event. ``user`` is 0 for integrations and anonymous posts (shown as ``"0"``)."""

    id: int
    event: str
    content: Any
    user: int
    sent: int
    tags: list[str] = field(default_factory=list)
    uuid: str | None = None
    app: str | None = "chat"
    thread_id: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    edited: int | None = None
    external_user_name: str | None = None
    title: str | None = None
    body: str | None = None
    author: dict[str, Any] | None = None


@dataclass(slots=True)
class Thread:
    """A thread: every chat message starts one; integrations address theirs by external id."""

    id: str
    flow: str
    title: str
    created_at: int
    updated_at: int
    initial_message: int | None = None
    body: str = ""
    external_url: str | None = None
    status: dict[str, Any] | None = None
    fields: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    source_id: int | None = None
    external_thread_id: str | None = None
    activities: int = 0
    internal_comments: int = 0
    external_comments: int = 0


@dataclass
class FlowLog:
    """One flow's messages (ascending id) and threads."""

    messages: list[Message] = field(default_factory=list)
    by_id: dict[int, Message] = field(default_factory=dict)
    threads: dict[str, Thread] = field(default_factory=dict)
    next_id: int = 1


class MessageStore:
    """Messages and threads of every flow."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.logs: dict[str, FlowLog] = {}

    def log(self, flow_id: str) -> FlowLog:
        found = self.logs.get(flow_id)
        if found is None:
            found = self.logs[flow_id] = FlowLog()
        return found

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("threads", []):
            thread = Thread(**copy.deepcopy(raw))
            self.log(thread.flow).threads[thread.id] = thread
        for raw in world.get("messages", []):
            raw = copy.deepcopy(raw)
            flow_id = raw.pop("flow")
            self.append(flow_id, Message(**raw))

    def export(self) -> dict[str, Any]:
        messages, threads = [], []
        for flow_id, log in self.logs.items():
            threads.extend(asdict(t) for t in log.threads.values())
            messages.extend({"flow": flow_id, **asdict(m)} for m in log.messages)
        return {"messages": messages, "threads": threads}

    def append(self, flow_id: str, message: Message) -> Message:
        """Store a message whose id is already set (greater than every id in the flow)."""
        log = self.log(flow_id)
        log.messages.append(message)
        log.by_id[message.id] = message
        log.next_id = max(log.next_id, message.id + 1)
        return message

    # --- representations ------------------------------------------------------------------------
    def thread_dict(self, thread: Thread) -> dict[str, Any]:
        source = None
        if thread.source_id is not None:
            found = self.store.sources.by_id.get(thread.source_id)
            if found is not None:
                source = self.store.sources.compact(found)
        return {
            "id": thread.id,
            "title": thread.title,
            "body": thread.body,
            "external_url": thread.external_url,
            "status": copy.deepcopy(thread.status),
            "fields": copy.deepcopy(thread.fields),
            "actions": copy.deepcopy(thread.actions),
            "source": source,
            "activities": thread.activities,
            "internal_comments": thread.internal_comments,
            "external_comments": thread.external_comments,
            "initial_message": thread.initial_message,
            "flow": thread.flow,
            "created_at": iso_ms(thread.created_at),
            "updated_at": iso_ms(thread.updated_at),
        }

    def to_dict(self, flow_id: str, message: Message) -> dict[str, Any]:
        """The message object (reference §4.1), with a copy of its thread's current state."""
        out: dict[str, Any] = {
            "id": message.id,
            "event": message.event,
            "flow": flow_id,
            "content": copy.deepcopy(message.content),
            "sent": message.sent,
            "user": str(message.user),
            "created_at": iso_ms(message.sent),
            "tags": list(message.tags),
            "uuid": message.uuid,
            "app": message.app,
            "attachments": copy.deepcopy(message.attachments),
            "edited": message.edited,
            "edited_at": iso_ms(message.edited) if message.edited is not None else None,
            "emojiReactions": {},
        }
        if message.thread_id is not None:
            out["thread_id"] = message.thread_id
            thread = self.logs[flow_id].threads.get(message.thread_id)
            if thread is not None:
                out["thread"] = self.thread_dict(thread)
        if message.external_user_name is not None:
            out["external_user_name"] = message.external_user_name
        if message.event in ("activity", "discussion"):
            out["title"] = message.title
            out["body"] = message.body
            if message.author is not None:
                out["author"] = copy.deepcopy(message.author)
        return out

    def flow_stats(self, flow: Flow, viewer: int) -> dict[str, Any]:
        """Unread mentions of ``viewer`` and the newest message, for the flow object."""
        log = self.logs.get(flow.id)
        if log is None or not log.messages:
            return {"unread_mentions": 0, "last_message_id": None, "last_message_at": None}
        unread = f":unread:{viewer}"
        last = log.messages[-1]
        return {
            "unread_mentions": sum(1 for m in log.messages if unread in m.tags),
            "last_message_id": last.id,
            "last_message_at": iso_ms(last.sent),
        }
