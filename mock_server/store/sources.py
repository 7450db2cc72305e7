"""Sources: integrations attached to a flow, each with a secret ``flow_token``."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.store import Store


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
            source = Source(**copy.deepcopy(raw))
            self.by_id[source.id] = source

    def export(self) -> dict[str, Any]:
        return {"sources": [asdict(s) for s in self.by_id.values()]}

    def compact(self, source: Source) -> dict[str, Any]:
        """The short form embedded in threads: ``{id, name, application}``."""
        app = self.store.oauth.applications.get(source.application_id) if source.application_id else None
        return {"id": source.id, "name": source.name, "application": app.name if app else None}

    def authenticate_flow_token(self, token: str) -> Source:
        """The live source behind a ``flow_token``: 410 once it was deleted, 401 if unknown."""
        from mock_server.errors import Gone, Unauthorized

        for source in self.by_id.values():
            if source.flow_token == token:
                if source.deleted:
                    raise Gone()
                return source
        raise Unauthorized()
