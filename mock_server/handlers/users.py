"""Users tag: the current user, visible users, flow users and organization users."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store

__all__ = [
    "add_user_to_flow",
    "get_current_user",
    "get_user",
    "list_flow_users",
    "list_organization_users",
    "list_users",
    "remove_user_from_flow",
    "remove_user_from_organization",
    "update_flow_user",
    "update_user",
]


def get_current_user(store: Store, user: int) -> Any:
    return store.users.get_current_user(viewer=user)


def list_users(store: Store, user: int) -> Any:
    return store.users.list_users(viewer=user)


def get_user(store: Store, user: int, id_: int) -> Any:
    return store.users.get_user(id_, viewer=user)


def update_user(store: Store, user: int, id_: int, body: dict[str, Any]) -> Any:
    return store.users.update_user(id_, body, viewer=user)


def list_flow_users(store: Store, user: int, organization: str, flow: str) -> Any:
    return store.flows.list_flow_users(organization, flow, viewer=user)


def add_user_to_flow(store: Store, user: int, organization: str, flow: str, body: dict[str, Any]) -> Any:
    return store.flows.add_user_to_flow(organization, flow, body["id"], viewer=user)


def update_flow_user(
    store: Store, user: int, organization: str, flow: str, id_: int, body: dict[str, Any]
) -> Any:
    return store.flows.update_flow_user(organization, flow, id_, body["disabled"], viewer=user)


def remove_user_from_flow(store: Store, user: int, organization: str, flow: str, id_: int) -> Any:
    store.flows.remove_user_from_flow(organization, flow, id_, viewer=user)
    return None, 204


def list_organization_users(store: Store, user: int, organization: str) -> Any:
    return store.organizations.list_organization_users(organization, viewer=user)


def remove_user_from_organization(store: Store, user: int, organization: str, id_: int) -> Any:
    store.organizations.remove_user_from_organization(organization, id_, viewer=user)
    return None, 204
