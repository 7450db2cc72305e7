"""Python's ``True``/``False``, as published migration scripts and streaming clients send them:
accepted (and journaled as a legacy form) in lenient mode wherever ``true``/``1`` are, refused in
strict mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mock_server import errors
from mock_server.app import create_app
from tests.conftest import ALICE, BOB
from tests.stream.conftest import Opener, basic

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def normalizations(app: Any) -> list[str]:
    entries = app.test_client().get("/_mock/requests", params={"limit": 1}).json()["requests"]
    return list(entries[-1].get("normalizations") or [])


def test_put_flow_form_open_true_joins_in_lenient_mode(app: Any, alice: Any) -> None:
    # Random is an organization flow alice has not joined: the migration script's open=True joins it
    r = alice.put("/flows/acme/random", content="open=True", headers=FORM)
    assert r.status_code == 200, r.text
    assert r.json()["joined"] is True and r.json()["open"] is True
    assert errors.RULE_BOOLEAN in normalizations(app)  # journaled: not the contract's spelling


def test_put_flow_form_open_false_closes(alice: Any) -> None:
    r = alice.put("/flows/acme/main", content="open=False", headers=FORM)
    assert r.status_code == 200 and r.json()["open"] is False


def test_a_forms_own_lower_case_true_is_no_legacy_form(app: Any, alice: Any) -> None:
    alice.put("/flows/acme/main", content="open=true", headers=FORM)
    assert errors.RULE_BOOLEAN not in normalizations(app)


def test_json_string_true_is_coerced_in_lenient_mode(alice: Any) -> None:
    r = alice.put("/flows/acme/main", json={"open": "False"})
    assert r.status_code == 200 and r.json()["open"] is False


def test_query_users_true_in_lenient_mode(app: Any, alice: Any) -> None:
    r = alice.get("/flows", params={"users": "True"})
    assert r.status_code == 200 and all("users" in flow for flow in r.json())
    assert errors.RULE_BOOLEAN in normalizations(app)
    assert all("users" not in flow for flow in alice.get("/flows", params={"users": "False"}).json())


@pytest.fixture(scope="module")
def strict_app() -> Any:
    return create_app(strict=True)


@pytest.mark.parametrize("value", ["True", "False"])
def test_strict_mode_refuses_python_booleans(strict_app: Any, value: str) -> None:
    c = strict_app.test_client()
    c.auth = (strict_app.store.users.by_id[ALICE["id"]].api_token, "")
    r = c.put("/flows/acme/main", json={"open": value})
    assert r.status_code == 400
    assert (
        f"must be a boolean, not {json.dumps(value)} (rule: {errors.RULE_BOOLEAN})"
        in r.json()["errors"]["open"]
    )
    r = c.get("/flows", params={"users": value})
    assert r.status_code == 400 and errors.RULE_BOOLEAN in r.json()["errors"]["users"][0]
    r = c.put("/flows/acme/main", content=f"open={value}", headers=FORM)  # the migration script's form
    assert r.status_code == 400 and errors.RULE_BOOLEAN in json.dumps(r.json()), r.text


def test_stream_active_true_in_lenient_mode() -> None:
    from tests.clients.conftest import serve

    with serve(create_app(stream_keepalive=30)) as server:
        opener = Opener(server)
        watcher = opener(BOB["id"], filter="acme/main")
        opener(ALICE["id"], filter="acme/main", active="True")
        presence = watcher.wait_for(lambda e: e.get("event") == "activity.user")
        assert presence["user"] == str(ALICE["id"])
        for stream in opener.opened:
            stream.close()


def test_stream_active_true_is_refused_in_strict_mode() -> None:
    from tests.clients.conftest import serve

    with serve(create_app(strict=True, stream_keepalive=30)) as server:
        opener = Opener(server)
        conn, response = opener.request(
            "/stream/flows",
            {"Authorization": basic(server.token(ALICE["id"]))},
            filter="acme/main",
            active="True",
        )
        body = json.loads(response.read())
        conn.close()
        assert response.status == 400, body
        assert body["errors"]["active"] == [f'must be true, not "True" (rule: {errors.RULE_BOOLEAN})']
