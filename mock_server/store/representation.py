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


def thread_dict(thread: Thread, source: dict[str, Any] | None) -> dict[str, Any]:
    """The thread object; ``source`` is the compact source of an integration's thread.

    Only the state a posted thread object set (``status``, ``fields``, ``actions``) is deep-copied,
    and only when there is some: an empty ``fields`` or ``actions`` is stored as an empty value
    (``thread_from_record``, ``ThreadStore.apply_state``) and answered as a new empty list.
    """
    status, fields, actions = thread.status, thread.fields, thread.actions
    return {
        "id": thread.id,
        "title": thread.title,
        "body": thread.body,
        "external_url": thread.external_url,
        "status": None if status is None else clone(status),
        "fields": clone(fields) if fields else [],
        "actions": clone(actions) if actions else [],
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
    """The message object: ``flow`` on flow messages, ``to`` on private ones, its ``thread`` when given.

    A text content is answered as it is (a string is never changed in place); a file's or a
    comment's content, attachments, reactions and an inbox item's author are deep-copied, the
    attachments and reactions only when there are some (stored empty, answered as new empties).
    """
    content, attachments = message.content, message.attachments
    reactions, edited = message.reactions, message.edited
    out: dict[str, Any] = {"id": message.id, "event": message.event}
    if flow_id is not None:
        out["flow"] = flow_id
    if to is not None:
        out["to"] = str(to)
    out["content"] = content if content is None or type(content) is str else clone(content)
    out["sent"] = message.sent
    out["user"] = str(message.user)
    out["created_at"] = iso_ms(message.sent)
    out["tags"] = list(message.tags)
    out["uuid"] = message.uuid
    out["app"] = message.app
    out["attachments"] = clone(attachments) if attachments else []
    out["edited"] = edited
    out["edited_at"] = None if edited is None else iso_ms(edited)
    out["emojiReactions"] = clone(reactions) if reactions else {}
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
