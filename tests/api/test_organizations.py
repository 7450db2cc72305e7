"""Organizations tag (docs/flowdock.md §3.6): list, get, get by id, update (admins only)."""

from __future__ import annotations

from mock_server import errors
from tests.conftest import BOB, assert_error


def test_list_organizations__only_the_callers(alice, bob) -> None:
    assert [o["parameterized_name"] for o in alice.get("/organizations").json()] == ["acme"]
    assert {o["parameterized_name"] for o in bob.get("/organizations").json()} == {"acme", "globex"}


def test_list_organizations__object_shape(alice) -> None:
    org = alice.get("/organizations").json()[0]
    assert org["id"] == 14849 and org["name"] == "Acme Inc"
    assert org["user_count"] == 5 and org["user_limit"] == 0 and org["active"] is True
    assert org["url"].endswith("/organizations/acme")
    assert "trial" in org["subscription"]
    assert "users" not in org  # removed by Flowdock on 2017-10-27


def test_list_organizations__without_credentials_is_401(client) -> None:
    assert_error(client.get("/organizations"), 401, errors.AUTHENTICATION_REQUIRED)


def test_get_organization__member_sees_it(bob) -> None:
    assert bob.get("/organizations/globex").json()["name"] == "Globex Corporation"


def test_get_organization__non_member_gets_404(alice) -> None:
    assert_error(alice.get("/organizations/globex"), 404, errors.NOT_FOUND)


def test_get_organization__unknown_is_404(alice) -> None:
    assert_error(alice.get("/organizations/nope"), 404, errors.NOT_FOUND)


def test_get_organization__without_credentials_is_401(client) -> None:
    assert_error(client.get("/organizations/acme"), 401, errors.AUTHENTICATION_REQUIRED)


def test_get_organization_by_id__member_sees_it(alice) -> None:
    assert alice.get("/organizations/find", params={"id": 14849}).json()["parameterized_name"] == "acme"


def test_get_organization_by_id__non_member_gets_404(alice) -> None:
    assert_error(alice.get("/organizations/find", params={"id": 14850}), 404, errors.NOT_FOUND)


def test_get_organization_by_id__id_must_be_an_integer(alice) -> None:
    response = alice.get("/organizations/find", params={"id": "acme"})
    assert response.status_code == 400
    assert "id" in response.json()["errors"]


def test_update_organization__admin_renames_and_gets_the_full_object(alice) -> None:
    response = alice.put("/organizations/acme", json={"name": "Acme Corporation"})
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Corporation"
    assert response.json()["user_count"] == 5
    assert alice.get("/organizations/acme").json()["name"] == "Acme Corporation"


def test_update_organization__parameterized_name_moves_the_url(alice) -> None:
    response = alice.put("/organizations/acme", json={"parameterized_name": "acme-corp"})
    assert response.json()["url"].endswith("/organizations/acme-corp")
    assert alice.get("/organizations/acme-corp").status_code == 200
    assert alice.get("/organizations/acme").status_code == 404


def test_update_organization__taken_parameterized_name_is_400(as_user) -> None:
    frank = as_user(6)
    response = frank.put("/organizations/globex", json={"parameterized_name": "acme"})
    assert_error(response, 400, errors.VALIDATION_ERROR, {"parameterized_name": [errors.TAKEN]})


def test_update_organization__plain_member_gets_403(bob) -> None:
    assert_error(bob.put("/organizations/acme", json={"name": "Bob's"}), 403, errors.ADMIN_ONLY)
    assert bob.get("/organizations/acme").json()["name"] == "Acme Inc"


def test_update_organization__non_member_gets_404(alice) -> None:
    assert_error(alice.put("/organizations/globex", json={"name": "Mine"}), 404, errors.NOT_FOUND)


def test_update_organization__empty_name_is_400(alice) -> None:
    response = alice.put("/organizations/acme", json={"name": ""})
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_update_organization__without_credentials_is_401(client) -> None:
    assert_error(client.put("/organizations/acme", json={"name": "x"}), 401, errors.AUTHENTICATION_REQUIRED)


def test_list_organization_users__carry_admin(alice) -> None:
    users = {u["id"]: u for u in alice.get("/organizations/acme/users").json()}
    assert users[1]["admin"] is True and users[BOB["id"]]["admin"] is False
