"""Threads tag: list a flow's threads (newest updated first, ``Link: rel="next"``), get one, and
list the messages of one (posting into a thread is postThreadMessage, tagged Messages)."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store
from mock_server.store.listing import ListQuery

__all__ = ["get_thread", "list_flow_threads", "list_thread_messages"]


def list_flow_threads(
    store: Store,
    user: int,
    organization: str,
    flow: str,
    limit: int = 30,
    since: str | None = None,
    until: str | None = None,
    application: str | None = None,
    empty: int | None = None,
) -> Any:
    page = store.threads.list_flow_threads(organization, flow, limit, since, until, viewer=user)
    headers = {}
    if page.next_until is not None:  # older threads remain: where the next page is
        url = f"{store.config.base_url}/flows/{page.organization}/{page.flow}/threads"
        headers["Link"] = f'<{url}?until={page.next_until}>; rel="next"'
    return page.threads, 200, headers


def get_thread(store: Store, user: int, organization: str, flow: str, id_: str) -> Any:
    return store.threads.get_thread(organization, flow, id_, viewer=user)


def list_thread_messages(
    store: Store, user: int, organization: str, flow: str, id_: str, **query: Any
) -> Any:
    return store.threads.list_thread_messages(
        organization, flow, id_, ListQuery.from_params(query), viewer=user
    )
