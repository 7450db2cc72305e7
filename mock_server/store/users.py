"""Users: accounts, credentials (password, personal API token) and who can see whom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_server.errors import ONLY_YOURSELF, TAKEN, Forbidden, NotFound, ValidationFailed
from mock_server.store.keys import LOGIN, login_key
from mock_server.store.records import record

if TYPE_CHECKING:
    from mock_server.store import Store


@dataclass(slots=True)
class User:
    """A Flowdock account. ``password`` and ``api_token`` never leave the store in API responses."""

    id: int
    email: str
    name: str
    nick: str
    avatar: str | None
    website: str | None
    password: str
    api_token: str
    status: str | None = None
    last_activity: int = 0
    last_ping: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The user object of /users and /user (docs/flowdock.md §3.6)."""
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "nick": self.nick,
            "avatar": self.avatar,
            "website": self.website,
        }


class UserStore:
    """All users, indexed by id, email and API token."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_id: dict[int, User] = {}
        self._by_token: dict[str, User] = {}
        self._by_email: dict[str, User] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("users", []):
            self._index(User(**raw))

    def export(self) -> dict[str, Any]:
        return {"users": [record(u) for u in self.by_id.values()]}

    def _index(self, user: User) -> None:
        self.by_id[user.id] = user
        self._by_token[user.api_token] = user
        self._by_email[user.email.lower()] = user

    # --- authentication -------------------------------------------------------------------------
    def by_api_token(self, token: str) -> User | None:
        return self._by_token.get(token)

    def by_email_password(self, email: str, password: str) -> User | None:
        user = self._by_email.get(email.lower())
        return user if user is not None and password and user.password == password else None

    def by_email(self, email: str) -> User | None:
        return self._by_email.get(email.lower())

    # --- rules ----------------------------------------------------------------------------------
    def get(self, user_id: int) -> User:
        """The user, or 404."""
        user = self.by_id.get(user_id)
        if user is None:
            raise NotFound()
        return user

    def visible_ids(self, *, viewer: int) -> set[int]:
        """Users who share an organization or a flow with ``viewer`` (viewer included)."""
        seen = {viewer}
        for org in self.store.organizations.of_user(viewer):
            seen.update(org.members)
        for flow in self.store.flows.joined_by(viewer):
            seen.update(flow.members)
        return seen

    def get_visible(self, user_id: int, *, viewer: int) -> User:
        """The user if ``viewer`` may see them, else 404 (no hint that the id exists)."""
        if user_id not in self.visible_ids(viewer=viewer):
            raise NotFound()
        return self.get(user_id)

    # --- operations -----------------------------------------------------------------------------
    def get_current_user(self, *, viewer: int) -> dict[str, Any]:
        return self.get(viewer).to_dict()

    def list_users(self, *, viewer: int) -> list[dict[str, Any]]:
        """Users sharing a flow with the viewer, plus every user of the organizations they administer."""
        with self.store.lock:
            ids = {viewer}
            for flow in self.store.flows.joined_by(viewer):
                ids.update(flow.members)
            for org in self.store.organizations.of_user(viewer):
                if org.members.get(viewer):
                    ids.update(org.members)
            return [self.by_id[i].to_dict() for i in sorted(ids)]

    def get_user(self, user_id: int, *, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            return self.get_visible(user_id, viewer=viewer).to_dict()

    def update_user(self, user_id: int, changes: dict[str, Any], *, viewer: int) -> dict[str, Any]:
        """Only yourself; Flowdock answered ``{}``."""
        with self.store.lock:
            user = self.get_visible(user_id, viewer=viewer)
            if user.id != viewer:
                raise Forbidden(ONLY_YOURSELF)
            email = changes.get("email")
            if email is not None and email.lower() != user.email.lower() and self.by_email(email):
                raise ValidationFailed.field("email", TAKEN)
            nick = changes.get("nick")
            if nick is not None and any(
                u.nick.lower() == nick.lower() and u.id != user.id for u in self.by_id.values()
            ):
                raise ValidationFailed.field("nick", TAKEN)
            if email is not None and email.lower() != user.email.lower():
                if not self.store.keys.claim(LOGIN, login_key(email, user.password)):
                    raise ValidationFailed.field("email", TAKEN)  # the same login in another world
                self.store.keys.release(LOGIN, login_key(user.email, user.password))
            if email is not None:
                del self._by_email[user.email.lower()]
                user.email = email
                self._by_email[email.lower()] = user
            renamed = (nick is not None and nick != user.nick) or (
                changes.get("name") is not None and changes["name"] != user.name
            )
            if nick is not None:
                user.nick = nick
            if changes.get("name") is not None:
                user.name = changes["name"]
            if renamed:
                self.store.events.user_edited(user.id)
            return {}
