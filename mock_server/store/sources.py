"""Sources (docs/flowdock.md §3.7, §8.3): a flow's integrations, each with a secret ``flow_token``.

Flow members list, read, update and delete a flow's sources; creating one needs an OAuth token
with the ``integration`` scope, whose application becomes the source's (or, in compatible mode, a
personal API token: a source without an application). The ``flow_token`` is shown
once, in the create response. Deleting keeps the record (``deleted``) so its token answers 410.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_server.errors import (
    FLOW_TOKEN_REQUIRED,
    RULE_PERSONAL_TOKEN_SOURCE,
    Forbidden,
    Gone,
    NotFound,
    Unauthorized,
    rule_text,
)
from mock_server.store.keys import FLOW_TOKEN
from mock_server.store.records import record
from mock_server.store.representation import clone
from mock_server.store.timefmt import iso_ms

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.flows import Flow

API_TOKEN_SOURCE = "API token"
"""Name of a flow's default source: the one a flow's API token posts as (compatible mode)."""
UPDATABLE = ("error_message", "configuration_url", "name", "external_url")
"""Flowdock's two (error_message, configuration_url) and the seed's two (name, external_url)."""


@dataclass(slots=True)
class Source:
    """An integration posting into one flow. ``deleted`` keeps its token answering 410."""

    id: int
    flow: str
    name: str
    flow_token: str
    created_at: int
    updated_at: int
    application_id: int | None = None
    creator_id: int | None = None
    external_url: str | None = None
    configuration_url: str | None = None
    error_message: str = ""
    deleted: bool = False


class SourceStore:
    """All sources, by id and by flow_token."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_id: dict[int, Source] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("sources", []):
            source = Source(**clone(raw))
            self.by_id[source.id] = source

    def export(self) -> dict[str, Any]:
        return {"sources": [record(s) for s in self.by_id.values()]}

    def compact(self, source: Source) -> dict[str, Any]:
        """The short form embedded in threads: ``{id, name, application}``."""
        app = self.store.oauth.applications.get(source.application_id) if source.application_id else None
        return {"id": source.id, "name": source.name, "application": app.name if app else None}

    def authenticate_flow_token(self, token: str) -> Source:
        """The live source behind a ``flow_token``: 410 once it was deleted, 401 if unknown."""
        for source in self.by_id.values():
            if source.flow_token == token:
                if source.deleted:
                    raise Gone()
                return source
        raise Unauthorized()

    def api_token_source(self, flow: Flow) -> Source:
        """The flow's default source, created on first use: what its API token posts as.

        Integrations configured with the API token a flow's settings show (instead of a source's
        flow_token) post through it in compatible mode; it has no application and no creator.
        """
        for source in self._live_in(flow):
            if (
                source.name == API_TOKEN_SOURCE
                and source.application_id is None
                and source.creator_id is None
            ):
                return source
        now = self.store.now_ms()
        source = Source(
            id=max(self.by_id, default=0) + 1,
            flow=flow.id,
            name=API_TOKEN_SOURCE,
            flow_token=self.store.new_credential(FLOW_TOKEN, nbytes=16),
            created_at=now,
            updated_at=now,
        )
        self.by_id[source.id] = source
        return source

    def live(self, source_id: int) -> Source:
        """A source the security layer authenticated: 410 if it was deleted since."""
        source = self.by_id.get(source_id)
        if source is None:
            raise Unauthorized()
        if source.deleted:
            raise Gone()
        return source

    # --- representation -------------------------------------------------------------------------
    def to_dict(self, source: Source) -> dict[str, Any]:
        """The source object of docs/flowdock.md §3.7; never the flow_token."""
        flow = self.store.flows.by_id[source.flow]
        org = self.store.organizations.by_id[flow.organization_id]
        creator = self.store.users.by_id.get(source.creator_id) if source.creator_id is not None else None
        return {
            "id": source.id,
            "name": source.name,
            "url": f"{self.store.config.base_url}/flows/{org.parameterized_name}/{flow.parameterized_name}"
            f"/sources/{source.id}",
            "external_url": source.external_url,
            "configuration_url": source.configuration_url,
            "error_message": source.error_message,
            "created_at": iso_ms(source.created_at),
            "updated_at": iso_ms(source.updated_at),
            "_links": {},
            "application": self.store.oauth.application_dict(source.application_id),
            "creator": creator.to_dict() if creator is not None else None,
        }

    def _live_in(self, flow: Flow) -> list[Source]:
        return [s for s in self.by_id.values() if s.flow == flow.id and not s.deleted]

    def _get_in(self, organization: str, flow: str, source_id: int, *, viewer: int) -> Source:
        """A live source of a flow the viewer has joined: 404 if either is unknown to them."""
        found = self.store.flows.get_joined(organization, flow, viewer=viewer)
        source = self.by_id.get(source_id)
        if source is None or source.flow != found.id or source.deleted:
            raise NotFound()
        return source

    def _apply(self, source: Source, changes: dict[str, Any]) -> dict[str, Any]:
        for name in UPDATABLE:
            if name in changes:
                setattr(source, name, changes[name])
        source.updated_at = self.store.now_ms()
        return self.to_dict(source)

    # --- operations -----------------------------------------------------------------------------
    def list_sources(
        self, flow_token: str | None = None, source_id: int | None = None, *, viewer: int | None
    ) -> list[dict[str, Any]]:
        """With a flow_token (or the source it authenticated as), only that source; otherwise the
        sources of every flow the viewer joined."""
        with self.store.lock:
            if source_id is not None:
                return [self.to_dict(self.live(source_id))]
            if flow_token is not None:
                return [self.to_dict(self.authenticate_flow_token(flow_token))]
            if viewer is None:
                raise Unauthorized()
            joined = {f.id for f in self.store.flows.joined_by(viewer)}
            return [self.to_dict(s) for s in self.by_id.values() if s.flow in joined and not s.deleted]

    def list_flow_sources(self, organization: str, flow: str, *, viewer: int) -> list[dict[str, Any]]:
        with self.store.lock:
            return [
                self.to_dict(s)
                for s in self._live_in(self.store.flows.get_joined(organization, flow, viewer=viewer))
            ]

    def create_source(
        self,
        organization: str,
        flow: str,
        application_id: int | None,
        fields: dict[str, Any],
        *,
        viewer: int,
        personal_token: bool = False,
    ) -> dict[str, Any]:
        """``application_id`` is the OAuth token's application, None for other credentials: 403,
        unless ``personal_token`` allows a source without an application (compatible mode)."""
        with self.store.lock:
            if application_id is None and not personal_token:
                raise Forbidden(rule_text(RULE_PERSONAL_TOKEN_SOURCE))
            found = self.store.flows.get_joined(organization, flow, viewer=viewer)
            now = self.store.now_ms()
            source = Source(
                id=max(self.by_id, default=0) + 1,
                flow=found.id,
                name=fields["name"],
                flow_token=self.store.new_credential(FLOW_TOKEN, nbytes=16),
                created_at=now,
                updated_at=now,
                application_id=application_id,
                creator_id=viewer,
                external_url=fields.get("external_url"),
            )
            self.by_id[source.id] = source
            return {**self.to_dict(source), "flow_token": source.flow_token}

    def get_source(self, organization: str, flow: str, source_id: int, *, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            return self.to_dict(self._get_in(organization, flow, source_id, viewer=viewer))

    def update_source(
        self, organization: str, flow: str, source_id: int, changes: dict[str, Any], *, viewer: int
    ) -> dict[str, Any]:
        with self.store.lock:
            return self._apply(self._get_in(organization, flow, source_id, viewer=viewer), changes)

    def delete_source(self, organization: str, flow: str, source_id: int, *, viewer: int) -> None:
        """The token stops working at once: posts and lookups with it answer 410 from now on."""
        with self.store.lock:
            self._get_in(organization, flow, source_id, viewer=viewer).deleted = True

    def update_source_by_token(
        self, query_token: str | None, changes: dict[str, Any], source_id: int | None = None
    ) -> dict[str, Any]:
        """``PUT /sources``: the integration updates its own source, token in the query or the body
        (or the source the security layer authenticated it as)."""
        with self.store.lock:
            if source_id is not None:
                return self._apply(self.live(source_id), changes)
            token = query_token or changes.get("flow_token")
            if not token:
                raise Unauthorized(FLOW_TOKEN_REQUIRED)
            return self._apply(self.authenticate_flow_token(token), changes)
