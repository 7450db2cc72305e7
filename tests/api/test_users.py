"""Users tag (docs/flowdock.md §3.6): current user, visible users, flow users, membership changes."""

from __future__ import annotations

from mock_server import errors
from tests.conftest import ALICE, BOB, CAROL_ID, DAVE_ID, ERIN_ID, FRANK_ID, assert_error


# --- getCurrentUser ------------------------------------------------------------------------------
def test_get_current_user__is_the_caller(bob) -> None:
    user = bob.get("/user").json()
    assert user == {
        "id": BOB["id"],
        "email": BOB["email"],
        "name": BOB["name"],
        "nick": BOB["nick"],
        "avatar": user["avatar"],
        "website": user["website"],
    }
    assert "password" not in user and "api_token" not in user


# --- listUsers -----------------------------------------------------------------------------------
def test_list_users__admin_sees_the_whole_organization(alice) -> None:
    assert {u["id"] for u in alice.get("/users").json()} == {1, 2, 3, 4, 5}


def test_list_users__member_sees_people_sharing_a_flow(as_user) -> None:
    # Erin is in acme/main, acme/secret and acme/support: everyone of those flows, no one else.
    assert {u["id"] for u in as_user(ERIN_ID).get("/users").json()} == {1, 2, 3, 4, 5}
    assert {u["id"] for u in as_user(7).get("/users").json()} == {2, 6, 7, 8}


def test_list_users__without_credentials_is_401(client) -> None:
    assert_error(client.get("/users"), 401, errors.AUTHENTICATION_REQUIRED)


# --- getUser -------------------------------------------------------------------------------------
def test_get_user__someone_you_share_an_organization_with(alice) -> None:
    assert alice.get(f"/users/{DAVE_ID}").json()["id"] == DAVE_ID


def test_get_user__a_stranger_is_404(alice) -> None:
    assert_error(alice.get(f"/users/{FRANK_ID}"), 404, errors.NOT_FOUND)


def test_get_user__unknown_is_404(alice) -> None:
    assert_error(alice.get("/users/999"), 404, errors.NOT_FOUND)


def test_get_user__id_must_be_an_integer(alice) -> None:
    response = alice.get("/users/alice")
    assert response.status_code in (400, 404)
    assert "message" in response.json()


def test_get_user__without_credentials_is_401(client) -> None:
    assert_error(client.get("/users/1"), 401, errors.AUTHENTICATION_REQUIRED)


# --- updateUser ----------------------------------------------------------------------------------
def test_update_user__yourself_answers_empty_object(bob) -> None:
    response = bob.put(f"/users/{BOB['id']}", json={"nick": "bobby", "name": "Robert Brown"})
    assert response.status_code == 200
    assert response.json() == {}
    me = bob.get("/user").json()
    assert me["nick"] == "bobby" and me["name"] == "Robert Brown"


def test_update_user__new_email_logs_in(bob, client) -> None:
    bob.put(f"/users/{BOB['id']}", json={"email": "robert@example.com"})
    assert client.get("/user", auth=("robert@example.com", BOB["password"])).status_code == 200
    assert client.get("/user", auth=(BOB["email"], BOB["password"])).status_code == 401


def test_update_user__someone_else_is_403(alice) -> None:
    assert_error(alice.put(f"/users/{BOB['id']}", json={"nick": "x"}), 403, errors.ONLY_YOURSELF)


def test_update_user__taken_email_is_400(bob) -> None:
    response = bob.put(f"/users/{BOB['id']}", json={"email": ALICE["email"]})
    assert_error(response, 400, errors.VALIDATION_ERROR, {"email": [errors.TAKEN]})


def test_update_user__nick_with_whitespace_is_400(bob) -> None:
    response = bob.put(f"/users/{BOB['id']}", json={"nick": "bob by"})
    assert response.status_code == 400
    assert "nick" in response.json()["errors"]


def test_update_user__invalid_email_is_400(bob) -> None:
    response = bob.put(f"/users/{BOB['id']}", json={"email": "not-an-email"})
    assert response.status_code == 400
    assert "email" in response.json()["errors"]


def test_update_user__without_credentials_is_401(client) -> None:
    assert_error(client.put("/users/1", json={"nick": "x"}), 401, errors.AUTHENTICATION_REQUIRED)


# --- listFlowUsers -------------------------------------------------------------------------------
def test_list_flow_users__members_with_in_flow(alice) -> None:
    users = alice.get("/flows/acme/dev/users").json()
    assert [u["id"] for u in users] == [1, 2, 3]
    assert all(u["in_flow"] for u in users)


def test_list_flow_users__invisible_flow_is_404(alice) -> None:
    assert_error(alice.get("/flows/acme/secret/users"), 404, errors.NOT_FOUND)


def test_list_flow_users__without_credentials_is_401(client) -> None:
    assert_error(client.get("/flows/acme/dev/users"), 401, errors.AUTHENTICATION_REQUIRED)


# --- addUserToFlow -------------------------------------------------------------------------------
def test_add_user_to_flow__answers_empty_object_and_joins(alice, as_user) -> None:
    response = alice.post("/flows/acme/dev/users", json={"id": DAVE_ID})
    assert response.status_code == 200 and response.json() == {}
    dave_flows = {f["parameterized_name"] for f in as_user(DAVE_ID).get("/flows").json()}
    assert "dev" in dave_flows


def test_add_user_to_flow__outside_the_organization_is_400(alice) -> None:
    response = alice.post("/flows/acme/dev/users", json={"id": FRANK_ID})
    assert_error(response, 400, errors.VALIDATION_ERROR, {"id": [errors.NOT_IN_ORGANIZATION]})


def test_add_user_to_flow__already_a_member_is_200_and_changes_nothing(alice, store) -> None:
    before = store.events.last_seq
    response = alice.post("/flows/acme/dev/users", json={"id": BOB["id"]})
    assert response.status_code == 200 and response.json() == {}
    assert store.events.last_seq == before  # no action, no backend.user.join


def test_add_user_to_flow__non_member_caller_is_403(alice) -> None:
    assert_error(alice.post("/flows/acme/random/users", json={"id": BOB["id"]}), 403, errors.NOT_A_MEMBER)


def test_add_user_to_flow__id_is_required(alice) -> None:
    assert_error(
        alice.post("/flows/acme/dev/users", json={}), 400, errors.VALIDATION_ERROR, {"id": [errors.BLANK]}
    )


def test_add_user_to_flow__without_credentials_is_401(client) -> None:
    assert_error(client.post("/flows/acme/dev/users", json={"id": 4}), 401, errors.AUTHENTICATION_REQUIRED)


# --- updateFlowUser (block) ----------------------------------------------------------------------
def test_update_flow_user__blocked_user_loses_access_but_stays_listed(alice, as_user) -> None:
    assert alice.put(f"/flows/acme/dev/users/{CAROL_ID}", json={"disabled": True}).json() == {}
    carol = as_user(CAROL_ID)
    assert "dev" not in {f["parameterized_name"] for f in carol.get("/flows").json()}
    listed = {u["id"]: u for u in alice.get("/flows/acme/dev/users").json()}
    assert listed[CAROL_ID]["disabled"] is True and listed[CAROL_ID]["in_flow"] is False


def test_update_flow_user__member_cannot_block_an_admin(bob) -> None:
    assert_error(
        bob.put(f"/flows/acme/dev/users/{ALICE['id']}", json={"disabled": True}), 403, errors.FORBIDDEN
    )


# --- removeUserFromFlow --------------------------------------------------------------------------
def test_remove_user_from_flow__admin_removes_a_member(alice, as_user) -> None:
    response = alice.delete(f"/flows/acme/dev/users/{CAROL_ID}")
    assert response.status_code == 204
    assert response.content == b""
    assert CAROL_ID not in {u["id"] for u in alice.get("/flows/acme/dev/users").json()}


def test_remove_user_from_flow__member_removing_another_is_403(bob) -> None:
    assert_error(bob.delete(f"/flows/acme/dev/users/{CAROL_ID}"), 403, errors.FORBIDDEN)


def test_remove_user_from_flow__anyone_may_leave(bob) -> None:
    assert bob.delete(f"/flows/acme/dev/users/{BOB['id']}").status_code == 204
    assert "dev" not in {f["parameterized_name"] for f in bob.get("/flows").json()}


def test_remove_user_from_flow__not_a_member_is_404(alice) -> None:
    assert_error(alice.delete(f"/flows/acme/dev/users/{DAVE_ID}"), 404, errors.NOT_FOUND)


def test_remove_user_from_flow__without_credentials_is_401(client) -> None:
    assert_error(client.delete("/flows/acme/dev/users/3"), 401, errors.AUTHENTICATION_REQUIRED)


# --- removeUserFromOrganization ------------------------------------------------------------------
def test_remove_user_from_organization__admin_removes_from_org_and_its_flows(alice) -> None:
    assert alice.delete(f"/organizations/acme/users/{CAROL_ID}").status_code == 204
    assert CAROL_ID not in {u["id"] for u in alice.get("/organizations/acme/users").json()}
    assert CAROL_ID not in {u["id"] for u in alice.get("/flows/acme/main/users").json()}


def test_remove_user_from_organization__plain_member_is_403(bob) -> None:
    assert_error(bob.delete(f"/organizations/acme/users/{CAROL_ID}"), 403, errors.ADMIN_ONLY)


def test_remove_user_from_organization__not_a_member_is_404(alice) -> None:
    assert_error(alice.delete(f"/organizations/acme/users/{FRANK_ID}"), 404, errors.NOT_FOUND)


def test_remove_user_from_organization__without_credentials_is_401(client) -> None:
    assert_error(client.delete("/organizations/acme/users/3"), 401, errors.AUTHENTICATION_REQUIRED)
