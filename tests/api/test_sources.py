"""Sources (docs/flowdock.md §3.7, §8.3): integration-scoped creation, the one-time flow_token, 410
after delete."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mock_server import errors
from mock_server.store.oauth import AccessToken
from mock_server.world import OAUTH_APP
from tests.conftest import ALICE, BOB, FRANK_ID, assert_error

SEEDED_MAIN_SOURCE = 1
"""acme/api, a GitHub source in acme/main."""
SEEDED_DEV_SOURCE = 2
"""acme/web, a GitHub source in acme/dev."""


@pytest.fixture
def bearer(store) -> Any:
    """``bearer(user_id, *scopes)``: an Authorization header for a token of the CI Notifier app."""

    def make(user_id: int, *scopes: str) -> dict[str, str]:
        value = f"tok-{user_id}-{'-'.join(scopes)}"
        store.oauth.tokens[value] = AccessToken(
            token=value, user_id=user_id, application_id=OAUTH_APP["id"], scopes=list(scopes)
        )
        return {"Authorization": f"Bearer {value}"}

    return make


def create(client: Any, headers: dict[str, str], flow: str = "acme/main", **body: Any) -> Any:
    return client.post(f"/flows/{flow}/sources", json={"name": "CI", **body}, headers=headers)


def test_create_source__needs_an_integration_token_and_shows_the_flow_token_once(client, bearer) -> None:
    response = create(
        client, bearer(ALICE["id"], "flow", "integration"), external_url="https://ci.example.com"
    )
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["flow_token"])
    assert body["name"] == "CI" and body["external_url"] == "https://ci.example.com"
    assert body["application"]["name"] == OAUTH_APP["name"]
    assert body["application"]["published"] is True and "setup" in body["application"]["_links"]
    assert body["creator"]["id"] == ALICE["id"]
    assert body["error_message"] == "" and body["_links"] == {}
    assert body["url"].endswith(f"/flows/acme/main/sources/{body['id']}")


def test_create_source__the_flow_token_never_shows_again(client, alice, bearer) -> None:
    created = create(client, bearer(ALICE["id"], "integration")).json()
    assert "flow_token" not in alice.get(f"/flows/acme/main/sources/{created['id']}").json()
    assert all("flow_token" not in s for s in alice.get("/flows/acme/main/sources").json())
    assert all("flow_token" not in s for s in alice.get("/sources").json())


def test_create_source__token_without_integration_scope_is_403(client, bearer) -> None:
    assert_error(create(client, bearer(ALICE["id"], "flow", "manage")), 403, errors.INSUFFICIENT_SCOPE)


def test_create_source__not_a_member_is_403_and_invisible_flow_is_404(client, bearer) -> None:
    assert_error(create(client, bearer(ALICE["id"], "integration"), "acme/random"), 403, errors.NOT_A_MEMBER)
    assert_error(create(client, bearer(ALICE["id"], "integration"), "acme/secret"), 404, errors.NOT_FOUND)


def test_create_source__name_is_required(client, bearer) -> None:
    response = client.post("/flows/acme/main/sources", json={}, headers=bearer(ALICE["id"], "integration"))
    assert_error(response, 400, errors.VALIDATION_ERROR, {"name": [errors.BLANK]})


def test_list_flow_sources__lists_the_flows_live_sources(alice) -> None:
    response = alice.get("/flows/acme/main/sources")
    assert response.status_code == 200
    assert [s["id"] for s in response.json()] == [SEEDED_MAIN_SOURCE]


def test_list_flow_sources__requires_membership(alice, as_user) -> None:
    assert_error(alice.get("/flows/acme/random/sources"), 403, errors.NOT_A_MEMBER)
    assert_error(as_user(FRANK_ID).get("/flows/acme/main/sources"), 404, errors.NOT_FOUND)


def test_list_sources__every_source_of_the_callers_flows(alice, as_user) -> None:
    assert sorted(s["id"] for s in alice.get("/sources").json()) == [SEEDED_MAIN_SOURCE, SEEDED_DEV_SOURCE]
    assert as_user(FRANK_ID).get("/sources").json() == []


def test_list_sources__with_a_flow_token_only_that_source(client, store) -> None:
    flow_token = store.sources.by_id[SEEDED_DEV_SOURCE].flow_token
    response = client.get("/sources", params={"flow_token": flow_token})
    assert response.status_code == 200
    assert [s["id"] for s in response.json()] == [SEEDED_DEV_SOURCE]
    assert "Flowdock-User" not in response.headers


def test_list_sources__unknown_flow_token_is_401(client) -> None:
    assert_error(client.get("/sources", params={"flow_token": "f" * 32}), 401, errors.INVALID_CREDENTIALS)


def test_get_source__shows_the_source(alice) -> None:
    body = alice.get(f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}").json()
    assert body["name"] == "acme/api"
    assert body["application"]["name"] == "GitHub"
    assert body["creator"]["id"] == ALICE["id"]


def test_get_source__of_another_flow_is_404(alice) -> None:
    assert_error(alice.get(f"/flows/acme/main/sources/{SEEDED_DEV_SOURCE}"), 404, errors.NOT_FOUND)


def test_get_source__creator_may_be_null(alice, store) -> None:
    store.sources.by_id[SEEDED_MAIN_SOURCE].creator_id = None
    assert alice.get(f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}").json()["creator"] is None


def test_update_source__error_message_and_configuration_url(alice) -> None:
    changes = {"error_message": "Build server unreachable", "configuration_url": "https://ci.example.com/cfg"}
    response = alice.put(f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}", json=changes)
    assert response.status_code == 200
    assert {k: response.json()[k] for k in changes} == changes
    cleared = alice.put(f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}", json={"error_message": ""})
    assert cleared.json()["error_message"] == ""


def test_update_source__the_seeds_name_and_external_url_too(alice) -> None:
    changes = {"name": "acme/api2", "external_url": "https://github.com/acme/api2"}
    body = alice.put(f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}", json=changes).json()
    assert {k: body[k] for k in changes} == changes


def test_update_source__a_flow_scoped_token_is_403(client, bearer) -> None:
    response = client.put(
        f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}",
        json={"error_message": "x"},
        headers=bearer(1, "flow"),
    )
    assert_error(response, 403, errors.INSUFFICIENT_SCOPE)


def test_update_source_by_token__token_in_the_body_or_query(client, store) -> None:
    flow_token = store.sources.by_id[SEEDED_MAIN_SOURCE].flow_token
    in_body = client.put("/sources", json={"flow_token": flow_token, "error_message": "down"})
    assert in_body.status_code == 200 and in_body.json()["error_message"] == "down"
    in_query = client.put(
        "/sources", params={"flow_token": flow_token}, json={"configuration_url": "https://x.io"}
    )
    assert in_query.json()["configuration_url"] == "https://x.io"
    assert store.sources.by_id[SEEDED_MAIN_SOURCE].error_message == "down"


def test_update_source_by_token__without_a_token_is_401(client) -> None:
    # judged before the body (no credentials at all), as on every operation
    assert_error(client.put("/sources", json={"error_message": "x"}), 401, errors.AUTHENTICATION_REQUIRED)


def test_update_source_by_token__unknown_token_is_401(client) -> None:
    response = client.put("/sources", json={"flow_token": "0" * 32, "error_message": "x"})
    assert_error(response, 401, errors.INVALID_CREDENTIALS)


def test_delete_source__204_then_gone_everywhere(alice, client, store) -> None:
    flow_token = store.sources.by_id[SEEDED_MAIN_SOURCE].flow_token
    assert alice.delete(f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}").status_code == 204
    assert_error(alice.get(f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}"), 404, errors.NOT_FOUND)
    assert alice.get("/flows/acme/main/sources").json() == []
    assert_error(client.get("/sources", params={"flow_token": flow_token}), 410, errors.SOURCE_GONE)
    assert_error(client.put("/sources", json={"flow_token": flow_token}), 410, errors.SOURCE_GONE)


def test_delete_source__posts_with_its_flow_token_get_410(alice, client, store) -> None:
    flow_token = store.sources.by_id[SEEDED_MAIN_SOURCE].flow_token
    post = {"flow_token": flow_token, "event": "activity", "author": {"name": "CI"}, "title": "Build passed",
            "external_thread_id": "build-1", "thread": {"title": "Build 1"}}  # fmt: skip
    assert client.post("/messages", json=post).status_code == 202
    alice.delete(f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}")
    assert_error(client.post("/messages", json=post), 410, errors.SOURCE_GONE)


def test_delete_source__by_a_non_member_is_404(as_user) -> None:
    response = as_user(FRANK_ID).delete(f"/flows/acme/main/sources/{SEEDED_MAIN_SOURCE}")
    assert_error(response, 404, errors.NOT_FOUND)


def test_created_source__token_posts_into_its_flow(client, bearer, store) -> None:
    created = create(client, bearer(BOB["id"], "integration")).json()
    post = {"flow_token": created["flow_token"], "event": "discussion", "author": {"name": "CI"},
            "title": "commented", "body": "hi", "external_thread_id": "t-1", "thread": {"title": "T"}}  # fmt: skip
    assert client.post("/messages", json=post).status_code == 202
