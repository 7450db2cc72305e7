"""Sources tag: integrations of a flow and their flow_token (docs/flowdock.md §3.7, §8.3)."""

from __future__ import annotations

from typing import Any

from mock_server.errors import RULE_PERSONAL_TOKEN_SOURCE
from mock_server.store import Store

__all__ = [
    "create_source",
    "delete_source",
    "get_source",
    "list_flow_sources",
    "list_sources",
    "update_source",
    "update_source_by_token",
]


def list_sources(
    store: Store, token_info: dict[str, Any], user: int | None = None, flow_token: str | None = None
) -> Any:
    return store.sources.list_sources(flow_token, token_info.get("source"), viewer=user)


def update_source_by_token(
    store: Store, token_info: dict[str, Any], body: dict[str, Any], flow_token: str | None = None
) -> Any:
    return store.sources.update_source_by_token(flow_token, body, token_info.get("source"))


def list_flow_sources(store: Store, user: int, organization: str, flow: str) -> Any:
    return store.sources.list_flow_sources(organization, flow, viewer=user)


def create_source(
    store: Store, user: int, token_info: dict[str, Any], organization: str, flow: str, body: dict[str, Any]
) -> Any:
    # Only an OAuth token carries an application. Basic credentials leave it None: 403, except in
    # compatible mode, where a personal API token creates a source without one (the Ruby gem's way).
    application = token_info.get("application")
    legacy = token_info.get("legacy")
    personal = application is None and legacy is not None and legacy.allowed
    created = store.sources.create_source(
        organization, flow, application, body, viewer=user, personal_token=personal
    )
    if personal and legacy is not None:
        legacy.record(RULE_PERSONAL_TOKEN_SOURCE)
    return created, 201


def get_source(store: Store, user: int, organization: str, flow: str, id_: int) -> Any:
    return store.sources.get_source(organization, flow, id_, viewer=user)


def update_source(
    store: Store, user: int, organization: str, flow: str, id_: int, body: dict[str, Any]
) -> Any:
    return store.sources.update_source(organization, flow, id_, body, viewer=user)


def delete_source(store: Store, user: int, organization: str, flow: str, id_: int) -> Any:
    store.sources.delete_source(organization, flow, id_, viewer=user)
    return None, 204
