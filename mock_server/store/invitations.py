"""Invitations to join a flow (docs/flowdock.md §3.8): pending or accepted, created and revoked by admins.

Any member of the flow lists the pending invitations and reads any one; creating, deleting and
importing need a flow admin or an admin of the flow's organization (Flowdock's "only works for
admin"). Inviting an address that already has a pending invitation resends that invitation.
An import adds existing members of the organization to the flow at once instead of inviting them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_server.errors import (
    ALREADY_MEMBER,
    BLANK,
    FLOW_ADMIN_ONLY,
    INVALID_EMAIL,
    NOT_PENDING,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from mock_server.store.flows import Membership
from mock_server.store.records import record
from mock_server.store.representation import clone

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.flows import Flow

EMAIL = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[A-Za-z0-9-]{2,}$")
NAMED = re.compile(r'^(?:"?(?P<name>[^"<]*)"?\s*)?<(?P<email>[^<>]*)>$')
"""``"Joe Smith" <joe@example.com>``, ``Joe <joe@example.com>`` or ``<joe@example.com>``."""
RESERVED_TLDS = ("invalid", "test", "example", "localhost")
"""RFC 2606 names no mail can reach; Flowdock reported ``test@example.invalid`` as invalid."""


@dataclass(slots=True)
class Invitation:
    """An invitation of one email address to one flow."""

    id: int
    flow: str
    email: str
    state: str = "pending"
    message: str | None = None
    created_at: int = 0


def split_addresses(text: str) -> list[str]:
    """Flowdock's ``list``: entries separated by commas or line feeds (blank entries dropped)."""
    return [part.strip() for part in re.split(r"[,\r\n]+", text) if part.strip()]


def parse_address(entry: str) -> str:
    """The address of one entry, bare or in angle brackets (unvalidated)."""
    m = NAMED.match(entry.strip())
    return (m.group("email") if m else entry).strip()


def is_valid_email(address: str) -> bool:
    return bool(EMAIL.match(address)) and address.rsplit(".", 1)[-1].lower() not in RESERVED_TLDS


class InvitationStore:
    """All invitations, by id."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_id: dict[int, Invitation] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("invitations", []):
            invitation = Invitation(**clone(raw))
            self.by_id[invitation.id] = invitation

    def export(self) -> dict[str, Any]:
        return {"invitations": [record(i) for i in self.by_id.values()]}

    # --- rules and representation ---------------------------------------------------------------
    def to_dict(self, invitation: Invitation) -> dict[str, Any]:
        flow = self.store.flows.by_id[invitation.flow]
        org = self.store.organizations.by_id[flow.organization_id]
        return {
            "id": invitation.id,
            "state": invitation.state,
            "email": invitation.email,
            "flow": flow.id,
            "url": f"{self.store.config.base_url}/flows/{org.parameterized_name}/{flow.parameterized_name}"
            f"/invitations/{invitation.id}",
        }

    def _admin_flow(self, organization: str, flow: str, *, viewer: int) -> Flow:
        """The flow, if the viewer is a member (404/403 otherwise) and one of its admins (403)."""
        found = self.store.flows.get_joined(organization, flow, viewer=viewer)
        if not self.store.flows.is_admin(found, viewer):
            raise Forbidden(FLOW_ADMIN_ONLY)
        return found

    def _get_in(self, flow: Flow, invitation_id: int) -> Invitation:
        invitation = self.by_id.get(invitation_id)
        if invitation is None or invitation.flow != flow.id:
            raise NotFound()
        return invitation

    def _pending(self, flow: Flow, email: str) -> Invitation | None:
        wanted = email.lower()
        return next(
            (
                i
                for i in self.by_id.values()
                if i.flow == flow.id and i.state == "pending" and i.email.lower() == wanted
            ),
            None,
        )

    def _invite(self, flow: Flow, email: str, message: str | None) -> Invitation:
        """A new pending invitation, or the pending one for this address, resent."""
        now = self.store.now_ms()
        existing = self._pending(flow, email)
        if existing is not None:
            existing.created_at = now
            if message is not None:
                existing.message = message
            return existing
        invitation = Invitation(
            id=max(self.by_id, default=0) + 1, flow=flow.id, email=email, message=message, created_at=now
        )
        self.by_id[invitation.id] = invitation
        return invitation

    # --- operations -----------------------------------------------------------------------------
    def list_invitations(self, organization: str, flow: str, *, viewer: int) -> list[dict[str, Any]]:
        """Pending invitations only; accepted ones are still shown one at a time by get_invitation."""
        with self.store.lock:
            found = self.store.flows.get_joined(organization, flow, viewer=viewer)
            return [
                self.to_dict(i) for i in self.by_id.values() if i.flow == found.id and i.state == "pending"
            ]

    def get_invitation(
        self, organization: str, flow: str, invitation_id: int, *, viewer: int
    ) -> dict[str, Any]:
        with self.store.lock:
            return self.to_dict(
                self._get_in(self.store.flows.get_joined(organization, flow, viewer=viewer), invitation_id)
            )

    def create_invitation(
        self, organization: str, flow: str, email: str, message: str | None = None, *, viewer: int
    ) -> dict[str, Any]:
        with self.store.lock:
            found = self._admin_flow(organization, flow, viewer=viewer)
            if not is_valid_email(email):
                raise ValidationFailed.field("email", INVALID_EMAIL)
            user = self.store.users.by_email(email)
            if user is not None and found.is_member(user.id):
                raise ValidationFailed.field("email", ALREADY_MEMBER)
            invitation = self._invite(found, email, message)
            self.store.messages.record_action(
                found.id, viewer, {"type": "invite", "description": {"email": email}}
            )
            return self.to_dict(invitation)

    def delete_invitation(self, organization: str, flow: str, invitation_id: int, *, viewer: int) -> None:
        """Cancel a pending invitation; an accepted one cannot be taken back (400)."""
        with self.store.lock:
            found = self._admin_flow(organization, flow, viewer=viewer)
            invitation = self._get_in(found, invitation_id)
            if invitation.state != "pending":
                raise ValidationFailed.field("state", NOT_PENDING)
            del self.by_id[invitation.id]
            self.store.messages.record_action(
                found.id, viewer, {"type": "uninvite", "description": {"email": invitation.email}}
            )

    def import_invitations(
        self,
        organization: str,
        flow: str,
        list_: str | None = None,
        addresses: list[str] | None = None,
        message: str | None = None,
        *,
        viewer: int,
    ) -> dict[str, Any]:
        """Invite every address of ``list`` (Flowdock) and ``addresses`` (the seed's array).

        Members of the flow's organization join the flow at once (``added_users``); addresses that
        are not emails come back in ``erroneous_emails`` as ``{address: "Invalid email"}``.
        """
        with self.store.lock:
            found = self._admin_flow(organization, flow, viewer=viewer)
            entries = split_addresses(list_ or "") + [e for a in addresses or [] for e in split_addresses(a)]
            if not entries:
                raise ValidationFailed.field("list", BLANK)
            org = self.store.organizations.by_id[found.organization_id]
            result: dict[str, list[Any]] = {"invitations": [], "added_users": [], "erroneous_emails": []}
            seen: set[str] = set()
            for entry in entries:
                address = parse_address(entry)
                if address.lower() in seen:
                    continue
                seen.add(address.lower())
                if not is_valid_email(address):
                    result["erroneous_emails"].append({address or entry: INVALID_EMAIL})
                    continue
                user = self.store.users.by_email(address)
                if user is not None and user.id in org.members:
                    if not found.is_member(user.id):
                        found.members[user.id] = Membership(open=True)
                        if (pending := self._pending(found, address)) is not None:
                            pending.state = "accepted"
                        self.store.events.member_added(found.id, user.id, viewer)
                        result["added_users"].append(self.store.flows.user_dict(found, user.id))
                    continue
                result["invitations"].append(self.to_dict(self._invite(found, address, message)))
                self.store.messages.record_action(
                    found.id, viewer, {"type": "invite", "description": {"email": address}}
                )
            return result
