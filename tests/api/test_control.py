"""The control API under /_mock (spec/control.yaml): state, journal, coverage, faults, admin token."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from connexion.json_schema import Draft4ResponseValidator

from mock_server import errors
from mock_server.app import create_app
from mock_server.contract import OperationIndex, load_spec
from mock_server.runtime import Runtime
from mock_server.runtime.faults import FORCED_HEADER, ResponseBook
from tests.conftest import ALICE, assert_error

MAIN = "/flows/acme/main"
ADMIN_TOKEN = "s3cret-admin"


@pytest.fixture
def runtime(app: Any, store: Any) -> Iterator[Runtime]:
    """The session app's runtime with no faults, an empty journal and zero coverage."""
    rt: Runtime = app.runtime
    rt.faults.clear()
    rt.journal.clear()
    rt.journal.clear_coverage()
    yield rt
    rt.faults.clear()


@pytest.fixture(scope="module")
def guarded_app() -> Any:
    """An app with an admin token, a three-entry journal and 30 ms of added latency."""
    return create_app(admin_token=ADMIN_TOKEN, journal_size=3, latency_ms=30)


def admin(app: Any) -> Any:
    c = app.test_client()
    c.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    return c


def post_message(client: Any, content: str = "hello from the test") -> Any:
    return client.post(f"{MAIN}/messages", json={"event": "message", "content": content})


def message_count(client: Any) -> int:
    return len(client.get(f"{MAIN}/messages", params={"limit": 100}).json())


# --- health and state ---------------------------------------------------------------------------
def test_get_health__answers_ok_without_credentials(client: Any) -> None:
    response = client.get("/_mock/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_reset_state__goes_back_to_the_seeded_world(client: Any, alice: Any, runtime: Runtime) -> None:
    before = message_count(alice)
    assert post_message(alice).status_code == 201
    assert message_count(alice) == before + 1

    response = client.post("/_mock/reset")

    assert response.status_code == 200
    assert response.json() == {"status": "reset", "seed": 20230815}
    assert message_count(alice) == before


def test_get_state__export_import_export_is_identical(client: Any, alice: Any, runtime: Runtime) -> None:
    post_message(alice, "something that changes the state")
    exported = client.get("/_mock/state").json()

    replaced = client.put("/_mock/state", json=exported)
    again = client.get("/_mock/state").json()

    assert replaced.status_code == 200
    assert replaced.json() == exported
    assert again == exported


def test_get_state__is_valid_against_the_world_schema(client: Any, alice: Any, runtime: Runtime) -> None:
    import jsonschema

    from mock_server.resources import world_schema_path

    post_message(alice)
    schema = json.loads(world_schema_path().read_text(encoding="utf-8"))
    jsonschema.validate(client.get("/_mock/state").json(), schema)


def test_get_state__with_oauth_codes_and_refresh_tokens_is_valid_and_round_trips(
    client: Any, runtime: Runtime
) -> None:
    import jsonschema

    from mock_server.resources import world_schema_path
    from mock_server.world import OAUTH_APP

    def authorize() -> str:
        params = {
            "client_id": OAUTH_APP["client_id"],
            "response_type": "code",
            "scope": "flow offline_access",
        }
        location = client.get("/oauth/authorize", params=params, follow_redirects=False).headers["location"]
        return location.split("code=")[1].split("&")[0]

    exchanged = {
        "grant_type": "authorization_code",
        "code": authorize(),
        "client_id": OAUTH_APP["client_id"],
        "client_secret": OAUTH_APP["client_secret"],
    }
    token = client.post("/oauth/token", json=exchanged, headers={"Accept": "application/json"})
    assert "refresh_token" in token.json()
    authorize()  # a code that stays unexchanged
    state = client.get("/_mock/state").json()
    assert state["oauth_codes"] and any(t["refresh_token"] for t in state["oauth_tokens"])
    jsonschema.validate(state, json.loads(world_schema_path().read_text(encoding="utf-8")))
    assert client.put("/_mock/state", json=state).status_code == 200
    assert client.get("/_mock/state").json() == state


def test_replace_state__serves_the_new_world(client: Any, alice: Any, runtime: Runtime) -> None:
    doc = client.get("/_mock/state").json()
    doc["users"][0]["name"] = "Alice Replaced"

    assert client.put("/_mock/state", json=doc).status_code == 200

    assert alice.get("/user").json()["name"] == "Alice Replaced"


def test_replace_state__then_reset_goes_back_to_the_seeded_world(
    client: Any, alice: Any, runtime: Runtime
) -> None:
    doc = client.get("/_mock/state").json()
    doc["users"][0]["name"] = "Alice Replaced"
    client.put("/_mock/state", json=doc)

    client.post("/_mock/reset")

    assert alice.get("/user").json()["name"] == ALICE["name"]


def test_replace_state__schema_violation_is_400_and_state_is_untouched(client: Any, runtime: Runtime) -> None:
    before = client.get("/_mock/state").json()
    doc = copy.deepcopy(before)
    del doc["users"][0]["api_token"]
    doc["flows"][0]["access_mode"] = "public"

    response = client.put("/_mock/state", json=doc)

    assert_error(
        response,
        400,
        errors.INVALID_WORLD,
        {
            "flows.0.access_mode": ["'public' is not one of ['invitation', 'link', 'organization']"],
            "users.0": ["'api_token' is a required property"],
        },
    )
    assert client.get("/_mock/state").json() == before


def test_replace_state__dangling_reference_is_400(client: Any, runtime: Runtime) -> None:
    doc = client.get("/_mock/state").json()
    doc["flows"][0]["members"].append({"user": 999})

    response = client.put("/_mock/state", json=doc)

    assert_error(
        response,
        400,
        errors.INVALID_WORLD,
        {"flows.0.members.5.user": ["999 is not the id of a user in this document"]},
    )


def test_replace_state__field_the_store_does_not_know_is_400(client: Any, runtime: Runtime) -> None:
    doc = client.get("/_mock/state").json()
    doc["users"][0]["shoe_size"] = 44

    response = client.put("/_mock/state", json=doc)

    assert response.status_code == 400
    assert response.json()["message"] == errors.INVALID_WORLD
    assert "shoe_size" in response.json()["errors"]["users.0"][0]  # the schema names the entry


def test_replace_state__without_users_is_400(client: Any, runtime: Runtime) -> None:
    response = client.put("/_mock/state", json={"organizations": [], "flows": []})

    assert_error(response, 400, errors.VALIDATION_ERROR, {"users": [errors.BLANK]})


# --- journal ------------------------------------------------------------------------------------
def test_list_requests__records_method_path_operation_status_and_user(
    alice: Any, client: Any, runtime: Runtime
) -> None:
    alice.get("/flows")

    entries = client.get("/_mock/requests").json()["requests"]

    assert len(entries) == 1
    entry = entries[0]
    assert {k: entry[k] for k in ("method", "path", "operationId", "status", "user_id", "forced")} == {
        "method": "GET",
        "path": "/flows",
        "operationId": "listFlows",
        "status": 200,
        "user_id": ALICE["id"],
        "forced": None,
    }
    assert entry["duration_ms"] > 0
    assert entry["normalizations"] == []
    assert entry["violations"] == []
    flows = alice.get("/flows")
    assert entry["response"] == {
        "content_type": flows.headers["content-type"],
        "size": len(flows.content),
    }


def test_list_requests__redacts_credentials(client: Any, alice: Any, runtime: Runtime) -> None:
    alice.get("/flows", params={"access_token": "leaked-token", "users": "1"})
    client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "alice@example.com", "password": "flowdock"},
    )

    text = client.get("/_mock/requests").text
    first, second = json.loads(text)["requests"]

    assert ALICE["api_token"] not in text
    assert "leaked-token" not in text
    assert "flowdock" not in text.replace("flowdock-mock", "").replace("flowdock_mock", "")
    assert first["headers"]["authorization"] == "Basic [redacted]"
    assert first["query"] == "access_token=[redacted]&users=1"
    assert second["body"] == "grant_type=password&username=alice%40example.com&password=[redacted]"


def test_list_requests__keeps_json_bodies_with_secrets_redacted(
    alice: Any, client: Any, runtime: Runtime
) -> None:
    post_message(alice, "body kept")

    entry = client.get("/_mock/requests").json()["requests"][0]

    assert entry["operationId"] == "sendFlowMessage"
    assert entry["body"] == {"event": "message", "content": "body kept"}


def test_list_requests__does_not_journal_control_routes(client: Any, runtime: Runtime) -> None:
    client.get("/_mock/health")
    client.get("/_mock/state")

    assert client.get("/_mock/requests").json()["requests"] == []


def test_list_requests__records_contract_violations(alice: Any, client: Any, runtime: Runtime) -> None:
    alice.get(f"{MAIN}/messages", params={"limit": 0})

    entry = client.get("/_mock/requests").json()["requests"][0]

    assert entry["status"] == 400
    assert entry["operationId"] == "listFlowMessages"
    assert entry["violations"] and "limit" in entry["violations"][0]


def test_list_requests__records_legacy_normalisations_and_the_path_as_sent(
    alice: Any, client: Any, runtime: Runtime
) -> None:
    alice.get("/flows/")

    entry = client.get("/_mock/requests").json()["requests"][0]

    assert (entry["path"], entry["operationId"], entry["status"]) == ("/flows/", "listFlows", 200)
    assert entry["normalizations"] == [errors.RULE_TRAILING_SLASH]


def test_list_requests__limit_keeps_the_most_recent(alice: Any, client: Any, runtime: Runtime) -> None:
    alice.get("/flows")
    alice.get("/user")

    entries = client.get("/_mock/requests", params={"limit": 1}).json()["requests"]

    assert [e["operationId"] for e in entries] == ["getCurrentUser"]


def test_clear_requests__empties_the_journal(alice: Any, client: Any, runtime: Runtime) -> None:
    alice.get("/flows")

    assert client.delete("/_mock/requests").status_code == 204

    assert client.get("/_mock/requests").json()["requests"] == []


def test_journal__is_a_ring_of_the_configured_size(guarded_app: Any) -> None:
    c = guarded_app.test_client()
    c.auth = (ALICE["api_token"], "")
    for path in ("/flows", "/user", "/users", "/organizations", "/flows/all"):
        c.get(path)

    body = admin(guarded_app).get("/_mock/requests").json()

    assert body["size"] == 3
    assert [e["path"] for e in body["requests"]] == ["/users", "/organizations", "/flows/all"]


def test_latency_ms__delays_every_flowdock_request(guarded_app: Any) -> None:
    c = guarded_app.test_client()
    started = time.perf_counter()
    c.get("/user")

    assert time.perf_counter() - started >= 0.03
    assert admin(guarded_app).get("/_mock/requests").json()["requests"][-1]["duration_ms"] >= 30


# --- coverage -----------------------------------------------------------------------------------
def test_get_coverage__counts_calls_and_statuses_per_operation(
    alice: Any, client: Any, runtime: Runtime
) -> None:
    alice.get("/flows")
    alice.get("/flows")
    alice.get("/flows/acme/secret")

    coverage = client.get("/_mock/coverage").json()
    by_op = {op["operationId"]: op for op in coverage["operations"]}

    assert by_op["listFlows"]["calls"] == 2
    assert by_op["listFlows"]["statuses"] == {"200": 2}
    assert by_op["getFlow"]["statuses"] == {"404": 1}
    assert by_op["createFlow"]["calls"] == 0
    assert coverage["operations_exercised"] == 2
    assert coverage["requests"] == 3


def test_get_coverage__lists_every_operation_of_the_flowdock_contract(client: Any, runtime: Runtime) -> None:
    spec = load_spec()
    expected = [
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    ]

    coverage = client.get("/_mock/coverage").json()

    assert [op["operationId"] for op in coverage["operations"]] == expected
    assert coverage["operations_total"] == len(expected)


def test_get_coverage__lists_requests_that_violated_the_contract(
    alice: Any, client: Any, runtime: Runtime
) -> None:
    alice.get(f"{MAIN}/messages", params={"limit": 0})
    alice.get("/flows")

    coverage = client.get("/_mock/coverage").json()
    by_op = {op["operationId"]: op for op in coverage["operations"]}

    assert by_op["listFlowMessages"]["violations"] == 1
    assert [v["path"] for v in coverage["violations"]] == [f"{MAIN}/messages"]


def test_get_coverage__counts_requests_that_matched_no_operation(
    alice: Any, client: Any, runtime: Runtime
) -> None:
    alice.get("/no/such/path")

    assert client.get("/_mock/coverage").json()["unmatched_requests"] == 1


def test_get_coverage_report__is_a_readable_html_page(alice: Any, client: Any, runtime: Runtime) -> None:
    alice.get("/flows")

    response = client.get("/_mock/report")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<code>listFlows</code>" in response.text
    assert "<code>createFlow</code>" in response.text
    assert "1 of " in response.text


def test_clear_coverage__zeroes_the_counters(alice: Any, client: Any, runtime: Runtime) -> None:
    alice.get("/flows")

    assert client.delete("/_mock/coverage").status_code == 204

    assert client.get("/_mock/coverage").json()["requests"] == 0


# --- Prefer: code=NNN ---------------------------------------------------------------------------
def test_prefer_code__error_status_answers_a_flowdock_error(alice: Any, runtime: Runtime) -> None:
    response = alice.get("/flows", headers={"Prefer": "code=503"})

    assert_error(
        response, 503, "Service Unavailable", {"base": ["forced by flowdock-mock (Prefer: code=503)"]}
    )
    assert response.headers["retry-after"] == "1"
    assert response.headers[FORCED_HEADER] == "Prefer: code=503"


def test_prefer_code__declared_error_status_uses_the_mock_s_own_message(alice: Any, runtime: Runtime) -> None:
    response = alice.get("/flows", headers={"Prefer": "code=401"})

    assert_error(response, 401, errors.AUTHENTICATION_REQUIRED)
    assert response.headers["www-authenticate"].startswith("Basic")


def test_prefer_code__forced_request_never_reaches_the_store(alice: Any, runtime: Runtime) -> None:
    before = message_count(alice)

    response = alice.post(
        f"{MAIN}/messages", json={"event": "message", "content": "x"}, headers={"Prefer": "code=500"}
    )

    assert response.status_code == 500
    assert message_count(alice) == before


def test_prefer_code__declared_success_status_answers_a_conformant_body(alice: Any, runtime: Runtime) -> None:
    # The session app validates responses: a body that broke the schema would be a 500 here.
    response = alice.post(
        f"{MAIN}/messages", json={"event": "message", "content": "x"}, headers={"Prefer": "code=201"}
    )

    assert response.status_code == 201
    assert response.headers[FORCED_HEADER] == "Prefer: code=201"
    assert {"id", "event"} <= set(response.json())


def test_prefer_code__undeclared_success_status_is_400_explaining(alice: Any, runtime: Runtime) -> None:
    response = alice.get("/flows", headers={"Prefer": "code=201"})

    assert response.status_code == 400
    assert response.json()["message"] == errors.VALIDATION_ERROR
    assert response.json()["errors"]["status"][0].startswith("201 is not a response listFlows declares")


def test_prefer_code__applies_after_authentication(client: Any, runtime: Runtime) -> None:
    response = client.get("/flows", headers={"Prefer": "code=503"})

    assert_error(response, 401, errors.AUTHENTICATION_REQUIRED)


def test_prefer_code__is_journaled_as_forced(alice: Any, client: Any, runtime: Runtime) -> None:
    alice.get("/flows", headers={"Prefer": "code=404"})

    assert client.get("/_mock/requests").json()["requests"][0]["forced"] == "prefer:404"


BOOK = ResponseBook(OperationIndex(load_spec()))
DECLARED = [
    (op_id, int(status))
    for op_id, responses in BOOK.operations.items()
    for status in responses
    if status.isdigit() and int(status) < 400
]


@pytest.mark.parametrize(("operation_id", "status"), DECLARED, ids=[f"{o}-{s}" for o, s in DECLARED])
def test_prefer_code__every_declared_success_status_is_conformant_or_explained(
    operation_id: str, status: int
) -> None:
    forced = BOOK.forced(operation_id, status, "test")

    if forced.status == 400:  # no conformant body can be produced: the 400 says why
        assert forced.body["errors"]["status"][0]
        return
    assert forced.status == status
    declared = BOOK.deref(BOOK.operations[operation_id][str(status)])
    content = declared.get("content") or {}
    if not content:
        assert forced.body is None
        return
    schema = yaml.safe_load(json.dumps(BOOK.deref(content["application/json"]["schema"])))
    Draft4ResponseValidator(_inline(schema)).validate(forced.body)


def _inline(node: Any, depth: int = 0) -> Any:
    """The schema with every $ref replaced by its target (the spec has no recursive schemas)."""
    assert depth < 30
    node = BOOK.deref(node)
    if isinstance(node, dict):
        return {k: _inline(v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, depth + 1) for v in node]
    return node


# --- faults -------------------------------------------------------------------------------------
def test_replace_faults__forces_the_status_of_an_operation(alice: Any, client: Any, runtime: Runtime) -> None:
    table = {"faults": {"listFlows": {"status": 502}}}

    response = client.put("/_mock/faults", json=table)

    assert response.status_code == 200
    assert response.json() == {
        "seed": 20230815,
        "faults": {"listFlows": {"status": 502, "latency_ms": 0, "probability": 1.0}},
        "streams": {"stall_remaining_s": 0, "refuse_remaining_s": 0, "cut_pending": 0},
    }
    assert_error(alice.get("/flows"), 502, "Bad Gateway")
    assert alice.get("/user").status_code == 200


def test_replace_faults__probability_draws_are_seeded(alice: Any, client: Any, runtime: Runtime) -> None:
    table = {"seed": 7, "faults": {"listFlows": {"status": 500, "probability": 0.5}}}

    client.put("/_mock/faults", json=table)
    first = [alice.get("/flows").status_code for _ in range(12)]
    client.put("/_mock/faults", json=table)
    second = [alice.get("/flows").status_code for _ in range(12)]

    assert first == second
    assert set(first) == {200, 500}


def test_replace_faults__adds_latency(alice: Any, client: Any, runtime: Runtime) -> None:
    client.put("/_mock/faults", json={"faults": {"getCurrentUser": {"latency_ms": 50}}})

    started = time.perf_counter()
    response = alice.get("/user")

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.05


def test_replace_faults__unknown_operation_is_400(client: Any, runtime: Runtime) -> None:
    response = client.put("/_mock/faults", json={"faults": {"listFlowz": {"status": 500}}})

    assert_error(response, 400, errors.VALIDATION_ERROR, {"faults.listFlowz": [errors.NOT_AN_OPERATION]})


def test_replace_faults__status_that_cannot_be_produced_is_400(client: Any, runtime: Runtime) -> None:
    response = client.put("/_mock/faults", json={"faults": {"listFlows": {"status": 201}}})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["faults.listFlows.status"]


def test_replace_faults__probability_above_one_is_400(client: Any, runtime: Runtime) -> None:
    response = client.put("/_mock/faults", json={"faults": {"listFlows": {"probability": 2}}})

    assert response.status_code == 400
    assert response.json()["message"] == errors.VALIDATION_ERROR


def test_get_faults__returns_the_table(client: Any, runtime: Runtime) -> None:
    client.put("/_mock/faults", json={"seed": 3, "faults": {"getUser": {"status": 404, "probability": 0.25}}})

    assert client.get("/_mock/faults").json() == {
        "seed": 3,
        "faults": {"getUser": {"status": 404, "latency_ms": 0, "probability": 0.25}},
        "streams": {"stall_remaining_s": 0, "refuse_remaining_s": 0, "cut_pending": 0},
    }


def test_clear_faults__removes_every_fault(alice: Any, client: Any, runtime: Runtime) -> None:
    client.put("/_mock/faults", json={"faults": {"listFlows": {"status": 500}}})

    assert client.delete("/_mock/faults").status_code == 204

    assert alice.get("/flows").status_code == 200
    assert client.get("/_mock/faults").json()["faults"] == {}


# --- admin token --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_mock/state"),
        ("POST", "/_mock/reset"),
        ("GET", "/_mock/requests"),
        ("GET", "/_mock/coverage"),
        ("GET", "/_mock/report"),
        ("PUT", "/_mock/faults"),
        ("GET", "/_mock/openapi.json"),
    ],
)
def test_admin_token__guards_the_control_api(guarded_app: Any, method: str, path: str) -> None:
    response = guarded_app.test_client().request(method, path)

    assert_error(response, 401, errors.ADMIN_TOKEN_REQUIRED, {"authorization": [errors.ADMIN_TOKEN_HINT]})
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_admin_token__wrong_token_is_401(guarded_app: Any) -> None:
    c = guarded_app.test_client()

    response = c.get("/_mock/state", headers={"Authorization": "Bearer not-it"})

    assert_error(response, 401, errors.ADMIN_TOKEN_REQUIRED)


def test_admin_token__right_token_passes(guarded_app: Any) -> None:
    assert admin(guarded_app).get("/_mock/state").status_code == 200


def test_admin_token__health_stays_open(guarded_app: Any) -> None:
    assert guarded_app.test_client().get("/_mock/health").status_code == 200


def test_admin_token__does_not_touch_flowdock_routes(guarded_app: Any) -> None:
    c = guarded_app.test_client()
    c.auth = (ALICE["api_token"], "")

    assert c.get("/user").status_code == 200


def test_replace_state__a_flow_member_outside_the_flows_organization_is_400(
    client: Any, runtime: Runtime
) -> None:
    doc = client.get("/_mock/state").json()
    org = next(o for o in doc["organizations"] if o["id"] == doc["flows"][0]["organization_id"])
    outsider = next(u["id"] for u in doc["users"] if u["id"] not in {m["user"] for m in org["members"]})
    doc["flows"][0]["members"].append({"user": outsider})

    response = client.put("/_mock/state", json=doc)

    place = f"flows.0.members.{len(doc['flows'][0]['members']) - 1}.user"
    assert_error(
        response,
        400,
        errors.INVALID_WORLD,
        {place: [f"{outsider!r} is not a member of the flow's organization"]},
    )


def test_replace_state__a_threads_initial_message_must_be_a_message_of_the_thread(
    client: Any, runtime: Runtime
) -> None:
    doc = client.get("/_mock/state").json()
    thread = doc["threads"][0]
    other = next(
        m
        for m in doc["messages"]
        if m["flow"] == thread["flow"] and m.get("thread_id") not in (None, thread["id"])
    )
    doc["threads"][0] = {**thread, "initial_message": other["id"]}
    doc["threads"][1] = {**doc["threads"][1], "initial_message": 99999}

    response = client.put("/_mock/state", json=doc)

    assert_error(
        response,
        400,
        errors.INVALID_WORLD,
        {
            "threads.0.initial_message": [f"message {other['id']!r} is not in this thread"],
            "threads.1.initial_message": ["99999 is not the id of a message of this thread's flow"],
        },
    )


def test_delete_message__the_threads_initial_message_moves_on_and_the_state_still_loads(
    alice: Any, client: Any, runtime: Runtime
) -> None:
    upload = {
        "event": "file",
        "content": {"data": "aGk=", "content_type": "text/plain", "file_name": "a.txt"},
    }
    first = alice.post("/flows/acme/main/messages", json=upload).json()
    reply = alice.post(
        "/flows/acme/main/messages",
        json={"event": "message", "content": "re", "thread_id": first["thread_id"]},
    ).json()
    assert alice.delete(f"/flows/acme/main/messages/{first['id']}").status_code == 204

    thread = alice.get(f"/flows/acme/main/threads/{first['thread_id']}").json()
    assert thread["initial_message"] == reply["id"]
    assert client.put("/_mock/state", json=client.get("/_mock/state").json()).status_code == 200
