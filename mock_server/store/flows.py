"""Flows and memberships: who has joined which flow, who may see it, and the flow object itself."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.errors import (
    FORBIDDEN,
    NOT_A_MEMBER,
    NOT_IN_ORGANIZATION,
    TAKEN,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from mock_server.store.keys import PUSH
from mock_server.store.records import record
from mock_server.store.representation import clone

if TYPE_CHECKING:
    from mock_server.store import Store

WEB = "https://www.flowdock.com"
"""Flowdock's web app: `web_url` and `join_url` keep pointing where real clients expect them."""


@dataclass(slots=True)
class Membership:
    """One user's relation to one flow."""

    open: bool = True
    disabled: bool = False
    flow_admin: bool = False
    team_notifications: bool = True


@dataclass(slots=True)
class Flow:
    """A flow; ``members`` maps user id to membership (blocked users stay, with ``disabled``)."""

    id: str
    organization_id: int
    name: str
    parameterized_name: str
    access_mode: str
    api_token: str
    files_id: int
    join_hash: str
    description: str | None = None
    disabled: bool = False
    members: dict[int, Membership] = field(default_factory=dict)

    def is_member(self, user_id: int) -> bool:
        """Joined and not blocked."""
        m = self.members.get(user_id)
        return m is not None and not m.disabled


def parameterize(name: str) -> str:
    """Flowdock's parameterized name: lower case, runs of other characters become one dash."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "flow"


class FlowStore:
    """All flows with their memberships."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_id: dict[str, Flow] = {}
        self._by_path: dict[tuple[int, str], Flow] = {}
        self._by_api_token: dict[str, Flow] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("flows", []):
            raw = clone(raw)
            members = {int(m.pop("user")): Membership(**m) for m in raw.pop("members", [])}
            self._index(Flow(**raw, members=members))

    def export(self) -> dict[str, Any]:
        out = []
        for flow in self.by_id.values():
            raw = record(flow)
            raw["members"] = [{"user": uid, **record(m)} for uid, m in flow.members.items()]
            out.append(raw)
        return {"flows": out}

    def _index(self, flow: Flow) -> None:
        self.by_id[flow.id] = flow
        self._by_path[(flow.organization_id, flow.parameterized_name)] = flow
        self._by_api_token[flow.api_token] = flow

    # --- lookups and access rules ---------------------------------------------------------------
    def find(self, organization: str, flow: str) -> Flow | None:
        org = self.store.organizations.find(organization)
        return None if org is None else self._by_path.get((org.id, flow))

    def by_api_token(self, token: str) -> Flow | None:
        return self._by_api_token.get(token)

    def joined_by(self, user_id: int) -> list[Flow]:
        return [f for f in self.by_id.values() if f.is_member(user_id)]

    def can_see(self, flow: Flow, user_id: int) -> bool:
        """Members see their flows; organization members also see organization-access flows."""
        if user_id in flow.members:
            return True
        org = self.store.organizations.by_id[flow.organization_id]
        return flow.access_mode == "organization" and user_id in org.members

    def get_visible(self, organization: str, flow: str, *, viewer: int) -> Flow:
        """The flow if ``viewer`` can see it; 404 otherwise, so its existence is not revealed."""
        found = self.find(organization, flow)
        if found is None or not self.can_see(found, viewer):
            raise NotFound()
        return found

    def get_joined(self, organization: str, flow: str, *, viewer: int) -> Flow:
        """The flow if ``viewer`` is an unblocked member: 404 if invisible, 403 if visible only."""
        found = self.get_visible(organization, flow, viewer=viewer)
        if not found.is_member(viewer):
            raise Forbidden(NOT_A_MEMBER)
        return found

    def get_joined_by_id(self, flow_id: str, *, viewer: int) -> Flow:
        """Same rules, addressed by flow id (``flow`` parameters of /messages and /comments)."""
        found = self.by_id.get(flow_id)
        if found is None or not self.can_see(found, viewer):
            raise NotFound()
        if not found.is_member(viewer):
            raise Forbidden(NOT_A_MEMBER)
        return found

    def is_admin(self, flow: Flow, user_id: int) -> bool:
        """Flow admins and the organization's admins."""
        m = flow.members.get(user_id)
        org = self.store.organizations.by_id[flow.organization_id]
        return (m is not None and m.flow_admin) or org.is_admin(user_id)

    # --- representations ------------------------------------------------------------------------
    def user_dict(self, flow: Flow, user_id: int) -> dict[str, Any]:
        """A user as listed inside a flow (`in_flow`, `disabled`, presence fields)."""
        user = self.store.users.by_id[user_id]
        m = flow.members.get(user_id)
        return {
            **user.to_dict(),
            "status": user.status,
            "disabled": m.disabled if m else False,
            "last_activity": user.last_activity,
            "last_ping": user.last_ping,
            "in_flow": m is not None and not m.disabled,
            "flow_admin": m.flow_admin if m else False,
            "team_notifications": m.team_notifications if m else False,
        }

    def to_dict(self, flow: Flow, with_users: bool, *, viewer: int) -> dict[str, Any]:
        """The flow object as ``viewer`` sees it (docs/flowdock.md §3.2)."""
        base = self.store.config.base_url
        org = self.store.organizations.by_id[flow.organization_id]
        m = flow.members.get(viewer)
        joined = m is not None and not m.disabled
        stats = self.store.messages.flow_stats(flow, viewer=viewer)
        out: dict[str, Any] = {
            "id": flow.id,
            "name": flow.name,
            "parameterized_name": flow.parameterized_name,
            "organization": org.to_dict(base),
            "unread_mentions": stats["unread_mentions"] if joined else 0,
            "open": joined and m is not None and m.open,
            "joined": joined,
            "url": f"{base}/flows/{org.parameterized_name}/{flow.parameterized_name}",
            "web_url": f"{WEB}/app/{org.parameterized_name}/{flow.parameterized_name}",
            "access_mode": flow.access_mode,
            "email": f"{flow.parameterized_name}@{org.parameterized_name}.flowdock.com",
            "description": flow.description,
            "disabled": flow.disabled,
            "flow_admin": self.is_admin(flow, viewer),
            "api_token": flow.api_token,
            "team_notifications": m.team_notifications if m else False,
            "last_message_at": stats["last_message_at"],
            "last_message_id": stats["last_message_id"],
        }
        if flow.access_mode in ("organization", "link"):
            out["join_url"] = f"{WEB}/invitations/{flow.join_hash}-{flow.parameterized_name}"
        if with_users:
            out["users"] = [self.user_dict(flow, uid) for uid in sorted(flow.members)]
        return out

    # --- operations -----------------------------------------------------------------------------
    def list_flows(self, users: bool, *, viewer: int) -> list[dict[str, Any]]:
        """Flows the viewer has joined."""
        with self.store.lock:
            return [self.to_dict(f, users, viewer=viewer) for f in self.by_id.values() if f.is_member(viewer)]

    def list_all_flows(self, users: bool, *, viewer: int) -> list[dict[str, Any]]:
        """Joined flows plus organization-access flows the viewer could join (``joined: false``)."""
        with self.store.lock:
            return [
                self.to_dict(f, users, viewer=viewer)
                for f in self.by_id.values()
                if f.is_member(viewer) or (viewer not in f.members and self.can_see(f, viewer))
            ]

    def get_flow(self, organization: str, flow: str, *, viewer: int) -> dict[str, Any]:
        """Always with users (docs/flowdock.md §3.2 op 5)."""
        with self.store.lock:
            return self.to_dict(self.get_visible(organization, flow, viewer=viewer), True, viewer=viewer)

    def get_flow_by_id(self, flow_id: str, *, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            found = self.by_id.get(flow_id)
            if found is None or not self.can_see(found, viewer):
                raise NotFound()
            return self.to_dict(found, True, viewer=viewer)

    def update_flow(
        self, organization: str, flow: str, changes: dict[str, Any], *, viewer: int
    ) -> dict[str, Any]:
        """`open: true` on a visible flow joins it; name, access mode and archiving need a member."""
        with self.store.lock:
            found = self.get_visible(organization, flow, viewer=viewer)
            m = found.members.get(viewer)
            if m is None:
                if changes.get("open") is True and set(changes) <= {"open"}:
                    found.members[viewer] = Membership(open=True)
                    self.store.events.member_added(found.id, viewer, viewer)
                    return self.to_dict(found, True, viewer=viewer)
                raise Forbidden(NOT_A_MEMBER)
            if m.disabled:
                raise Forbidden(NOT_A_MEMBER)
            admin_fields = {"access_mode", "disabled"} & set(changes)
            if admin_fields and not self.is_admin(found, viewer):
                raise Forbidden(FORBIDDEN, {f: ["can only be changed by a flow admin"] for f in admin_fields})
            if "open" in changes:
                m.open = bool(changes["open"])
            if changes.get("name") is not None:
                found.name = changes["name"]
            if "access_mode" in changes:
                found.access_mode = changes["access_mode"]
            if "disabled" in changes:
                found.disabled = bool(changes["disabled"])
            return self.to_dict(found, True, viewer=viewer)

    def create_flow(self, organization: str, name: str, *, viewer: int) -> dict[str, Any]:
        """Any organization member may create a flow; the creator is its first member and admin."""
        with self.store.lock:
            org = self.store.organizations.get_member_org(organization, viewer=viewer)
            slug = parameterize(name)
            if (org.id, slug) in self._by_path:
                raise ValidationFailed.field("name", TAKEN)
            flow = Flow(
                id=self.store.uuid4(),
                organization_id=org.id,
                name=name,
                parameterized_name=slug,
                access_mode="invitation",
                api_token=self.store.new_credential(PUSH, nbytes=16),
                files_id=self.next_files_id(),
                join_hash=self.store.token_hex(8),
                members={viewer: Membership(open=True, flow_admin=True)},
            )
            self._index(flow)
            self.store.events.emit_new("flow-add", self.store.events.flow_summary(flow.id, viewer), viewer)
            return self.to_dict(flow, True, viewer=viewer)

    def next_files_id(self) -> int:
        return max((f.files_id for f in self.by_id.values()), default=100000) + 1

    def list_flow_users(self, organization: str, flow: str, *, viewer: int) -> list[dict[str, Any]]:
        with self.store.lock:
            found = self.get_visible(organization, flow, viewer=viewer)
            return [self.user_dict(found, uid) for uid in sorted(found.members)]

    def add_user_to_flow(self, organization: str, flow: str, user_id: int, *, viewer: int) -> dict[str, Any]:
        """A member adds another member of the organization; Flowdock answered ``{}``
        (docs/flowdock.md §3.6 op 29, no other answer documented), so adding someone already in
        the flow is that same ``{}`` and changes nothing (no event, no action)."""
        with self.store.lock:
            found = self.get_joined(organization, flow, viewer=viewer)
            org = self.store.organizations.by_id[found.organization_id]
            if user_id not in self.store.users.by_id or user_id not in org.members:
                raise ValidationFailed.field("id", NOT_IN_ORGANIZATION)
            existing = found.members.get(user_id)
            if existing is not None and not existing.disabled:
                return {}  # already in: Flowdock's one answer, 200 {}, and nothing changes
            found.members[user_id] = Membership(open=True)
            self.store.events.member_added(found.id, user_id, viewer)
            return {}

    def update_flow_user(
        self, organization: str, flow: str, user_id: int, disabled: bool, *, viewer: int
    ) -> dict[str, Any]:
        """Block (``disabled: true``) or unblock: admins anyone, members only non-admins."""
        with self.store.lock:
            found = self.get_joined(organization, flow, viewer=viewer)
            target = found.members.get(user_id)
            if target is None:
                raise NotFound()
            if self.is_admin(found, user_id) and not self.is_admin(found, viewer):
                raise Forbidden(FORBIDDEN)
            if disabled == target.disabled:
                return {}
            events = self.store.events
            if disabled:
                events.member_blocked(found.id, user_id, viewer)  # while they still read the flow
            target.disabled = disabled
            if disabled:
                events.member_removed(found.id, user_id)
            else:
                events.member_added(found.id, user_id, viewer)
            return {}

    def remove_user_from_flow(self, organization: str, flow: str, user_id: int, *, viewer: int) -> None:
        """Seed-only alias of blocking: flow or organization admins, or a user leaving on their own."""
        with self.store.lock:
            found = self.get_joined(organization, flow, viewer=viewer)
            if user_id not in found.members:
                raise NotFound()
            if user_id != viewer and not self.is_admin(found, viewer):
                raise Forbidden(FORBIDDEN)
            del found.members[user_id]
            self.store.events.member_removed(found.id, user_id)
