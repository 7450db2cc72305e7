"""Private Conversations and Private Messages tags: a conversation is named after the other
user's id; its messages follow the flow rules and carry ``to`` instead of ``flow``."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store
from mock_server.store.listing import ListQuery

__all__ = [
    "delete_private_message",
    "edit_private_message",
    "get_private_conversation",
    "list_private_conversations",
    "list_private_messages",
    "send_private_message",
    "show_private_message",
    "update_private_conversation",
]


def list_private_conversations(store: Store, user: int) -> Any:
    return store.private.list_private_conversations(viewer=user)


def get_private_conversation(store: Store, user: int, id_: int) -> Any:
    return store.private.get_private_conversation(id_, viewer=user)


def update_private_conversation(store: Store, user: int, id_: int, body: dict[str, Any]) -> Any:
    return store.private.update_private_conversation(id_, body, viewer=user)


def list_private_messages(store: Store, user: int, id_: int, **query: Any) -> Any:
    return store.private.list_private_messages(id_, ListQuery.from_params(query), viewer=user)


def send_private_message(
    store: Store, user: int, id_: int, body: dict[str, Any] | None = None, content: Any = None
) -> Any:
    return store.private.send_private_message(id_, body or {}, content, viewer=user), 201


def show_private_message(store: Store, user: int, id_: int, message_id: int) -> Any:
    return store.private.show_private_message(id_, message_id, viewer=user)


def edit_private_message(store: Store, user: int, id_: int, message_id: int, body: dict[str, Any]) -> Any:
    return store.private.edit_private_message(id_, message_id, body, viewer=user)


def delete_private_message(store: Store, user: int, id_: int, message_id: int) -> Any:
    removed = store.private.delete_private_message(id_, message_id, viewer=user)
    return (None, 204) if removed else ({}, 200)
