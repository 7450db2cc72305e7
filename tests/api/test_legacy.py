"""Legacy client forms (docs/flowdock.md §1.1-1.3, §8): accepted in compatible mode, refused in strict mode.

Each form is one test, parametrized over the two modes: compatible (the default app) must answer
as if the client had sent the contract's canonical request; strict (``create_app(strict=True)``)
must refuse it with 400 in Flowdock's shape, naming the rule. The last section runs the normaliser
alone around a capturing app, to pin exactly what Connexion and the handlers receive and what is
recorded in ``scope["flowdock"]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server import errors
from mock_server.app import create_app
from mock_server.contract import OperationIndex, load_spec
from mock_server.middleware.exchange import Exchange
from mock_server.middleware.normalize import Normalize, SpecIndex
from mock_server.store.oauth import AccessToken
from tests.conftest import ALICE, BOB, CAROL_ID, assert_error

ORIGIN = "https://app.example.com"


def refusal(rule: str, *detail: str) -> str:
    """What strict mode says for a broken rule (errors.LEGACY_RULE_TEXTS + the rule's name)."""
    return f"{errors.LEGACY_RULE_TEXTS[rule].format(*detail)} (rule: {rule})"


@pytest.fixture(scope="module")
def strict_app() -> Any:
    """One strict-mode app for the module (building an app costs ~0.3 s)."""
    return create_app(strict=True)


@pytest.fixture(params=["compatible", "strict"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def mode_app(mode: str, app: Any, strict_app: Any) -> Iterator[Any]:
    """The app of the current mode, its store reset to the seeded world."""
    chosen = strict_app if mode == "strict" else app
    chosen.store.reset()
    yield chosen


@pytest.fixture
def legacy(mode_app: Any) -> Any:
    """Alice's client on the current mode's app."""
    c = mode_app.test_client()
    c.auth = (mode_app.store.users.by_id[ALICE["id"]].api_token, "")
    return c


def expect(mode: str, response: Any, status: int, refused: dict[str, list[str]]) -> None:
    """Compatible: ``status``. Strict: 400 Validation error with exactly ``refused``."""
    if mode == "strict":
        assert_error(response, 400, errors.VALIDATION_ERROR, refused)
    else:
        assert response.status_code == status, response.text


def _post_message(c: Any, **fields: Any) -> Any:
    return c.post("/flows/acme/main/messages", json={"event": "message", "content": "hello", **fields})


# --- paths ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["/v1", "/v2"])
def test_list_flows__version_prefix(mode: str, legacy: Any, prefix: str) -> None:
    response = legacy.get(f"{prefix}/flows")
    expect(
        mode, response, 200, {"path": [f"{prefix} prefix is not part of the contract (rule: version-prefix)"]}
    )
    if mode == "compatible":
        assert {f["parameterized_name"] for f in response.json()} == {"main", "dev", "support"}


def test_list_flows__doubled_slashes(mode: str, legacy: Any) -> None:
    # aioflowdock joins url + "/" + "/flows"; a full URL keeps the client from reading //flows as a host.
    response = legacy.get("http://testserver//flows")
    expect(mode, response, 200, {"path": [refusal(errors.RULE_DOUBLE_SLASH)]})


def test_list_users__trailing_slash(mode: str, legacy: Any) -> None:
    response = legacy.get("/users/")
    expect(mode, response, 200, {"path": [refusal(errors.RULE_TRAILING_SLASH)]})


@pytest.mark.parametrize("path", ["/flows.json", "/flows/acme/main.json"])
def test_get_flow__json_suffix(mode: str, legacy: Any, path: str) -> None:
    response = legacy.get(path)
    expect(mode, response, 200, {"path": [refusal(errors.RULE_JSON_SUFFIX)]})


def test_get_user__every_path_rule_at_once(mode: str, legacy: Any) -> None:
    response = legacy.get("http://testserver//v1/users/1.json/")
    expect(
        mode,
        response,
        200,
        {
            "path": [
                refusal(errors.RULE_DOUBLE_SLASH),
                refusal(errors.RULE_VERSION_PREFIX, "/v1"),
                refusal(errors.RULE_TRAILING_SLASH),
                refusal(errors.RULE_JSON_SUFFIX),
            ]
        },
    )
    if mode == "compatible":
        assert response.json()["id"] == ALICE["id"]


def test_version_prefix_on_an_unknown_path_is_404_in_both_modes(legacy: Any) -> None:
    assert_error(legacy.get("/v1/no/such/thing"), 404, errors.NOT_FOUND)


# --- methods -------------------------------------------------------------------------------------
def test_update_user__patch_is_put(mode: str, legacy: Any) -> None:
    response = legacy.patch(f"/users/{ALICE['id']}", json={"name": "Alice Patched"})
    if mode == "strict":  # the contract's answer to a method it does not list, naming the rule
        assert_error(
            response, 405, errors.METHOD_NOT_ALLOWED, {"method": [refusal(errors.RULE_PATCH_AS_PUT)]}
        )
        assert response.headers["Allow"] == "GET, PUT"
        assert legacy.get(f"/users/{ALICE['id']}").json()["name"] != "Alice Patched"
        return
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert legacy.get(f"/users/{ALICE['id']}").json()["name"] == "Alice Patched"


def test_update_flow__strict_patch_with_another_rule_is_still_405(strict_app: Any) -> None:
    c = strict_app.test_client()
    c.auth = (strict_app.store.users.by_id[ALICE["id"]].api_token, "")
    response = c.patch("/v1/flows/acme/main", json={"open": True})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PUT"
    assert set(response.json()["errors"]) == {"path", "method"}


def test_patch_where_no_put_exists_is_still_405(legacy: Any) -> None:
    assert_error(legacy.patch("/flows", json={}), 405, errors.METHOD_NOT_ALLOWED)


# --- where parameters come from ------------------------------------------------------------------
def test_update_user__form_encoded_body(mode: str, legacy: Any) -> None:
    response = legacy.put(f"/users/{ALICE['id']}", data={"name": "Alice Form"})
    expect(mode, response, 200, {"body": [refusal(errors.RULE_FORM_BODY)]})
    if mode == "compatible":
        assert legacy.get(f"/users/{ALICE['id']}").json()["name"] == "Alice Form"


def test_create_flow__multipart_body_without_a_file(mode: str, legacy: Any) -> None:
    # The R client sends writes as multipart form data; (None, value) makes a plain form field.
    response = legacy.post("/flows/acme", files={"name": (None, "Multipart Flow")})
    expect(mode, response, 201, {"body": [refusal(errors.RULE_MULTIPART_BODY)]})
    if mode == "compatible":
        assert response.json()["parameterized_name"] == "multipart-flow"


def test_send_flow_message__multipart_message(mode: str, legacy: Any) -> None:
    response = legacy.post(
        "/flows/acme/main/messages", files={"event": (None, "message"), "content": (None, "from R")}
    )
    expect(mode, response, 201, {"body": [refusal(errors.RULE_MULTIPART_BODY)]})
    if mode == "compatible":
        assert response.json()["content"] == "from R"


def test_create_flow__query_parameters_and_empty_body(mode: str, legacy: Any) -> None:
    # go-flowdock: every parameter in the query string, an empty body and no Content-Type.
    response = legacy.post("/flows/acme?name=Go+Flow")
    expect(mode, response, 201, {"name": [refusal(errors.RULE_QUERY_TO_BODY)]})
    if mode == "compatible":
        assert response.json()["name"] == "Go Flow"


def test_update_flow_user__query_parameters_are_typed_by_the_spec(mode: str, legacy: Any) -> None:
    response = legacy.put(f"/flows/acme/main/users/{CAROL_ID}?disabled=true")
    expect(mode, response, 200, {"disabled": [refusal(errors.RULE_QUERY_TO_BODY)]})


def test_list_flow_messages__json_body_on_get(mode: str, legacy: Any) -> None:
    # flowdock-api-wrapper sends the filters of a list as a JSON body on the GET.
    response = legacy.request("GET", "/flows/acme/main/messages", json={"limit": 1})
    expect(mode, response, 200, {"body": [refusal(errors.RULE_BODY_TO_QUERY, "GET")]})
    if mode == "compatible":
        assert len(response.json()) == 1


def test_list_flow_messages__query_string_wins_over_a_get_body(legacy: Any, mode: str) -> None:
    response = legacy.request("GET", "/flows/acme/main/messages?limit=2", json={"limit": 1})
    if mode == "compatible":
        assert len(response.json()) == 2


def test_remove_user_from_flow__json_body_on_delete(mode: str, legacy: Any) -> None:
    response = legacy.request("DELETE", f"/flows/acme/main/users/{CAROL_ID}", json={"reason": "legacy"})
    expect(mode, response, 204, {"body": [refusal(errors.RULE_BODY_TO_QUERY, "DELETE")]})


@pytest.mark.parametrize("body", [b'{"name": "Alice Bare"}', b"name=Alice+Bare"], ids=["json", "form"])
def test_update_user__no_content_type(mode: str, legacy: Any, body: bytes) -> None:
    response = legacy.put(f"/users/{ALICE['id']}", content=body)
    assert "content-type" not in response.request.headers
    expect(mode, response, 200, {"content_type": [refusal(errors.RULE_NO_CONTENT_TYPE)]})
    if mode == "compatible":
        assert legacy.get(f"/users/{ALICE['id']}").json()["name"] == "Alice Bare"


# --- value spellings -----------------------------------------------------------------------------
def test_send_flow_message__tags_as_a_comma_string(mode: str, legacy: Any) -> None:
    response = _post_message(legacy, tags="deploy, prod")
    expect(mode, response, 201, {"tags": [refusal(errors.RULE_TAGS_STRING)]})
    if mode == "compatible":
        assert {"deploy", "prod"} <= set(response.json()["tags"])


def test_send_flow_message__null_optional_fields_are_dropped(mode: str, legacy: Any) -> None:
    # flowdock-api-wrapper sends "tags": null, "thread_id": null on every post.
    response = _post_message(legacy, tags=None, thread_id=None)
    expect(
        mode,
        response,
        201,
        {"tags": [refusal(errors.RULE_NULL_OPTIONAL)], "thread_id": [refusal(errors.RULE_NULL_OPTIONAL)]},
    )
    if mode == "compatible":
        assert response.json()["content"] == "hello"


def test_send_flow_message__null_for_a_required_field_is_a_validation_error(legacy: Any) -> None:
    response = legacy.post("/flows/acme/main/messages", json={"event": None, "content": "hello"})
    assert_error(response, 400, errors.VALIDATION_ERROR)


@pytest.mark.parametrize(("sent", "spelled"), [(0, "0"), (1, "1"), ("false", '"false"'), ("1", '"1"')])
def test_update_flow__boolean_spellings(mode: str, legacy: Any, sent: Any, spelled: str) -> None:
    response = legacy.put("/flows/acme/main", json={"open": sent})
    expect(mode, response, 200, {"open": [refusal(errors.RULE_BOOLEAN, "a boolean", spelled)]})
    if mode == "compatible":
        assert response.json()["open"] is (sent in (1, "1"))


def test_update_flow__form_true_is_simply_true(mode: str, legacy: Any) -> None:
    response = legacy.put("/flows/acme/main", data={"open": "false"})
    expect(mode, response, 200, {"body": [refusal(errors.RULE_FORM_BODY)]})
    if mode == "compatible":
        assert response.json()["open"] is False


@pytest.mark.parametrize(("sent", "included"), [("true", True), ("false", False)])
def test_list_flows__users_true_for_integer_enum(mode: str, legacy: Any, sent: str, included: bool) -> None:
    # hubot-flowdock asks /flows?users=1; scripts write users=true where the spec says 0 or 1.
    response = legacy.get(f"/flows?users={sent}")
    expect(mode, response, 200, {"users": [refusal(errors.RULE_BOOLEAN, "0 or 1", f'"{sent}"')]})
    if mode == "compatible":
        assert ("users" in response.json()[0]) is included


def test_list_flows__canonical_request_is_untouched_in_both_modes(legacy: Any) -> None:
    response = legacy.get("/flows?users=1")
    assert response.status_code == 200
    assert "users" in response.json()[0]


# --- credentials and headers ---------------------------------------------------------------------
@pytest.fixture
def access_token(mode_app: Any) -> str:
    mode_app.store.oauth.tokens["legacy-token"] = AccessToken(
        token="legacy-token", user_id=BOB["id"], application_id=1, scopes=["flow", "private"]
    )
    return "legacy-token"


def test_list_flows__access_token_query_parameter_in_both_modes(mode_app: Any, access_token: str) -> None:
    response = mode_app.test_client().get(f"/flows?access_token={access_token}")
    assert response.status_code == 200, response.text
    assert response.headers["Flowdock-User"] == str(BOB["id"])


def test_access_token_does_not_override_an_authorization_header(mode_app: Any, access_token: str) -> None:
    c = mode_app.test_client()
    c.auth = (mode_app.store.users.by_id[ALICE["id"]].api_token, "")
    response = c.get(f"/flows?access_token={access_token}")
    assert response.headers["Flowdock-User"] == str(ALICE["id"])


def test_bad_access_token_is_401(mode_app: Any) -> None:
    assert_error(mode_app.test_client().get("/flows?access_token=nope"), 401, errors.INVALID_CREDENTIALS)


def test_flowdock_user_header_on_authenticated_responses(legacy: Any) -> None:
    assert legacy.get("/flows").headers["Flowdock-User"] == str(ALICE["id"])


def test_cors__preflight_is_answered_for_any_path(mode_app: Any) -> None:
    response = mode_app.test_client().options(
        "/no/such/path", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "POST, PUT, PATCH, DELETE, GET, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == (
        "Origin, Accept, Content-type, Authorization, X-CSRF-Token, X-Requested-With, X-Prototype-Version"
    )


def test_cors__origin_is_echoed_on_responses_errors_included(legacy: Any) -> None:
    ok = legacy.get("/flows", headers={"Origin": ORIGIN})
    missing = legacy.get("/no/such/path", headers={"Origin": ORIGIN})
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_cors__no_origin_no_cors_headers(legacy: Any) -> None:
    assert "Access-Control-Allow-Origin" not in legacy.get("/flows").headers


def test_strict_refusals_carry_cors_headers(strict_app: Any) -> None:
    response = strict_app.test_client().get("/v1/flows", headers={"Origin": ORIGIN})
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_create_app__strict_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDOCK_MOCK_STRICT", "1")
    response = create_app().test_client().get("/v1/flows")
    assert_error(
        response, 400, errors.VALIDATION_ERROR, {"path": [refusal(errors.RULE_VERSION_PREFIX, "/v1")]}
    )


# --- what the normaliser hands on, and what it records -------------------------------------------
@pytest.fixture(scope="module")
def index() -> SpecIndex:
    return SpecIndex(OperationIndex(load_spec()))


Seen = dict[str, Any]


@pytest.fixture
def through(index: SpecIndex) -> Callable[..., tuple[Seen, dict[str, Any]]]:
    """``through(method, url, strict=False, **request)`` -> (the request as the app saw it, state)."""

    def run(method: str, url: str, *, strict: bool = False, **request: Any) -> tuple[Seen, dict[str, Any]]:
        seen: Seen = {}
        state: dict[str, Any] = {}

        async def capture(scope: dict[str, Any], receive: Any, send: Any) -> None:
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            seen.update(
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"].decode(),
                headers={k.decode(): v.decode() for k, v in scope["headers"]},
                body=b"".join(chunks),
            )
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        stage = Normalize(index=index, strict=strict)

        async def with_state(scope: dict[str, Any], receive: Any, send: Any) -> None:
            x = Exchange(scope, receive, send)
            state.update(x.state)
            x.state = state
            answer = await stage.run(x)
            if answer is not None:
                await answer.send(send)
                return
            await capture(x.scope, x.receive, x.send)

        response = TestClient(with_state).request(method, url, **request)  # no lifespan
        seen["status"] = response.status_code
        return seen, state

    return run


def test_normaliser__canonical_request_passes_untouched(through: Callable[..., Any]) -> None:
    seen, state = through("GET", "/flows?users=1")
    assert (seen["path"], seen["query"]) == ("/flows", "users=1")
    assert state == {"normalizations": [], "violations": []}


def test_normaliser__records_rules_and_violations(through: Callable[..., Any]) -> None:
    seen, state = through("PATCH", "/v1/flows/acme/main/messages/3", json={"tags": "a,b", "content": None})
    assert (seen["method"], seen["path"]) == ("PUT", "/flows/acme/main/messages/3")
    assert json.loads(seen["body"]) == {"tags": ["a", "b"]}
    assert state["normalizations"] == [
        errors.RULE_VERSION_PREFIX,
        errors.RULE_PATCH_AS_PUT,
        errors.RULE_TAGS_STRING,
        errors.RULE_NULL_OPTIONAL,
    ]
    assert state["violations"] == [
        f"path: {refusal(errors.RULE_VERSION_PREFIX, '/v1')}",
        f"method: {refusal(errors.RULE_PATCH_AS_PUT)}",
        f"tags: {refusal(errors.RULE_TAGS_STRING)}",
        f"content: {refusal(errors.RULE_NULL_OPTIONAL)}",
    ]


def test_normaliser__strict_records_violations_but_applies_nothing(through: Callable[..., Any]) -> None:
    seen, state = through("GET", "/v2/flows", strict=True)
    assert seen["status"] == 400 and "path" not in seen
    assert state == {
        "normalizations": [],
        "violations": [f"path: {refusal(errors.RULE_VERSION_PREFIX, '/v2')}"],
        "operation_id": "listFlows",  # refused before routing: the journal still names the operation
    }


def test_normaliser__access_token_becomes_a_bearer_header(through: Callable[..., Any]) -> None:
    seen, state = through("GET", "/flows?access_token=abc&users=1", strict=True)
    assert seen["headers"]["authorization"] == "Bearer abc"
    assert seen["query"] == "users=1"
    assert state == {"normalizations": [errors.RULE_ACCESS_TOKEN], "violations": []}


def test_normaliser__query_parameters_of_a_post_become_a_typed_json_body(through: Callable[..., Any]) -> None:
    seen, _ = through("POST", "/comments?flow=abc&message=12&content=hi&tags=a,b")
    assert seen["headers"]["content-type"] == "application/json"
    assert json.loads(seen["body"]) == {"flow": "abc", "message": 12, "content": "hi", "tags": ["a", "b"]}
    assert seen["query"] == ""


def test_normaliser__declared_query_parameters_stay_in_the_query(through: Callable[..., Any]) -> None:
    # flow_token is declared in both places: it stays in the query and the body's schema sees it too
    seen, _ = through("POST", "/messages?flow_token=t0k&event=message&content=hi")
    assert seen["query"] == "flow_token=t0k"
    assert json.loads(seen["body"]) == {"flow_token": "t0k", "event": "message", "content": "hi"}


def test_normaliser__a_body_flow_token_wins_over_the_query(through: Callable[..., Any]) -> None:
    body = json.dumps({"event": "message", "content": "hi", "flow_token": "body"}).encode()
    headers = {"Content-Type": "application/json"}
    seen, state = through("POST", "/messages?flow_token=query", content=body, headers=headers, strict=True)
    assert seen["query"] == "flow_token=query"
    assert json.loads(seen["body"])["flow_token"] == "body"
    assert state["violations"] == []


def test_normaliser__form_brackets_and_repeated_keys(through: Callable[..., Any]) -> None:
    form = "event=discussion&title=t&author[name]=Bot&tags[]=a&tags[]=b&external_thread_id=x"
    seen, _ = through(
        "POST", "/messages", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert json.loads(seen["body"]) == {
        "event": "discussion",
        "title": "t",
        "author": {"name": "Bot"},
        "tags": ["a", "b"],
        "external_thread_id": "x",
    }


def test_normaliser__get_body_list_becomes_a_comma_list(through: Callable[..., Any]) -> None:
    seen, _ = through("GET", "/flows/acme/main/messages", json={"tags": ["a", "b"], "event": "message"})
    assert seen["query"] == "tags=a%2Cb&event=message"
    assert seen["body"] == b""
    assert "content-type" not in seen["headers"]


def test_normaliser__file_upload_multipart_is_untouched(through: Callable[..., Any]) -> None:
    seen, state = through(
        "POST",
        "/flows/acme/main/messages",
        data={"event": "file"},
        files={"content": ("a.txt", b"hi", "text/plain")},
    )
    assert seen["headers"]["content-type"].startswith("multipart/form-data")
    assert b"hi" in seen["body"]
    assert state["normalizations"] == []


def test_normaliser__a_file_name_keeps_its_json_suffix(through: Callable[..., Any]) -> None:
    seen, state = through("GET", "/files/1/abc/report.json")
    assert seen["path"] == "/files/1/abc/report.json"
    assert state["normalizations"] == []


def test_normaliser__declared_form_body_is_untouched(through: Callable[..., Any]) -> None:
    seen, state = through(
        "POST", "/oauth/token", data={"grant_type": "password", "username": "a", "password": "b"}
    )
    assert seen["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert state["normalizations"] == []


def test_normaliser__control_paths_are_left_alone(through: Callable[..., Any]) -> None:
    seen, state = through("GET", "/_mock/state/")
    assert seen["path"] == "/_mock/state/"
    assert state["normalizations"] == []


SPEC = load_spec()
WRITES = [
    (method.upper(), template, frozenset(op["requestBody"]["content"]))
    for template, item in SPEC["paths"].items()
    for method, op in item.items()
    if method in ("post", "put") and "requestBody" in op
]


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


@pytest.mark.parametrize(("method", "template", "consumes"), WRITES, ids=[f"{m} {t}" for m, t, _ in WRITES])
@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_every_write__form_and_multipart_bodies_reach_validation_as_json(
    through: Callable[..., Any], method: str, template: str, consumes: frozenset[str], encoding: str
) -> None:
    if encoding == "form":
        seen, state = through(method, _concrete(template), data={"legacy": "yes"})
    else:
        seen, state = through(method, _concrete(template), files={"legacy": (None, "yes")})
    if encoding == "form" and "application/x-www-form-urlencoded" in consumes:
        assert state["normalizations"] == []  # the contract's own form: untouched
        return
    assert seen["headers"]["content-type"] == "application/json"
    assert json.loads(seen["body"]) == {"legacy": "yes"}
    assert state["normalizations"] == [
        errors.RULE_FORM_BODY if encoding == "form" else errors.RULE_MULTIPART_BODY
    ]


PUTS = [template for template, item in SPEC["paths"].items() if "put" in item]


@pytest.mark.parametrize("template", PUTS)
def test_every_put__patch_reaches_it(through: Callable[..., Any], template: str) -> None:
    seen, state = through("PATCH", _concrete(template), json={})
    assert (seen["method"], state["normalizations"]) == ("PUT", [errors.RULE_PATCH_AS_PUT])
