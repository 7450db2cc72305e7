"""The OAuth 2.0 dance with a stock client library (requests-oauthlib) over a real socket.

What a web app does against Flowdock (docs/flowdock.md §2.2): send the user to /oauth/authorize, take the
code from the redirect, exchange it at /oauth/token, call the API with the bearer token, refresh.
The library is used as its documentation shows: it sends the client credentials with HTTP Basic
and asks for JSON, and it reads the default form-encoded answer too. One setting is needed, as it
was against Flowdock: ``OAUTHLIB_RELAX_TOKEN_SCOPE``, because Flowdock answered the scope
comma-joined ("flow,profile") where oauthlib expects the space-separated scope it asked for, and
oauthlib treats any difference as a changed scope.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests_oauthlib import OAuth2Session

from mock_server.world import OAUTH_APP, SECOND_USER
from tests.clients.conftest import LiveServer

pytestmark = pytest.mark.client


@pytest.fixture(autouse=True)
def _oauthlib_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib refuses http:// unless told this is a local test server, and Flowdock's comma-joined
    scope unless relaxed (see the module docstring)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


def authorize(live: LiveServer, session: OAuth2Session, **extra: str) -> str:
    """Follow the authorization URL as a browser would, and return the callback URL it lands on."""
    url, _state = session.authorization_url(f"{live.base_url}/oauth/authorize", **extra)
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return str(response.headers["Location"])


def client(live: LiveServer) -> dict[str, str]:
    """The seeded OAuth application's credentials in the test's world (each world has its own)."""
    return live.oauth_app(OAUTH_APP["id"])


def session_for(live: LiveServer, **extra: Any) -> OAuth2Session:
    app = client(live)
    return OAuth2Session(app["client_id"], redirect_uri=app["redirect_uri"], **extra)


def fetch(live: LiveServer, session: OAuth2Session, callback: str, **extra: Any) -> dict[str, Any]:
    token: dict[str, Any] = session.fetch_token(
        f"{live.base_url}/oauth/token",
        authorization_response=callback,
        client_secret=client(live)["client_secret"],
        timeout=10,
        **extra,
    )
    return token


def test_oauth_dance__code_token_api_call(live: LiveServer) -> None:
    session = session_for(live, scope=["flow", "profile"])
    callback = authorize(live, session)
    assert callback.startswith(client(live)["redirect_uri"] + "?")
    token = fetch(live, session, callback)
    assert token["token_type"] == "bearer"
    assert token["scope"] == ["flow,profile"]  # oauthlib splits on spaces; Flowdock joined with commas
    me = session.get(f"{live.base_url}/user", timeout=10)
    assert me.status_code == 200 and me.json()["id"] == 1
    assert session.get(f"{live.base_url}/flows", timeout=10).status_code == 200
    assert session.get(f"{live.base_url}/private", timeout=10).status_code == 403  # no `private` scope


def test_oauth_dance__the_state_round_trips_and_a_forged_one_is_refused(live: LiveServer) -> None:
    from oauthlib.oauth2.rfc6749.errors import MismatchingStateError

    session = session_for(live, state="s3cr3t")
    callback = authorize(live, session)
    assert "state=s3cr3t" in callback
    forged = callback.replace("state=s3cr3t", "state=other")
    with pytest.raises(MismatchingStateError):
        fetch(live, session, forged)


def test_oauth_dance__credentials_in_the_body_and_a_form_encoded_answer(live: LiveServer) -> None:
    # Flowdock's documented variant: client_id/client_secret as body parameters, no Accept header.
    session = session_for(live)
    content_types: list[str] = []

    def seen(response: requests.Response) -> requests.Response:
        content_types.append(response.headers["Content-Type"])
        return response

    session.register_compliance_hook("access_token_response", seen)
    callback = authorize(live, session, login=SECOND_USER["email"])
    token = fetch(live, session, callback, include_client_id=True, headers={"Accept": "*/*"})
    assert content_types == ["application/x-www-form-urlencoded"]
    assert token["scope"] == ["flow,private"]  # the default scopes
    assert session.get(f"{live.base_url}/user", timeout=10).json()["id"] == SECOND_USER["id"]


def test_oauth_dance__refresh_with_offline_access(live: LiveServer) -> None:
    session = session_for(live, scope=["flow", "offline_access"])
    first = fetch(live, session, authorize(live, session))
    refreshed = session.refresh_token(
        f"{live.base_url}/oauth/token",
        auth=(client(live)["client_id"], client(live)["client_secret"]),
        timeout=10,
    )
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert session.get(f"{live.base_url}/flows", timeout=10).status_code == 200


def test_oauth_dance__a_bad_secret_raises_the_libraries_invalid_client_error(live: LiveServer) -> None:
    from oauthlib.oauth2.rfc6749.errors import InvalidClientError

    session = session_for(live)
    callback = authorize(live, session)
    with pytest.raises(InvalidClientError):
        session.fetch_token(f"{live.base_url}/oauth/token", authorization_response=callback,
                            client_secret="wrong", timeout=10)  # fmt: skip


def test_oauth_dance__the_clock_moves_past_expiry_and_the_client_refreshes(live: LiveServer) -> None:
    """The bot's "token expired, refresh it" path, without waiting two hours: /_mock/clock."""
    session = session_for(live, scope=["flow", "offline_access"])
    first = fetch(live, session, authorize(live, session))
    assert session.get(f"{live.base_url}/flows", timeout=10).status_code == 200
    try:
        moved = requests.post(
            f"{live.base_url}/_mock/clock",
            params=live.world_query,
            json={"advance_ms": (first["expires_in"] + 1) * 1000},
            timeout=10,
        )
        assert moved.status_code == 200, moved.text
        expired = session.get(f"{live.base_url}/flows", timeout=10)
        assert expired.status_code == 401
        refreshed = session.refresh_token(
            f"{live.base_url}/oauth/token",
            auth=(client(live)["client_id"], client(live)["client_secret"]),
            timeout=10,
        )
        assert refreshed["access_token"] != first["access_token"]
        assert session.get(f"{live.base_url}/flows", timeout=10).status_code == 200
    finally:
        requests.post(
            f"{live.base_url}/_mock/clock", params=live.world_query, json={"reset": True}, timeout=10
        )
