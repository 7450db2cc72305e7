"""Flows tag (docs/flowdock.md §3.2): listFlows, listAllFlows, getFlow, updateFlow, getFlowById,
createFlow."""

from __future__ import annotations

import pytest

from mock_server import errors
from tests.conftest import ALICE, BOB, CAROL_ID, DAVE_ID, assert_error


def names(response) -> set[str]:
    return {f"{f['organization']['parameterized_name']}/{f['parameterized_name']}" for f in response.json()}


# --- listFlows -----------------------------------------------------------------------------------
def test_list_flows__only_joined_flows(alice) -> None:
    response = alice.get("/flows")
    assert response.status_code == 200
    assert names(response) == {"acme/main", "acme/dev", "acme/support"}
    assert all(f["joined"] and f["open"] for f in response.json())


def test_list_flows__no_users_by_default(alice) -> None:
    assert all("users" not in f for f in alice.get("/flows").json())


def test_list_flows__users_1_embeds_users_with_in_flow(alice) -> None:
    flows = {f["parameterized_name"]: f for f in alice.get("/flows", params={"users": 1}).json()}
    main_users = {u["id"]: u for u in flows["main"]["users"]}
    assert set(main_users) == {1, 2, 3, 4, 5}
    assert all(u["in_flow"] is True and u["disabled"] is False for u in main_users.values())
    assert main_users[ALICE["id"]]["nick"] == "alice"


def test_list_flows__join_url_only_for_organization_and_link_flows(alice) -> None:
    flows = {f["parameterized_name"]: f for f in alice.get("/flows").json()}
    assert "join_url" in flows["main"] and "join_url" in flows["support"]
    assert "join_url" not in flows["dev"]


def test_list_flows__flow_object_has_the_documented_fields(alice) -> None:
    flow = next(f for f in alice.get("/flows").json() if f["parameterized_name"] == "main")
    assert flow["url"].endswith("/flows/acme/main")
    assert flow["organization"]["parameterized_name"] == "acme"
    assert flow["access_mode"] == "organization"
    assert isinstance(flow["id"], str) and isinstance(flow["organization"]["id"], int)
    assert len(flow["api_token"]) == 32


def test_list_flows__without_credentials_is_401(client) -> None:
    assert_error(client.get("/flows"), 401, errors.AUTHENTICATION_REQUIRED)


def test_list_flows__users_must_be_0_or_1(alice) -> None:
    response = alice.get("/flows", params={"users": 7})
    assert response.status_code == 400
    assert response.json()["message"] == errors.VALIDATION_ERROR
    assert "users" in response.json()["errors"]


# --- listAllFlows --------------------------------------------------------------------------------
def test_list_all_flows__adds_joinable_organization_flows(alice) -> None:
    response = alice.get("/flows/all")
    assert response.status_code == 200
    assert names(response) == {"acme/main", "acme/dev", "acme/support", "acme/random"}
    random = next(f for f in response.json() if f["parameterized_name"] == "random")
    assert random["joined"] is False and random["open"] is False


def test_list_all_flows__never_shows_invitation_flows_of_others(alice) -> None:
    assert "acme/secret" not in names(alice.get("/flows/all"))


def test_list_all_flows__accepts_users(alice) -> None:
    flows = alice.get("/flows/all", params={"users": 1}).json()
    assert all("users" in f for f in flows)


def test_list_all_flows__without_credentials_is_401(client) -> None:
    assert_error(client.get("/flows/all"), 401, errors.AUTHENTICATION_REQUIRED)


# --- getFlow -------------------------------------------------------------------------------------
def test_get_flow__always_embeds_users(alice) -> None:
    response = alice.get("/flows/acme/dev")
    assert response.status_code == 200
    assert {u["id"] for u in response.json()["users"]} == {1, 2, 3}


def test_get_flow__unjoined_organization_flow_is_visible_but_not_joined(alice) -> None:
    flow = alice.get("/flows/acme/random").json()
    assert flow["joined"] is False
    assert flow["unread_mentions"] == 0


def test_get_flow__invisible_flow_is_404(alice) -> None:
    assert_error(alice.get("/flows/acme/secret"), 404, errors.NOT_FOUND)


def test_get_flow__other_organizations_flow_is_404(alice) -> None:
    assert_error(alice.get("/flows/globex/general"), 404, errors.NOT_FOUND)


def test_get_flow__unknown_flow_is_404(alice) -> None:
    assert_error(alice.get("/flows/acme/nope"), 404, errors.NOT_FOUND)


def test_get_flow__without_credentials_is_401(client) -> None:
    assert_error(client.get("/flows/acme/main"), 401, errors.AUTHENTICATION_REQUIRED)


# --- getFlowById ---------------------------------------------------------------------------------
def test_get_flow_by_id__returns_the_flow_with_users(alice, store) -> None:
    flow_id = store.flows.find("acme", "main").id
    response = alice.get("/flows/find", params={"id": flow_id})
    assert response.status_code == 200
    assert response.json()["id"] == flow_id
    assert len(response.json()["users"]) == 5


def test_get_flow_by_id__unknown_id_is_404(alice) -> None:
    assert_error(alice.get("/flows/find", params={"id": "no-such-flow"}), 404, errors.NOT_FOUND)


def test_get_flow_by_id__invisible_flow_is_404(alice, store) -> None:
    secret = store.flows.find("acme", "secret").id
    assert_error(alice.get("/flows/find", params={"id": secret}), 404, errors.NOT_FOUND)


def test_get_flow_by_id__id_is_required(alice) -> None:
    assert_error(alice.get("/flows/find"), 400, errors.VALIDATION_ERROR)


def test_get_flow_by_id__without_credentials_is_401(client) -> None:
    assert_error(client.get("/flows/find", params={"id": "x"}), 401, errors.AUTHENTICATION_REQUIRED)


# --- updateFlow ----------------------------------------------------------------------------------
def test_update_flow__renames_and_returns_the_full_flow(alice) -> None:
    response = alice.put("/flows/acme/main", json={"name": "Main Room"})
    assert response.status_code == 200
    assert response.json()["name"] == "Main Room"
    assert response.json()["parameterized_name"] == "main"  # the URL does not change
    assert "users" in response.json()
    assert alice.get("/flows/acme/main").json()["name"] == "Main Room"


def test_update_flow__open_true_joins_an_organization_flow(alice) -> None:
    response = alice.put("/flows/acme/random", json={"open": True})
    assert response.status_code == 200
    assert response.json()["joined"] is True
    assert "acme/random" in names(alice.get("/flows"))


def test_update_flow__open_false_hides_the_tab_but_keeps_membership(alice) -> None:
    alice.put("/flows/acme/dev", json={"open": False})
    dev = next(f for f in alice.get("/flows").json() if f["parameterized_name"] == "dev")
    assert dev["joined"] is True and dev["open"] is False


def test_update_flow__non_member_cannot_rename(alice) -> None:
    assert_error(alice.put("/flows/acme/random", json={"name": "Mine"}), 403, errors.NOT_A_MEMBER)


def test_update_flow__access_mode_needs_a_flow_admin(bob) -> None:
    response = bob.put("/flows/acme/main", json={"access_mode": "invitation"})
    assert_error(response, 403, errors.FORBIDDEN, {"access_mode": ["can only be changed by a flow admin"]})


def test_update_flow__admin_changes_access_mode(alice) -> None:
    assert alice.put("/flows/acme/dev", json={"access_mode": "link"}).json()["access_mode"] == "link"


def test_update_flow__unknown_access_mode_is_400(alice) -> None:
    response = alice.put("/flows/acme/main", json={"access_mode": "public"})
    assert response.status_code == 400
    assert "access_mode" in response.json()["errors"]


def test_update_flow__name_over_100_characters_is_400(alice) -> None:
    response = alice.put("/flows/acme/main", json={"name": "x" * 101})
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_update_flow__invisible_flow_is_404(alice) -> None:
    assert_error(alice.put("/flows/acme/secret", json={"open": True}), 404, errors.NOT_FOUND)


def test_update_flow__without_credentials_is_401(client) -> None:
    assert_error(client.put("/flows/acme/main", json={"open": True}), 401, errors.AUTHENTICATION_REQUIRED)


# --- createFlow ----------------------------------------------------------------------------------
def test_create_flow__201_with_the_creator_as_member(bob) -> None:
    response = bob.post("/flows/acme", json={"name": "Release Train"})
    assert response.status_code == 201
    flow = response.json()
    assert flow["parameterized_name"] == "release-train"
    assert flow["access_mode"] == "invitation"
    assert [u["id"] for u in flow["users"]] == [BOB["id"]]
    assert "acme/release-train" in names(bob.get("/flows"))


def test_create_flow__is_visible_to_others_only_when_invited(bob, as_user) -> None:
    bob.post("/flows/acme", json={"name": "Private Room"})
    assert as_user(CAROL_ID).get("/flows/acme/private-room").status_code == 404


def test_create_flow__duplicate_name_is_400(alice) -> None:
    assert_error(
        alice.post("/flows/acme", json={"name": "Main"}),
        400,
        errors.VALIDATION_ERROR,
        {"name": [errors.TAKEN]},
    )


def test_create_flow__name_is_required(alice) -> None:
    assert_error(alice.post("/flows/acme", json={}), 400, errors.VALIDATION_ERROR, {"name": [errors.BLANK]})


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_create_flow__name_length_is_checked(alice, name) -> None:
    response = alice.post("/flows/acme", json={"name": name})
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_create_flow__outside_your_organization_is_404(as_user) -> None:
    assert_error(as_user(DAVE_ID).post("/flows/globex", json={"name": "Sneaky"}), 404, errors.NOT_FOUND)


def test_create_flow__without_credentials_is_401(client) -> None:
    assert_error(client.post("/flows/acme", json={"name": "Anon"}), 401, errors.AUTHENTICATION_REQUIRED)
