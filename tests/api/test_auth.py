"""Authentication as Flowdock did it (docs/flowdock.md §2.1): token with any password, email + password."""

from __future__ import annotations

import pytest

from mock_server import errors
from tests.conftest import ALICE, BOB, assert_error


@pytest.mark.parametrize("password", ["", "DUMMY", "BATMAN", "undefined", "anything at all"])
def test_basic_auth__api_token_with_any_password(client, password) -> None:
    response = client.get("/flows", auth=(ALICE["api_token"], password))
    assert response.status_code == 200
    assert response.headers["Flowdock-User"] == str(ALICE["id"])


def test_basic_auth__email_and_password(client) -> None:
    response = client.get("/user", auth=(BOB["email"], BOB["password"]))
    assert response.status_code == 200
    assert response.json()["id"] == BOB["id"]
    assert response.headers["Flowdock-User"] == str(BOB["id"])


def test_basic_auth__email_is_case_insensitive(client) -> None:
    assert client.get("/user", auth=(ALICE["email"].upper(), ALICE["password"])).status_code == 200


def test_basic_auth__wrong_password_is_401(client) -> None:
    assert_error(client.get("/flows", auth=(ALICE["email"], "wrong")), 401, errors.INVALID_CREDENTIALS)


def test_basic_auth__email_with_empty_password_is_401(client) -> None:
    assert_error(client.get("/flows", auth=(ALICE["email"], "")), 401, errors.INVALID_CREDENTIALS)


def test_basic_auth__unknown_token_is_401(client) -> None:
    assert_error(client.get("/flows", auth=("0" * 32, "")), 401, errors.INVALID_CREDENTIALS)


def test_no_credentials_is_401_with_a_json_body(client) -> None:
    response = client.get("/flows")
    assert_error(response, 401, errors.AUTHENTICATION_REQUIRED)
    assert "Flowdock-User" not in response.headers


def test_bearer__unknown_token_is_401(client) -> None:
    response = client.get("/flows", headers={"Authorization": "Bearer not-a-token"})
    assert_error(response, 401, errors.INVALID_CREDENTIALS)


def test_bearer__issued_token_authenticates(client, store) -> None:
    # The token check goes against the store, never "any token".
    from mock_server.store.oauth import AccessToken

    store.oauth.tokens["t0ken"] = AccessToken(
        token="t0ken", user_id=BOB["id"], application_id=1, scopes=["flow", "private"]
    )
    response = client.get("/flows", headers={"Authorization": "Bearer t0ken"})
    assert response.status_code == 200
    assert response.headers["Flowdock-User"] == str(BOB["id"])


def test_bearer__expired_token_is_401(client, store) -> None:
    from mock_server.store.oauth import AccessToken

    store.oauth.tokens["old"] = AccessToken(
        token="old", user_id=BOB["id"], application_id=1, scopes=["flow"], expires_at=1
    )
    assert_error(
        client.get("/flows", headers={"Authorization": "Bearer old"}), 401, errors.INVALID_CREDENTIALS
    )


def test_malformed_basic_header_is_401(client) -> None:
    response = client.get("/flows", headers={"Authorization": "Basic !!!not-base64"})
    assert response.status_code == 401
    assert "message" in response.json()
