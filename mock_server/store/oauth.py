"""OAuth 2.0 (docs/flowdock.md §2.2): registered applications, authorization codes, access and
refresh tokens.

The mock has no login or consent page: ``GET /oauth/authorize`` approves at once on behalf of the
user named by its ``login`` parameter (an email or a user id; the main user when absent) and
redirects with a single-use code valid for ``CODE_LIFETIME_S``. ``POST /oauth/token`` redeems
codes, refresh tokens (issued only with ``offline_access``, rotated on every use) and user
passwords. Failures are RFC 6749 errors (``OAuthFailed``), the shape OAuth client libraries parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from mock_server.errors import (
    OAUTH_BAD_CODE,
    OAUTH_BAD_PASSWORD,
    OAUTH_BAD_REFRESH_TOKEN,
    OAUTH_CLIENT_AUTH_FAILED,
    OAUTH_CODE_REDIRECT_MISMATCH,
    OAUTH_MISSING_PARAMETER,
    OAUTH_REDIRECT_MISMATCH,
    OAUTH_SCOPE_WIDENED,
    OAUTH_UNKNOWN_CLIENT,
    OAUTH_UNKNOWN_LOGIN,
    OAUTH_UNKNOWN_SCOPE,
    OAUTH_UNSUPPORTED_GRANT,
    OAUTH_UNSUPPORTED_RESPONSE_TYPE,
    OAuthFailed,
)
from mock_server.store.keys import ACCESS, CODE, REFRESH
from mock_server.store.records import clone, record

if TYPE_CHECKING:
    from mock_server.store import Store

SCOPES = ("flow", "private", "manage", "profile", "offline_access", "integration")
"""Flowdock's scopes, in the order responses list them."""
DEFAULT_SCOPES = ("flow", "private")
"""What a request that names no scope gets (docs/flowdock.md §2.2)."""
OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
OOB_LANDING = "https://flowdock.com/oauth/authorize"
"""Where Flowdock sent installed apps: the code is the last path segment."""
CODE_LIFETIME_S = 600
ACCESS_TOKEN_LIFETIME_S = 7200
"""Flowdock called its access tokens "short-lived" without a number; two hours here."""


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
    """An issued access token: whose it is, which app it went to, what it may do, until when.

    ``refresh_token`` is set when the grant included ``offline_access``; a refresh moves it to
    the new access token, so each refresh token works once.
    """

    token: str
    user_id: int
    application_id: int | None
    scopes: list[str] = field(default_factory=list)
    expires_at: int | None = None
    refresh_token: str | None = None
    code: str | None = None
    """The authorization code this token descends from (through refreshes too), if any."""


@dataclass(slots=True)
class AuthorizationCode:
    """A code from /oauth/authorize, redeemable once before ``expires_at``."""

    code: str
    application_id: int
    user_id: int
    scopes: list[str]
    expires_at: int
    redirect_uri: str | None = None
    """The redirect_uri the authorize request named, if any: the token request must repeat it."""
    redeemed: bool = False
    """Exchanged once already; kept until it expires so that a second exchange revokes its tokens."""


def parse_scopes(text: str | None) -> list[str] | None:
    """Requested scopes in canonical order: none named means flow + private; None if one is unknown.

    Requests use spaces (RFC 6749 §3.3); commas, as Flowdock's responses join them, are accepted too.
    """
    names = [s for s in re.split(r"[\s,]+", text or "") if s]
    if not names:
        return list(DEFAULT_SCOPES)
    if any(n not in SCOPES for n in names):
        return None
    return [s for s in SCOPES if s in names]


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


class OAuthStore:
    """Applications, pending authorization codes and issued tokens."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.applications: dict[int, Application] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.codes: dict[str, AuthorizationCode] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("oauth_applications", []):
            app = Application(**clone(raw))
            self.applications[app.id] = app
        for raw in world.get("oauth_tokens", []):
            token = AccessToken(**clone(raw))
            self.tokens[token.token] = token
        for raw in world.get("oauth_codes", []):
            code = AuthorizationCode(**clone(raw))
            self.codes[code.code] = code

    def export(self) -> dict[str, Any]:
        return {
            "oauth_applications": [record(a) for a in self.applications.values()],
            "oauth_tokens": [record(t) for t in self.tokens.values()],
            "oauth_codes": [record(c) for c in self.codes.values()],
        }

    # --- lookups --------------------------------------------------------------------------------
    def token_info(self, token: str) -> AccessToken | None:
        """The live access token, or None when unknown or expired."""
        found = self.tokens.get(token)
        if found is None:
            return None
        if found.expires_at is not None and found.expires_at <= self.store.now_ms():
            return None
        return found

    def by_client_id(self, client_id: str | None) -> Application | None:
        for app in self.applications.values():
            if app.client_id == client_id:
                return app
        return None

    def application_dict(self, app_id: int | None) -> dict[str, Any] | None:
        """The application as embedded in a source (docs/flowdock.md §3.7)."""
        app = self.applications.get(app_id) if app_id is not None else None
        if app is None:
            return None
        base = self.store.config.base_url
        return {
            "id": app.id,
            "name": app.name,
            "icon_url": app.icon_url,
            "url": f"{base}/oauth/applications/{app.id}",
            "published": True,
            "_links": {"setup": {"href": f"https://www.flowdock.com/rest/applications/{app.id}/setup"}},
        }

    def _login(self, login: str | None) -> int | None:
        """The user a code is issued for: an email or a numeric id; the main user when absent."""
        users = self.store.users
        if login is None or login == "":
            return min(users.by_id) if users.by_id else None
        if login.isascii() and login.isdigit():  # "²" is a digit too, not a number
            return int(login) if len(login) <= 18 and int(login) in users.by_id else None
        user = users.by_email(login)
        return user.id if user else None

    # --- GET /oauth/authorize -------------------------------------------------------------------
    def oauth_authorize(
        self,
        client_id: str,
        response_type: str,
        redirect_uri: str | None = None,
        scope: str | None = None,
        state: str | None = None,
        login: str | None = None,
    ) -> str:
        """The Location to redirect to: a fresh code, or an RFC 6749 §4.1.2.1 ``error=``.

        An unknown client or a redirect_uri that differs from the registered one cannot be
        redirected to safely, so those raise (400) instead.
        """
        with self.store.lock:
            app = self.by_client_id(client_id)
            if app is None:
                raise OAuthFailed("invalid_client", OAUTH_UNKNOWN_CLIENT)
            if redirect_uri is not None and redirect_uri not in (app.redirect_uri, OOB_REDIRECT_URI):
                raise OAuthFailed("invalid_request", OAUTH_REDIRECT_MISMATCH)
            oob = redirect_uri == OOB_REDIRECT_URI
            target = OOB_LANDING if oob else app.redirect_uri

            def error(code: str, description: str) -> str:
                return _with_query(target, {"error": code, "error_description": description, "state": state})

            if response_type != "code":
                return error("unsupported_response_type", OAUTH_UNSUPPORTED_RESPONSE_TYPE)
            scopes = parse_scopes(scope)
            if scopes is None:
                return error("invalid_scope", OAUTH_UNKNOWN_SCOPE)
            user_id = self._login(login)
            if user_id is None:
                return error("access_denied", OAUTH_UNKNOWN_LOGIN)
            code = AuthorizationCode(
                code=self.store.new_credential(CODE, length=32),
                application_id=app.id,
                user_id=user_id,
                scopes=scopes,
                expires_at=self.store.now_ms() + CODE_LIFETIME_S * 1000,
                redirect_uri=redirect_uri,
            )
            now = self.store.now_ms()
            for stale in [c for c in self.codes.values() if c.expires_at <= now]:
                self._forget_code(stale)
            self.codes[code.code] = code
            if oob:
                return _with_query(f"{OOB_LANDING}/{code.code}", {"state": state})
            return _with_query(target, {"code": code.code, "state": state})

    # --- POST /oauth/token ----------------------------------------------------------------------
    def oauth_token(self, params: dict[str, Any], client: tuple[str, str] | None = None) -> dict[str, Any]:
        """Redeem a grant for a token response (RFC 6749 §5.1, scope comma-joined as Flowdock did).

        ``client`` is ``(client_id, client_secret)`` from HTTP Basic (RFC 6749 §2.3.1, what OAuth
        libraries send by default); otherwise both come from the body, as Flowdock documented.
        """
        with self.store.lock:
            app = self._authenticate_client(params, client)
            grant = params.get("grant_type")
            if not grant:
                raise OAuthFailed("invalid_request", f"{OAUTH_MISSING_PARAMETER}: grant_type")
            if grant == "authorization_code":
                return self._redeem_code(app, params)
            if grant == "refresh_token":
                return self._refresh(app, params)
            if grant == "password":
                return self._password(app, params)
            raise OAuthFailed("unsupported_grant_type", OAUTH_UNSUPPORTED_GRANT)

    def _authenticate_client(self, params: dict[str, Any], client: tuple[str, str] | None) -> Application:
        client_id, secret = (
            client if client is not None else (params.get("client_id"), params.get("client_secret"))
        )
        app = self.by_client_id(client_id)
        if app is None or secret != app.client_secret:
            raise OAuthFailed("invalid_client", OAUTH_CLIENT_AUTH_FAILED, status=401)
        return app

    @staticmethod
    def _required(params: dict[str, Any], name: str) -> str:
        value = params.get(name)
        if not value:
            raise OAuthFailed("invalid_request", f"{OAUTH_MISSING_PARAMETER}: {name}")
        return str(value)

    def _redeem_code(self, app: Application, params: dict[str, Any]) -> dict[str, Any]:
        code = self.codes.get(self._required(params, "code"))
        if code is not None and code.redeemed and code.application_id == app.id:
            # RFC 6749 §4.1.2: a code used twice is refused, and what it issued is revoked.
            self._forget_code(code)
            for token in [t for t in self.tokens.values() if t.code == code.code]:
                del self.tokens[token.token]
                self.store.keys.release(ACCESS, token.token)
                if token.refresh_token is not None:
                    self.store.keys.release(REFRESH, token.refresh_token)
            raise OAuthFailed("invalid_grant", OAUTH_BAD_CODE)
        if code is None or code.application_id != app.id or code.expires_at <= self.store.now_ms():
            raise OAuthFailed("invalid_grant", OAUTH_BAD_CODE)
        given = params.get("redirect_uri") or None
        expected = code.redirect_uri if code.redirect_uri is not None else app.redirect_uri
        if (code.redirect_uri is not None or given is not None) and given != expected:
            raise OAuthFailed("invalid_grant", OAUTH_CODE_REDIRECT_MISMATCH)
        code.redeemed = True  # single use; kept until it expires, so that a reuse revokes its tokens
        return self._issue(app, code.user_id, code.scopes, code.code)

    def _forget_code(self, code: AuthorizationCode) -> None:
        del self.codes[code.code]
        self.store.keys.release(CODE, code.code)

    def _refresh(self, app: Application, params: dict[str, Any]) -> dict[str, Any]:
        given = self._required(params, "refresh_token")
        old = next((t for t in self.tokens.values() if t.refresh_token == given), None)
        if old is None or old.application_id != app.id:
            raise OAuthFailed("invalid_grant", OAUTH_BAD_REFRESH_TOKEN)
        scopes = old.scopes
        if params.get("scope"):
            asked = parse_scopes(params["scope"])
            if asked is None:
                raise OAuthFailed("invalid_scope", OAUTH_UNKNOWN_SCOPE)
            if not set(asked) <= set(old.scopes):
                raise OAuthFailed("invalid_scope", OAUTH_SCOPE_WIDENED)
            scopes = asked if "offline_access" in asked else [*asked, "offline_access"]
            scopes = [s for s in SCOPES if s in scopes]
        old.refresh_token = None  # rotated: the old refresh token stops working
        return self._issue(app, old.user_id, scopes, old.code)

    def _password(self, app: Application, params: dict[str, Any]) -> dict[str, Any]:
        username = self._required(params, "username")
        password = self._required(params, "password")
        scopes = parse_scopes(params.get("scope"))
        if scopes is None:
            raise OAuthFailed("invalid_scope", OAUTH_UNKNOWN_SCOPE)
        user = self.store.users.by_email_password(username, password)
        if user is None:
            raise OAuthFailed("invalid_grant", OAUTH_BAD_PASSWORD)
        return self._issue(app, user.id, scopes)

    def _issue(
        self, app: Application, user_id: int, scopes: list[str], code: str | None = None
    ) -> dict[str, Any]:
        token = AccessToken(
            token=self.store.new_credential(ACCESS, nbytes=32),
            user_id=user_id,
            application_id=app.id,
            scopes=list(scopes),
            expires_at=self.store.now_ms() + ACCESS_TOKEN_LIFETIME_S * 1000,
            code=code,
        )
        if "offline_access" in scopes:
            token.refresh_token = self.store.new_credential(REFRESH, nbytes=32)
        self.tokens[token.token] = token
        out: dict[str, Any] = {
            "access_token": token.token,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_S,
            "scope": ",".join(token.scopes),
        }
        if token.refresh_token is not None:
            out["refresh_token"] = token.refresh_token
        return out
