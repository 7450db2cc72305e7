"""Invitations (docs/flowdock.md §3.8): pending list, resend, admin-only writes, the `list` import."""

from __future__ import annotations

from typing import Any

from mock_server import errors
from tests.conftest import ALICE, BOB, CAROL_ID, DAVE_ID, FRANK_ID, assert_error

DEV_PENDING, DEV_ACCEPTED, MAIN_PENDING = 1, 2, 3
"""Seeded invitations: two to acme/dev (one pending, one accepted), one pending to acme/main."""
CAROL_EMAIL = "austin.jarvis@example.com"
DAVE_EMAIL = "kyle.taylor@example.com"


def invite(client: Any, email: str, flow: str = "acme/dev", **extra: Any) -> Any:
    return client.post(f"/flows/{flow}/invitations", json={"email": email, **extra})


def import_(client: Any, flow: str = "acme/dev", **body: Any) -> Any:
    return client.post(f"/flows/{flow}/invitations/import", json=body)


def test_list_invitations__pending_only(bob) -> None:
    response = bob.get("/flows/acme/dev/invitations")
    assert response.status_code == 200
    assert [(i["id"], i["state"]) for i in response.json()] == [(DEV_PENDING, "pending")]


def test_list_invitations__requires_membership(alice, as_user) -> None:
    assert_error(alice.get("/flows/acme/random/invitations"), 403, errors.NOT_A_MEMBER)
    assert_error(as_user(FRANK_ID).get("/flows/acme/dev/invitations"), 404, errors.NOT_FOUND)


def test_get_invitation__shows_accepted_ones_too(bob, store) -> None:
    body = bob.get(f"/flows/acme/dev/invitations/{DEV_ACCEPTED}").json()
    dev = store.flows.find("acme", "dev")
    assert body == {
        "id": DEV_ACCEPTED,
        "state": "accepted",
        "email": CAROL_EMAIL,
        "flow": dev.id,
        "url": f"{store.config.base_url}/flows/acme/dev/invitations/{DEV_ACCEPTED}",
    }


def test_get_invitation__of_another_flow_is_404(alice) -> None:
    assert_error(alice.get(f"/flows/acme/dev/invitations/{MAIN_PENDING}"), 404, errors.NOT_FOUND)


def test_create_invitation__201_pending(alice) -> None:
    response = invite(alice, "newbie@corp.com", message="Welcome")
    assert response.status_code == 201
    assert response.json()["state"] == "pending" and response.json()["email"] == "newbie@corp.com"
    assert response.json()["id"] in [i["id"] for i in alice.get("/flows/acme/dev/invitations").json()]


def test_create_invitation__same_email_again_resends_without_duplicate(alice) -> None:
    first = invite(alice, "newbie@corp.com").json()
    again = invite(alice, "NEWBIE@corp.com", message="Reminder")
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    emails = [i["email"].lower() for i in alice.get("/flows/acme/dev/invitations").json()]
    assert emails.count("newbie@corp.com") == 1


def test_create_invitation__by_a_plain_member_is_403(bob) -> None:
    assert_error(invite(bob, "newbie@corp.com"), 403, errors.FLOW_ADMIN_ONLY)


def test_create_invitation__by_a_flow_admin_who_is_not_an_org_admin(as_user) -> None:
    # Carol administers acme/random without being an admin of acme.
    assert invite(as_user(CAROL_ID), "newbie@corp.com", flow="acme/random").status_code == 201


def test_create_invitation__invalid_email_is_400(alice) -> None:
    assert_error(
        invite(alice, "nobody@example.invalid"),
        400,
        errors.VALIDATION_ERROR,
        {"email": [errors.INVALID_EMAIL]},
    )


def test_create_invitation__a_member_of_the_flow_is_400(alice) -> None:
    assert_error(
        invite(alice, BOB["email"]), 400, errors.VALIDATION_ERROR, {"email": [errors.ALREADY_MEMBER]}
    )


def test_delete_invitation__pending_is_204_and_gone(alice) -> None:
    assert alice.delete(f"/flows/acme/dev/invitations/{DEV_PENDING}").status_code == 204
    assert alice.get("/flows/acme/dev/invitations").json() == []
    assert_error(alice.get(f"/flows/acme/dev/invitations/{DEV_PENDING}"), 404, errors.NOT_FOUND)


def test_delete_invitation__accepted_is_400(alice) -> None:
    response = alice.delete(f"/flows/acme/dev/invitations/{DEV_ACCEPTED}")
    assert_error(response, 400, errors.VALIDATION_ERROR, {"state": [errors.NOT_PENDING]})


def test_delete_invitation__by_a_plain_member_is_403(bob) -> None:
    assert_error(bob.delete(f"/flows/acme/dev/invitations/{DEV_PENDING}"), 403, errors.FLOW_ADMIN_ONLY)


def test_import_invitations__list_string_with_commas_newlines_and_names(alice) -> None:
    response = import_(alice, list='"Joe Smith" <joe@corp.com>,ann@corp.com\nMax <max@corp.com>\r\n')
    assert response.status_code == 200
    body = response.json()
    assert [i["email"] for i in body["invitations"]] == ["joe@corp.com", "ann@corp.com", "max@corp.com"]
    assert body["added_users"] == [] and body["erroneous_emails"] == []


def test_import_invitations__organization_members_join_the_flow_at_once(alice) -> None:
    body = import_(alice, list=f"{DAVE_EMAIL}, new@corp.com").json()
    assert [u["id"] for u in body["added_users"]] == [DAVE_ID]
    assert body["added_users"][0]["in_flow"] is True
    assert [i["email"] for i in body["invitations"]] == ["new@corp.com"]
    assert DAVE_ID in [u["id"] for u in alice.get("/flows/acme/dev/users").json() if u["in_flow"]]


def test_import_invitations__erroneous_emails(alice) -> None:
    body = import_(alice, list="not-an-email, test@example.invalid, ok@corp.com").json()
    assert body["erroneous_emails"] == [
        {"not-an-email": errors.INVALID_EMAIL},
        {"test@example.invalid": errors.INVALID_EMAIL},
    ]
    assert [i["email"] for i in body["invitations"]] == ["ok@corp.com"]


def test_import_invitations__the_seeds_addresses_array_too(alice) -> None:
    body = import_(alice, addresses=["a@corp.com", '"B" <b@corp.com>']).json()
    assert [i["email"] for i in body["invitations"]] == ["a@corp.com", "b@corp.com"]


def test_import_invitations__resends_instead_of_duplicating(alice) -> None:
    body = import_(alice, list="newcomer@example.com").json()
    assert [i["id"] for i in body["invitations"]] == [DEV_PENDING]


def test_import_invitations__needs_list_or_addresses(alice) -> None:
    assert_error(import_(alice, message="hi"), 400, errors.VALIDATION_ERROR)
    assert_error(import_(alice, list=" , \n"), 400, errors.VALIDATION_ERROR, {"list": [errors.BLANK]})


def test_import_invitations__by_a_plain_member_is_403(bob) -> None:
    assert_error(import_(bob, list="x@corp.com"), 403, errors.FLOW_ADMIN_ONLY)


def test_import_invitations__org_admin_without_flow_admin_may_import(alice, store) -> None:
    store.flows.find("acme", "dev").members[ALICE["id"]].flow_admin = False
    assert import_(alice, list="x@corp.com").status_code == 200
