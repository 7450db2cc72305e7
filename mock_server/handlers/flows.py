"""Flows tag: listFlows, listAllFlows, getFlow, updateFlow, getFlowById, createFlow."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store

__all__ = ["create_flow", "get_flow", "get_flow_by_id", "list_all_flows", "list_flows", "update_flow"]


def list_flows(store: Store, user: int, users: int = 0) -> Any:
    return store.flows.list_flows(bool(users), viewer=user)


def list_all_flows(store: Store, user: int, users: int = 0) -> Any:
    return store.flows.list_all_flows(bool(users), viewer=user)


def get_flow(store: Store, user: int, organization: str, flow: str) -> Any:
    return store.flows.get_flow(organization, flow, viewer=user)


def get_flow_by_id(store: Store, user: int, id_: str, users: int = 0) -> Any:
    return store.flows.get_flow_by_id(id_, viewer=user)


def update_flow(store: Store, user: int, organization: str, flow: str, body: dict[str, Any]) -> Any:
    return store.flows.update_flow(organization, flow, body, viewer=user)


def create_flow(store: Store, user: int, organization: str, body: dict[str, Any]) -> Any:
    return store.flows.create_flow(organization, body["name"], viewer=user), 201
