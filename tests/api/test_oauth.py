"""OAuth 2.0 as Flowdock ran it (docs/flowdock.md §2.2, §3.1): authorize, grants, scopes, GET /user."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from mock_server import errors
from mock_server.store.oauth import ACCESS_TOKEN_LIFETIME_S, CODE_LIFETIME_S
from mock_server.world import INTEGRATION_APP, OAUTH_APP
from tests.conftest import ALICE, BOB, assert_error

CLIENT = {"client_id": OAUTH_APP["client_id"], "client_secret": OAUTH_APP["client_secret"]}
JSON = {"Accept": "application/json"}


def authorize(client: Any, **params: str) -> Any:
    query = {"client_id": OAUTH_APP["client_id"], "response_type": "code", **params}
    return client.get("/oauth/authorize", params=query, follow_redirects=False)


def location(response: Any) -> tuple[str, dict[str, str]]:
    assert response.status_code == 302, response.text
    url = urlparse(response.headers["Location"])
    return f"{url.scheme}://{url.netloc}{url.path}", {k: v[0] for k, v in parse_qs(url.query).items()}


def code_for(client: Any, **params: str) -> str:
    return location(authorize(client, **params))[1]["code"]


def token(client: Any, headers: dict[str, str] | None = None, **fields: str) -> Any:
    return client.post(
        "/oauth/token", data={**CLIENT, **fields}, headers=JSON if headers is None else headers
    )


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def assert_oauth_error(response: Any, status: int, error: str, description: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": description}


# --- GET /oauth/authorize ---------------------------------------------------------------------
def test_oauth_authorize__redirects_to_the_registered_uri_with_a_code_and_the_state(client) -> None:
    target, query = location(authorize(client, state="xyz 1"))
    assert target == OAUTH_APP["redirect_uri"]
    assert query["state"] == "xyz 1"
    assert len(query["code"]) >= 20


def test_oauth_authorize__accepts_the_exact_registered_redirect_uri(client) -> None:
    target, query = location(authorize(client, redirect_uri=OAUTH_APP["redirect_uri"]))
    assert target == OAUTH_APP["redirect_uri"] and "code" in query


def test_oauth_authorize__redirect_uri_mismatch_is_400_without_redirect(client) -> None:
    response = authorize(client, redirect_uri=OAUTH_APP["redirect_uri"] + "/other")
    assert_oauth_error(response, 400, "invalid_request", errors.OAUTH_REDIRECT_MISMATCH)
    assert "Location" not in response.headers


def test_oauth_authorize__unknown_client_is_400_without_redirect(client) -> None:
    response = authorize(client, client_id="nobody")
    assert_oauth_error(response, 400, "invalid_client", errors.OAUTH_UNKNOWN_CLIENT)
    assert "Location" not in response.headers


def test_oauth_authorize__unsupported_response_type_redirects_with_error(client) -> None:
    target, query = location(authorize(client, response_type="token", state="s"))
    assert target == OAUTH_APP["redirect_uri"]
    assert query == {
        "error": "unsupported_response_type",
        "error_description": errors.OAUTH_UNSUPPORTED_RESPONSE_TYPE,
        "state": "s",
    }


def test_oauth_authorize__unknown_scope_redirects_with_invalid_scope(client) -> None:
    _, query = location(authorize(client, scope="flow admin"))
    assert query["error"] == "invalid_scope"
    assert "code" not in query


def test_oauth_authorize__oob_redirects_to_flowdocks_landing_page_with_the_code(client) -> None:
    target, _ = location(authorize(client, redirect_uri="urn:ietf:wg:oauth:2.0:oob"))
    prefix = "https://flowdock.com/oauth/authorize/"
    assert target.startswith(prefix) and len(target) > len(prefix) + 20


def test_oauth_authorize__login_names_the_user_by_email_or_id(client) -> None:
    for login in (BOB["email"], str(BOB["id"])):
        issued = token(client, grant_type="authorization_code", code=code_for(client, login=login)).json()
        me = client.get("/user", headers=bearer(issued["access_token"]))
        assert me.json()["id"] == BOB["id"]


def test_oauth_authorize__without_login_the_code_is_the_main_users(client) -> None:
    issued = token(client, grant_type="authorization_code", code=code_for(client)).json()
    assert client.get("/user", headers=bearer(issued["access_token"])).json()["id"] == ALICE["id"]


def test_oauth_authorize__unknown_login_redirects_with_access_denied(client) -> None:
    _, query = location(authorize(client, login="nobody@example.com"))
    assert query["error"] == "access_denied"
    assert query["error_description"] == errors.OAUTH_UNKNOWN_LOGIN


# --- POST /oauth/token: authorization_code ----------------------------------------------------
def test_oauth_token__code_grant_answers_form_encoded_by_default(client) -> None:
    response = token(client, headers={}, grant_type="authorization_code", code=code_for(client))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-www-form-urlencoded")
    fields = parse_qs(response.text)
    assert fields["token_type"] == ["bearer"]
    assert fields["scope"] == ["flow,private"]
    assert fields["expires_in"] == [str(ACCESS_TOKEN_LIFETIME_S)]
    assert "refresh_token" not in fields


def test_oauth_token__accept_json_answers_json(client) -> None:
    response = token(client, grant_type="authorization_code", code=code_for(client))
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["scope"] == "flow,private"
    assert response.headers["Cache-Control"] == "no-store"


def test_oauth_token__json_request_body_is_accepted(client) -> None:
    body = {**CLIENT, "grant_type": "authorization_code", "code": code_for(client)}
    response = client.post("/oauth/token", json=body, headers=JSON)
    assert response.status_code == 200 and response.json()["token_type"] == "bearer"


def test_oauth_token__client_credentials_in_http_basic_are_accepted(client) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code_for(client)},
        auth=(CLIENT["client_id"], CLIENT["client_secret"]),
        headers=JSON,
    )
    assert response.status_code == 200


def test_oauth_token__space_delimited_scopes_come_back_comma_joined(client) -> None:
    code = code_for(client, scope="profile flow")
    assert token(client, grant_type="authorization_code", code=code).json()["scope"] == "flow,profile"


def test_oauth_token__a_code_works_once(client) -> None:
    code = code_for(client)
    assert token(client, grant_type="authorization_code", code=code).status_code == 200
    again = token(client, grant_type="authorization_code", code=code)
    assert_oauth_error(again, 400, "invalid_grant", errors.OAUTH_BAD_CODE)


def test_oauth_token__an_expired_code_is_invalid_grant(client, store) -> None:
    code = code_for(client)
    store.oauth.codes[code].expires_at -= (CODE_LIFETIME_S + 1) * 1000
    response = token(client, grant_type="authorization_code", code=code)
    assert_oauth_error(response, 400, "invalid_grant", errors.OAUTH_BAD_CODE)


def test_oauth_token__a_code_of_another_client_is_invalid_grant(client) -> None:
    code = code_for(client)
    other = {"client_id": INTEGRATION_APP["client_id"], "client_secret": INTEGRATION_APP["client_secret"]}
    response = client.post(
        "/oauth/token", data={**other, "grant_type": "authorization_code", "code": code}, headers=JSON
    )
    assert_oauth_error(response, 400, "invalid_grant", errors.OAUTH_BAD_CODE)


def test_oauth_token__redirect_uri_must_repeat_the_authorize_one(client) -> None:
    code = code_for(client, redirect_uri=OAUTH_APP["redirect_uri"])
    missing = token(client, grant_type="authorization_code", code=code)
    assert_oauth_error(missing, 400, "invalid_grant", errors.OAUTH_CODE_REDIRECT_MISMATCH)
    ok = token(client, grant_type="authorization_code", code=code, redirect_uri=OAUTH_APP["redirect_uri"])
    assert ok.status_code == 200


def test_oauth_token__wrong_client_secret_is_401_invalid_client(client) -> None:
    response = client.post(
        "/oauth/token",
        data={
            **CLIENT,
            "client_secret": "wrong",
            "grant_type": "authorization_code",
            "code": code_for(client),
        },
        headers=JSON,
    )
    assert_oauth_error(response, 401, "invalid_client", errors.OAUTH_CLIENT_AUTH_FAILED)


def test_oauth_token__missing_client_is_401_invalid_client(client) -> None:
    response = client.post("/oauth/token", data={"grant_type": "password"}, headers=JSON)
    assert_oauth_error(response, 401, "invalid_client", errors.OAUTH_CLIENT_AUTH_FAILED)


def test_oauth_token__unknown_grant_type_is_unsupported_grant_type(client) -> None:
    response = token(client, grant_type="client_credentials")
    assert_oauth_error(response, 400, "unsupported_grant_type", errors.OAUTH_UNSUPPORTED_GRANT)


def test_oauth_token__missing_code_is_invalid_request(client) -> None:
    response = token(client, grant_type="authorization_code")
    assert_oauth_error(response, 400, "invalid_request", f"{errors.OAUTH_MISSING_PARAMETER}: code")


def test_oauth_token__errors_are_json_even_without_accept_json(client) -> None:
    response = token(client, headers={}, grant_type="authorization_code", code="nope")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "invalid_grant"


# --- refresh_token ----------------------------------------------------------------------------
def test_oauth_token__refresh_token_only_with_offline_access(client) -> None:
    issued = token(
        client, grant_type="authorization_code", code=code_for(client, scope="flow offline_access")
    )
    assert issued.json()["scope"] == "flow,offline_access"
    assert len(issued.json()["refresh_token"]) >= 32


def test_oauth_token__refresh_issues_a_new_access_token_and_rotates_the_refresh_token(client) -> None:
    first = token(
        client, grant_type="authorization_code", code=code_for(client, scope="flow offline_access")
    ).json()
    second = token(client, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "flow,offline_access"
    assert client.get("/flows", headers=bearer(second["access_token"])).status_code == 200
    reused = token(client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert_oauth_error(reused, 400, "invalid_grant", errors.OAUTH_BAD_REFRESH_TOKEN)


def test_oauth_token__refresh_may_narrow_but_not_widen_the_scope(client) -> None:
    first = token(client, grant_type="password", username=BOB["email"], password=BOB["password"],
                  scope="flow private offline_access").json()  # fmt: skip
    wider = token(
        client, grant_type="refresh_token", refresh_token=first["refresh_token"], scope="flow manage"
    )
    assert_oauth_error(wider, 400, "invalid_scope", errors.OAUTH_SCOPE_WIDENED)
    narrower = token(client, grant_type="refresh_token", refresh_token=first["refresh_token"], scope="flow")
    assert narrower.json()["scope"] == "flow,offline_access"


# --- password ---------------------------------------------------------------------------------
def test_oauth_token__password_grant_issues_a_token_for_that_user(client) -> None:
    issued = token(
        client, grant_type="password", username=BOB["email"], password=BOB["password"], scope="flow"
    )
    assert issued.json()["scope"] == "flow"
    me = client.get("/user", headers=bearer(issued.json()["access_token"]))
    assert me.json()["id"] == BOB["id"]
    assert me.headers["Flowdock-User"] == str(BOB["id"])


def test_oauth_token__password_grant_with_a_wrong_password_is_invalid_grant(client) -> None:
    response = token(client, grant_type="password", username=BOB["email"], password="wrong")
    assert_oauth_error(response, 400, "invalid_grant", errors.OAUTH_BAD_PASSWORD)


def test_oauth_token__password_grant_with_an_unknown_scope_is_invalid_scope(client) -> None:
    response = token(
        client, grant_type="password", username=BOB["email"], password=BOB["password"], scope="root"
    )
    assert_oauth_error(response, 400, "invalid_scope", errors.OAUTH_UNKNOWN_SCOPE)


# --- using tokens -----------------------------------------------------------------------------
def password_token(client: Any, scope: str) -> str:
    issued = token(
        client, grant_type="password", username=ALICE["email"], password=ALICE["password"], scope=scope
    )
    return str(issued.json()["access_token"])


def test_get_current_user__with_bearer(client) -> None:
    response = client.get("/user", headers=bearer(password_token(client, "profile")))
    assert response.status_code == 200
    assert response.json()["email"] == ALICE["email"]


@pytest.mark.parametrize("scope", ["flow", "private", "manage", "profile", "integration"])
def test_get_current_user__any_scope_may_ask_who_it_is(client, scope) -> None:
    assert client.get("/user", headers=bearer(password_token(client, scope))).status_code == 200


def test_bearer__expired_token_is_401(client, store) -> None:
    access = password_token(client, "flow")
    store.oauth.tokens[access].expires_at = store.now_ms() - 1
    assert_error(client.get("/flows", headers=bearer(access)), 401, errors.INVALID_CREDENTIALS)


def test_bearer__default_scopes_reach_flows_and_private(client) -> None:
    access = password_token(client, "")
    assert client.get("/flows", headers=bearer(access)).status_code == 200
    assert client.get("/private", headers=bearer(access)).status_code == 200


def test_bearer__flow_scope_does_not_reach_private_conversations(client) -> None:
    response = client.get("/private", headers=bearer(password_token(client, "flow")))
    assert_error(response, 403, errors.INSUFFICIENT_SCOPE)


def test_bearer__private_scope_does_not_reach_flows(client) -> None:
    response = client.get("/flows", headers=bearer(password_token(client, "private")))
    assert_error(response, 403, errors.INSUFFICIENT_SCOPE)


def test_bearer__manage_scope_is_needed_to_create_a_flow(client) -> None:
    flow_only = client.post(
        "/flows/acme", json={"name": "Ops"}, headers=bearer(password_token(client, "flow"))
    )
    assert_error(flow_only, 403, errors.INSUFFICIENT_SCOPE)
    manage = client.post(
        "/flows/acme", json={"name": "Ops"}, headers=bearer(password_token(client, "manage"))
    )
    assert manage.status_code == 201


def test_bearer__profile_scope_is_needed_to_update_the_user(client) -> None:
    response = client.put(
        f"/users/{ALICE['id']}", json={"name": "A"}, headers=bearer(password_token(client, "flow"))
    )
    assert_error(response, 403, errors.INSUFFICIENT_SCOPE)
    ok = client.put(
        f"/users/{ALICE['id']}", json={"name": "A"}, headers=bearer(password_token(client, "profile"))
    )
    assert ok.status_code == 200


def test_bearer__access_token_query_parameter_works_too(client) -> None:
    response = client.get("/user", params={"access_token": password_token(client, "profile")})
    assert response.status_code == 200
    assert response.json()["id"] == ALICE["id"]
