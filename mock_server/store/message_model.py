"""Messages and threads as the store keeps them, and the rules about one message on its own.

What a message's event allows (posting, editing, which thread counter it feeds), how a comment
names its parent, and the checks of a posted text or ``tags`` field. The store's operations are in
messages.py (flows), threads.py and private.py; their JSON representation in representation.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mock_server.errors import BLANK, INVALID, TOO_LONG, ValidationFailed
from mock_server.store import tags as tagging

MAX_CONTENT = 8096
"""Longest `content` Flowdock accepted (docs/flowdock.md §3.3)."""
POSTABLE = ("message", "status", "comment", "file", "activity", "discussion")
"""Events a client may post (`action` and the stream-only events are server-side)."""
CONTENT_EDITABLE = ("message", "comment")
INBOX_APPS = ("influx",)
INBOX_EVENTS = ("activity", "discussion", "mail")
THREAD_TITLE_LENGTH = 100


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
    reactions: dict[str, list[str]] | None = None
    """``emojiReactions``: emoji -> ids (strings) of the users who reacted; None: none."""


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
    fields: Sequence[dict[str, Any]] = ()
    """A posted thread state's fields; ``()`` (one shared empty value) until a state sets them."""
    actions: Sequence[dict[str, Any]] = ()
    source_id: int | None = None
    external_thread_id: str | None = None
    activities: int = 0
    internal_comments: int = 0
    external_comments: int = 0


def text_content(value: Any, name: str = "content") -> str:
    """A required chat text: a non-blank string of at most 8096 characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.field(name, BLANK)
    if len(value) > MAX_CONTENT:
        raise ValidationFailed.field(name, TOO_LONG)
    return value


def title_of(message: Message) -> str:
    """What a comment calls its parent (`content.title`)."""
    c = message.content
    if isinstance(c, str):
        return c[:THREAD_TITLE_LENGTH]
    if isinstance(c, dict):
        return str(c.get("file_name") or c.get("subject") or c.get("text") or "")[:THREAD_TITLE_LENGTH]
    return message.title or ""


def counter_of(event: str) -> str | None:
    """Which thread counter an event feeds (docs/flowdock.md §3.4)."""
    if event == "activity":
        return "activities"
    if event == "discussion":
        return "external_comments"
    if event in ("message", "comment", "file"):
        return "internal_comments"
    return None


def tags_param(value: Any) -> list[str] | str | None:
    if value is None:
        return value
    if isinstance(value, str | list):
        if any(tagging.is_json_object(item) for item in ([value] if isinstance(value, str) else value)):
            raise ValidationFailed.field("tags", INVALID)  # a form field holding an object's JSON
        return value
    raise ValidationFailed.field("tags", INVALID)
