"""Authentication tag: the OAuth 2.0 authorization and token endpoints (docs/flowdock.md §2.2, §3.1)."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store

__all__ = ["oauth_authorize", "oauth_token"]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
"""RFC 6749 §5.1: token responses must not be cached."""


def oauth_authorize(
    store: Store,
    client_id: str,
    response_type: str,
    redirect_uri: str | None = None,
    scope: str | None = None,
    state: str | None = None,
    login: str | None = None,
) -> Any:
    location = store.oauth.oauth_authorize(client_id, response_type, redirect_uri, scope, state, login)
    return None, 302, {"Location": location}


def oauth_token(
    store: Store, body: dict[str, Any] | None = None, token_info: dict[str, Any] | None = None
) -> Any:
    # Form and JSON bodies both arrive as ``body``; HTTP Basic client credentials as token_info.
    token = store.oauth.oauth_token(body or {}, (token_info or {}).get("client"))
    return token, 200, {"Content-Type": "application/json", **NO_STORE}
