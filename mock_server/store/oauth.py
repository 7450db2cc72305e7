"""OAuth 2.0: registered applications, authorization codes, access and refresh tokens."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.store import Store


@dataclass(slots=True)
class Application:
    """A registered OAuth client."""

    id: int
    name: str
    client_id: str
    client_secret: str
    redirect_uri: str
    icon_url: str | None = None
    owner_id: int | None = None


@dataclass(slots=True)
class AccessToken:
    """An issued access token: whose it is, which app it went to, what it may do, until when."""

    token: str
    user_id: int
    application_id: int | None
    scopes: list[str] = field(default_factory=list)
    expires_at: int | None = None


class OAuthStore:
    """Applications and issued tokens."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.applications: dict[int, Application] = {}
        self.tokens: dict[str, AccessToken] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("oauth_applications", []):
            app = Application(**copy.deepcopy(raw))
            self.applications[app.id] = app
        for raw in world.get("oauth_tokens", []):
            token = AccessToken(**copy.deepcopy(raw))
            self.tokens[token.token] = token

    def export(self) -> dict[str, Any]:
        return {
            "oauth_applications": [asdict(a) for a in self.applications.values()],
            "oauth_tokens": [asdict(t) for t in self.tokens.values()],
        }

    def token_info(self, token: str) -> AccessToken | None:
        """The live access token, or None when unknown or expired."""
        found = self.tokens.get(token)
        if found is None:
            return None
        if found.expires_at is not None and found.expires_at <= self.store.now_ms():
            return None
        return found
