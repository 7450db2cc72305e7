"""Messages tag: posting (chat, status, comments, files, inbox items), listing, show, edit, delete,
and the deprecated Push API. A multipart upload's file part arrives as ``content``."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store
from mock_server.store.listing import ListQuery

__all__ = [
    "create_comment",
    "create_message_comment",
    "delete_message",
    "edit_message",
    "list_flow_messages",
    "post_thread_message",
    "push_chat_message",
    "push_team_inbox_message",
    "send_flow_message",
    "send_message",
    "show_message",
]


def send_message(
    store: Store,
    token_info: dict[str, Any],
    body: dict[str, Any],
    user: int | None = None,
    flow_token: str | None = None,
) -> Any:
    source = token_info.get("source")
    if source is not None:  # a source posting with its flow_token (docs/flowdock.md §8.3): 202 and {}
        return store.messages.post_as_source(source, body), 202
    token = body.get("flow_token") or flow_token
    if token and (user is None or not body.get("flow")):  # a user's post naming no flow: the source's
        return store.messages.post_integration_message(str(token), body), 202
    return store.messages.send_message(body, viewer=user), 201


def list_flow_messages(store: Store, user: int, organization: str, flow: str, **query: Any) -> Any:
    return store.messages.list_flow_messages(organization, flow, ListQuery.from_params(query), viewer=user)


def send_flow_message(
    store: Store,
    user: int,
    organization: str,
    flow: str,
    body: dict[str, Any] | None = None,
    content: Any = None,
) -> Any:
    return store.messages.send_flow_message(organization, flow, body or {}, content, viewer=user), 201


def show_message(store: Store, user: int, organization: str, flow: str, id_: int) -> Any:
    return store.messages.show_message(organization, flow, id_, viewer=user)


def edit_message(
    store: Store, user: int, organization: str, flow: str, id_: int, body: dict[str, Any]
) -> Any:
    return store.messages.edit_message(organization, flow, id_, body, viewer=user)


def delete_message(store: Store, user: int, organization: str, flow: str, id_: int) -> Any:
    removed = store.messages.delete_message(organization, flow, id_, viewer=user)
    return (None, 204) if removed else ({}, 200)


def create_message_comment(
    store: Store, user: int, organization: str, flow: str, id_: int, body: dict[str, Any]
) -> Any:
    return store.messages.create_message_comment(organization, flow, id_, body, viewer=user), 201


def create_comment(store: Store, user: int, body: dict[str, Any]) -> Any:
    return store.messages.create_comment(body, viewer=user), 201


def post_thread_message(
    store: Store,
    user: int,
    organization: str,
    flow: str,
    id_: str,
    body: dict[str, Any] | None = None,
    content: Any = None,
) -> Any:
    return store.messages.post_thread_message(organization, flow, id_, body or {}, content, viewer=user), 201


def push_chat_message(store: Store, flow_api_token: str, body: dict[str, Any]) -> Any:
    return store.messages.push_chat_message(flow_api_token, body)


def push_team_inbox_message(store: Store, flow_api_token: str, body: dict[str, Any]) -> Any:
    return store.messages.push_team_inbox_message(flow_api_token, body)
