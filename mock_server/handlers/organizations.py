"""Organizations tag: listOrganizations, getOrganization, getOrganizationById, updateOrganization."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store

__all__ = ["get_organization", "get_organization_by_id", "list_organizations", "update_organization"]


def list_organizations(store: Store, user: int) -> Any:
    return store.organizations.list_organizations(viewer=user)


def get_organization(store: Store, user: int, parameterized_name: str) -> Any:
    return store.organizations.get_organization(parameterized_name, viewer=user)


def get_organization_by_id(store: Store, user: int, id_: int) -> Any:
    return store.organizations.get_organization_by_id(id_, viewer=user)


def update_organization(store: Store, user: int, parameterized_name: str, body: dict[str, Any]) -> Any:
    return store.organizations.update_organization(parameterized_name, body, viewer=user)
