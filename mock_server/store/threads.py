"""Threads: every chat message starts one; integrations address theirs by external id.

The thread operations of the contract (listFlowThreads, getThread, listThreadMessages) and the
thread rules posting relies on: finding the thread a post names, creating one, and the thread an
integration's activity or discussion belongs to (docs/flowdock.md §4.4). Threads are kept in their
flow's log (listing.py), each with its own timeline of messages.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_server.errors import BLANK, INVALID, NotFound, ValidationFailed
from mock_server.store.listing import FlowLog, ListQuery, Timeline, matcher
from mock_server.store.message_model import Thread
from mock_server.store.representation import thread_dict
from mock_server.store.timefmt import iso_ms, parse_iso_ms

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.flows import Flow

THREAD_ID_BYTES = 27


@dataclass(frozen=True, slots=True)
class ThreadPage:
    """One page of a flow's threads, newest updated first.

    ``next_until`` is the ``until`` of the next page when older threads remain (None: the last
    page); ``organization`` and ``flow`` are the flow's canonical names, for the next page's URL.
    """

    threads: list[dict[str, Any]]
    organization: str
    flow: str
    next_until: str | None


class ThreadStore:
    """The threads of every flow (kept in the flows' logs)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- the rules posting relies on ---------------------------------------------------------------
    @staticmethod
    def find(log: FlowLog, thread_id: str, *, from_path: bool) -> Thread:
        """The thread a request names: 404 when named by the path, 400 ``thread_id`` in a body."""
        thread = log.threads.get(thread_id)
        if thread is None:
            if from_path:
                raise NotFound()
            raise ValidationFailed.field("thread_id", INVALID)
        return thread

    def create(self, flow: Flow, title: str, sent: int, **extra: Any) -> Thread:
        log = self.store.messages.log(flow.id)
        thread_id = self.store.token_urlsafe(THREAD_ID_BYTES)
        while thread_id in log.threads:
            thread_id = self.store.token_urlsafe(THREAD_ID_BYTES)
        return log.add_thread(
            Thread(id=thread_id, flow=flow.id, title=title, created_at=sent, updated_at=sent, **extra)
        )

    @staticmethod
    def apply_state(thread: Thread, state: Any) -> None:
        """A posted ``thread`` object replaces the thread's state (docs/flowdock.md §4.4)."""
        if not isinstance(state, dict):
            raise ValidationFailed.field("thread", INVALID)
        title = state.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ValidationFailed.field("thread.title", BLANK)
        thread.title = title
        thread.body = state.get("body") or ""
        thread.external_url = state.get("external_url")
        thread.status = copy.deepcopy(state.get("status"))
        thread.fields = copy.deepcopy(state.get("fields") or [])
        thread.actions = copy.deepcopy(state.get("actions") or [])

    def for_inbox_item(
        self, flow: Flow, log: FlowLog, body: dict[str, Any], thread: Thread | None, source_id: int | None
    ) -> Thread:
        """Activity/discussion: check the fields, then find or create the thread they belong to."""
        problems: dict[str, list[str]] = {}
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            problems["title"] = [BLANK]
        author = body.get("author")
        if not isinstance(author, dict) or not str(author.get("name") or "").strip():
            problems["author.name"] = [BLANK]
        external_id = body.get("external_thread_id")
        if thread is None and not external_id:
            problems["external_thread_id"] = [BLANK]
        state = body.get("thread")
        if state is not None and (not isinstance(state, dict) or not str(state.get("title") or "").strip()):
            problems["thread.title"] = [BLANK]
        if thread is None and external_id and (source_id, external_id) not in log.external and state is None:
            problems["thread"] = [BLANK]
        if problems:
            raise ValidationFailed(errors=problems)
        if thread is not None:
            return thread
        key = (source_id, str(external_id))
        if key in log.external:
            return log.threads[log.external[key]]
        title = str(state["title"]) if isinstance(state, dict) else ""
        return self.create(
            flow, title, self.store.messages.tick(), source_id=source_id, external_thread_id=str(external_id)
        )

    # --- representation ----------------------------------------------------------------------------
    def to_dict(self, thread: Thread) -> dict[str, Any]:
        source = None
        if thread.source_id is not None:
            found = self.store.sources.by_id.get(thread.source_id)
            if found is not None:
                source = self.store.sources.compact(found)
        return thread_dict(thread, source)

    # --- operations --------------------------------------------------------------------------------
    def list_flow_threads(
        self,
        organization: str,
        flow: str,
        limit: int = 30,
        since: str | None = None,
        until: str | None = None,
        *,
        viewer: int,
    ) -> ThreadPage:
        """Newest updated first, ``limit`` of them; ``next_until`` when older threads remain."""
        with self.store.lock:
            found = self.store.messages.joined_flow(organization, flow, viewer=viewer)
            since_ms, until_ms = _instant(since, "since"), _instant(until, "until")
            threads = sorted(
                self.store.messages.log(found.id).threads.values(),
                key=lambda t: (t.updated_at, t.id),
                reverse=True,
            )
            chosen = [
                t
                for t in threads
                if (since_ms is None or t.updated_at > since_ms)
                and (until_ms is None or t.updated_at < until_ms)
            ]
            page = chosen[:limit]
            org = self.store.organizations.by_id[found.organization_id]
            return ThreadPage(
                threads=[self.to_dict(t) for t in page],
                organization=org.parameterized_name,
                flow=found.parameterized_name,
                next_until=iso_ms(page[-1].updated_at) if len(chosen) > limit else None,
            )

    def get_thread(self, organization: str, flow: str, thread_id: str, *, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            found = self.store.messages.joined_flow(organization, flow, viewer=viewer)
            return self.to_dict(self.find(self.store.messages.log(found.id), thread_id, from_path=True))

    def list_thread_messages(
        self, organization: str, flow: str, thread_id: str, query: ListQuery, *, viewer: int
    ) -> list[dict[str, Any]]:
        with self.store.lock:
            messages = self.store.messages
            found = messages.joined_flow(organization, flow, viewer=viewer)
            log = messages.log(found.id)
            self.find(log, thread_id, from_path=True)
            timeline = log.thread_timelines.setdefault(thread_id, Timeline())
            page = timeline.page(query, matcher(query, messages.all_nicks()))
            return messages.page_dicts(found.id, page)


def _instant(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_iso_ms(value)
    except ValueError:
        raise ValidationFailed.field(name, INVALID) from None
