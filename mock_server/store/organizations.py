"""Organizations: the account-level container of flows and users, and its admins."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.errors import ADMIN_ONLY, TAKEN, Forbidden, NotFound, ValidationFailed
from mock_server.store.representation import clone

if TYPE_CHECKING:
    from mock_server.store import Store


@dataclass(slots=True)
class Organization:
    """An organization; ``members`` maps user id to whether that user is an admin."""

    id: int
    parameterized_name: str
    name: str
    user_limit: int = 0
    active: bool = True
    subscription: dict[str, Any] = field(default_factory=lambda: {"trial": False})
    billing_method: str = "invoice"
    flow_admins: bool = False
    members: dict[int, bool] = field(default_factory=dict)

    def is_admin(self, user_id: int) -> bool:
        return self.members.get(user_id, False)

    def to_dict(self, base_url: str) -> dict[str, Any]:
        """The organization object (docs/flowdock.md §3.6); `users` was removed by Flowdock in 2017."""
        return {
            "id": self.id,
            "parameterized_name": self.parameterized_name,
            "name": self.name,
            "user_limit": self.user_limit,
            "user_count": len(self.members),
            "active": self.active,
            "url": f"{base_url}/organizations/{self.parameterized_name}",
            "subscription": dict(self.subscription),
            "billing_method": self.billing_method,
            "flow_admins": self.flow_admins,
        }


class OrganizationStore:
    """All organizations, by id and by parameterized name."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_id: dict[int, Organization] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("organizations", []):
            raw = clone(raw)
            members = {int(m["user"]): bool(m.get("admin", False)) for m in raw.pop("members", [])}
            org = Organization(**raw, members=members)
            self.by_id[org.id] = org

    def export(self) -> dict[str, Any]:
        out = []
        for org in self.by_id.values():
            raw = {
                "id": org.id,
                "parameterized_name": org.parameterized_name,
                "name": org.name,
                "user_limit": org.user_limit,
                "active": org.active,
                "subscription": copy.deepcopy(org.subscription),
                "billing_method": org.billing_method,
                "flow_admins": org.flow_admins,
                "members": [{"user": u, "admin": a} for u, a in org.members.items()],
            }
            out.append(raw)
        return {"organizations": out}

    # --- lookups --------------------------------------------------------------------------------
    def find(self, parameterized_name: str) -> Organization | None:
        for org in self.by_id.values():
            if org.parameterized_name == parameterized_name:
                return org
        return None

    def of_user(self, user_id: int) -> list[Organization]:
        return [org for org in self.by_id.values() if user_id in org.members]

    def get_member_org(self, parameterized_name: str, *, viewer: int) -> Organization:
        """The organization if ``viewer`` belongs to it; 404 otherwise (existence is not revealed)."""
        org = self.find(parameterized_name)
        if org is None or viewer not in org.members:
            raise NotFound()
        return org

    def get_admin_org(self, parameterized_name: str, *, viewer: int) -> Organization:
        """The organization if ``viewer`` administers it; 403 for plain members."""
        org = self.get_member_org(parameterized_name, viewer=viewer)
        if not org.is_admin(viewer):
            raise Forbidden(ADMIN_ONLY)
        return org

    def _dict(self, org: Organization) -> dict[str, Any]:
        return org.to_dict(self.store.config.base_url)

    # --- operations -----------------------------------------------------------------------------
    def list_organizations(self, *, viewer: int) -> list[dict[str, Any]]:
        with self.store.lock:
            return [self._dict(org) for org in self.of_user(viewer)]

    def get_organization(self, parameterized_name: str, *, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            return self._dict(self.get_member_org(parameterized_name, viewer=viewer))

    def get_organization_by_id(self, org_id: int, *, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            org = self.by_id.get(org_id)
            if org is None or viewer not in org.members:
                raise NotFound()
            return self._dict(org)

    def update_organization(
        self, parameterized_name: str, changes: dict[str, Any], *, viewer: int
    ) -> dict[str, Any]:
        """Admins only; answers the full organization."""
        with self.store.lock:
            org = self.get_admin_org(parameterized_name, viewer=viewer)
            new_name = changes.get("parameterized_name")
            if new_name is not None and new_name != org.parameterized_name and self.find(new_name):
                raise ValidationFailed.field("parameterized_name", TAKEN)
            if changes.get("name") is not None:
                org.name = changes["name"]
            if new_name is not None:
                org.parameterized_name = new_name
            return self._dict(org)

    def list_organization_users(self, parameterized_name: str, *, viewer: int) -> list[dict[str, Any]]:
        with self.store.lock:
            org = self.get_member_org(parameterized_name, viewer=viewer)
            users = self.store.users
            return [
                {**users.by_id[uid].to_dict(), "admin": admin} for uid, admin in sorted(org.members.items())
            ]

    def remove_user_from_organization(self, parameterized_name: str, user_id: int, *, viewer: int) -> None:
        """Admins only; the user also leaves every flow of the organization."""
        with self.store.lock:
            org = self.get_admin_org(parameterized_name, viewer=viewer)
            if user_id not in org.members:
                raise NotFound()
            del org.members[user_id]
            for flow in self.store.flows.by_id.values():
                if flow.organization_id == org.id and flow.members.pop(user_id, None) is not None:
                    self.store.events.member_removed(flow.id, user_id)
