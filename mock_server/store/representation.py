"""The JSON objects of messages and threads, as the API returns them (docs/flowdock.md §4.1).

Plain functions of the entities (and, for a thread, of its source's compact form, which the caller
looks up): the store's operations call them, the event log stores their output.
"""

from __future__ import annotations

from typing import Any

from mock_server.store.message_model import Message, Thread
from mock_server.store.records import clone
from mock_server.store.timefmt import iso_ms

__all__ = ["clone", "message_dict", "thread_dict"]


_CONTAINERS = frozenset({dict, list})


def thread_dict(thread: Thread, source: dict[str, Any] | None) -> dict[str, Any]:
    """The thread object; ``source`` is the compact source of an integration's thread."""
    return {
        "id": thread.id,
        "title": thread.title,
        "body": thread.body,
        "external_url": thread.external_url,
        "status": clone(thread.status),
        "fields": clone(thread.fields),
        "actions": clone(thread.actions),
        "source": source,
        "activities": thread.activities,
        "internal_comments": thread.internal_comments,
        "external_comments": thread.external_comments,
        "initial_message": thread.initial_message,
        "flow": thread.flow,
        "created_at": iso_ms(thread.created_at),
        "updated_at": iso_ms(thread.updated_at),
    }


def message_dict(
    message: Message,
    flow_id: str | None,
    *,
    thread: dict[str, Any] | None = None,
    to: int | None = None,
) -> dict[str, Any]:
    """The message object: ``flow`` on flow messages, ``to`` on private ones, its ``thread`` when given."""
    out: dict[str, Any] = {"id": message.id, "event": message.event}
    if flow_id is not None:
        out["flow"] = flow_id
    if to is not None:
        out["to"] = str(to)
    out.update(
        {
            "content": clone(message.content),
            "sent": message.sent,
            "user": str(message.user),
            "created_at": iso_ms(message.sent),
            "tags": list(message.tags),
            "uuid": message.uuid,
            "app": message.app,
            "attachments": clone(message.attachments),
            "edited": message.edited,
            "edited_at": iso_ms(message.edited) if message.edited is not None else None,
            "emojiReactions": clone(message.reactions) if message.reactions else {},
        }
    )
    if message.thread_id is not None and flow_id is not None:
        out["thread_id"] = message.thread_id
        if thread is not None:
            out["thread"] = thread
    if message.external_user_name is not None:
        out["external_user_name"] = message.external_user_name
    if message.event in ("activity", "discussion"):
        out["title"] = message.title
        out["body"] = message.body
        if message.author is not None:
            out["author"] = clone(message.author)
    return out
