"""Invitations to join a flow, pending or accepted."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.store import Store


@dataclass(slots=True)
class Invitation:
    """An invitation of one email address to one flow."""

    id: int
    flow: str
    email: str
    state: str = "pending"
    message: str | None = None
    created_at: int = 0


class InvitationStore:
    """All invitations, by id."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_id: dict[int, Invitation] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("invitations", []):
            invitation = Invitation(**copy.deepcopy(raw))
            self.by_id[invitation.id] = invitation

    def export(self) -> dict[str, Any]:
        return {"invitations": [asdict(i) for i in self.by_id.values()]}
