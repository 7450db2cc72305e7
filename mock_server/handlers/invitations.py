"""Invitations tag: invite people to a flow, one address or a whole list (docs/flowdock.md §3.8)."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store

__all__ = [
    "create_invitation",
    "delete_invitation",
    "get_invitation",
    "import_invitations",
    "list_invitations",
]


def list_invitations(store: Store, user: int, organization: str, flow: str) -> Any:
    return store.invitations.list_invitations(organization, flow, viewer=user)


def create_invitation(store: Store, user: int, organization: str, flow: str, body: dict[str, Any]) -> Any:
    return store.invitations.create_invitation(
        organization, flow, body["email"], body.get("message"), viewer=user
    ), 201


def get_invitation(store: Store, user: int, organization: str, flow: str, id_: int) -> Any:
    return store.invitations.get_invitation(organization, flow, id_, viewer=user)


def delete_invitation(store: Store, user: int, organization: str, flow: str, id_: int) -> Any:
    store.invitations.delete_invitation(organization, flow, id_, viewer=user)
    return None, 204


def import_invitations(store: Store, user: int, organization: str, flow: str, body: dict[str, Any]) -> Any:
    return store.invitations.import_invitations(
        organization, flow, body.get("list"), body.get("addresses"), body.get("message"), viewer=user
    )
