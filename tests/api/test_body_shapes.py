"""Request bodies as the contract states them: one shape per event, closed in strict mode.

The contract says which fields each event needs (``oneOf`` + ``discriminator`` on ``event``),
which text may not be blank, and (``additionalProperties: false``) that strict mode refuses a
field it does not name; compatible mode publishes and enforces the same bodies left open.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mock_server import errors
from mock_server.app import create_app
from tests.conftest import assert_error

MAIN = "/flows/acme/main/messages"
ALICE_TOKEN = "a11ce0000000000000000000000000a1"
SOURCE_TOKEN = "e49cbf9e79526cf2481c350a7a5b7be0"  # source 1 of the default world, in acme/main
MAIN_FLOW_ID = "d0dc5cd3-6085-4ce6-8cb9-c8cd503496de"
EXTRA = "is not a parameter of this operation"


@pytest.fixture(scope="module")
def strict_app() -> Any:
    return create_app(strict=True)


@pytest.fixture(scope="module")
def compatible_app() -> Any:
    return create_app(strict=False)


@pytest.fixture(params=["compatible", "strict"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def user(mode: str, strict_app: Any, compatible_app: Any) -> Iterator[Any]:
    app = strict_app if mode == "strict" else compatible_app
    app.store.reset()
    c = app.test_client()
    c.auth = (ALICE_TOKEN, "")
    yield c


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "message"}, "content"),
        ({"event": "status", "content": "   "}, "content"),
        ({"event": "message", "content": ""}, "content"),
        ({"event": "comment", "content": "nice"}, "message"),
        ({"event": "file"}, "content"),
        ({"event": "activity", "author": {"name": "CI"}, "external_thread_id": "x"}, "title"),
        ({"event": "discussion", "title": "t", "external_thread_id": "x"}, "author"),
        ({"event": "activity", "title": "t", "author": {"name": "CI"}}, "external_thread_id"),
        ({"content": "hi"}, "event"),
    ],
)
def test_send_flow_message__each_event_names_the_field_it_lacks(
    user: Any, body: dict[str, Any], field: str
) -> None:
    assert_error(user.post(MAIN, json=body), 400, errors.VALIDATION_ERROR, {field: [errors.BLANK]})


def test_send_flow_message__an_event_outside_the_mapping_lists_the_events(user: Any) -> None:
    r = user.post(MAIN, json={"event": "action", "content": "x"})
    assert_error(
        r,
        400,
        errors.VALIDATION_ERROR,
        {"event": ["is not one of activity, comment, discussion, file, message, status here"]},
    )


def test_send_message__flow_or_flow_token_is_required(user: Any) -> None:
    r = user.post("/messages", json={"event": "message", "content": "hi"})
    assert_error(r, 400, errors.VALIDATION_ERROR, {"flow": [errors.BLANK]})
    ok = user.post("/messages", json={"event": "message", "content": "hi", "flow": MAIN_FLOW_ID})
    assert ok.status_code == 201, ok.text


def test_send_message__a_flow_token_post_is_a_message_activity_or_discussion(user: Any) -> None:
    r = user.post("/messages", json={"event": "status", "content": "hi", "flow_token": SOURCE_TOKEN})
    assert r.status_code == 400
    assert "event" in r.json()["errors"]


def test_edit_message__blank_content_is_refused_by_the_contract(user: Any) -> None:
    r = user.put(f"{MAIN}/1", json={"content": " \t"})
    assert_error(r, 400, errors.VALIDATION_ERROR, {"content": [errors.BLANK]})


def test_undeclared_body_field__strict_refuses_it_compatible_ignores_it(mode: str, user: Any) -> None:
    r = user.post(MAIN, json={"event": "message", "content": "hello", "colour": "red"})
    if mode == "strict":
        assert_error(r, 400, errors.VALIDATION_ERROR, {"colour": [EXTRA]})
    else:
        assert r.status_code == 201, r.text
        assert "colour" not in r.json()


def test_undeclared_fields__every_one_is_named(strict_app: Any) -> None:
    strict_app.store.reset()
    c = strict_app.test_client()
    c.auth = (ALICE_TOKEN, "")
    r = c.put("/users/1", json={"name": "A", "shoe": 1, "hat": 2})
    assert_error(r, 400, errors.VALIDATION_ERROR, {"shoe": [EXTRA], "hat": [EXTRA]})


def test_published_contract__strict_closes_bodies_compatible_leaves_them_open(
    strict_app: Any, compatible_app: Any
) -> None:
    closed = strict_app.test_client().get("/openapi.json").json()["components"]["schemas"]
    opened = compatible_app.test_client().get("/openapi.json").json()["components"]["schemas"]
    assert closed["ChatInput"]["additionalProperties"] is False
    assert "additionalProperties" not in opened["ChatInput"]
    assert closed["MessageInput"]["discriminator"] == opened["MessageInput"]["discriminator"]


def test_multipart_upload__one_tags_part_is_a_one_element_list(user: Any) -> None:
    files = {"content": ("notes.txt", b"hello", "text/plain")}
    r = user.post(MAIN, data={"event": "file", "tags": "release"}, files=files)
    assert r.status_code == 201, r.text
    assert "release" in r.json()["tags"]


def test_uri_fields__a_value_that_is_no_uri_is_refused(user: Any) -> None:
    # jsonschema alone skips the `uri` format; the contract's `format: uri` holds all the same
    body = {
        "event": "activity",
        "title": "deployed",
        "author": {"name": "CI"},
        "external_thread_id": "deploy-1",
        "thread": {"title": "Deploy", "external_url": ""},
    }
    r = user.post(MAIN, json=body)
    assert_error(r, 400, errors.VALIDATION_ERROR, {"thread.external_url": ["'' is not a 'uri'"]})
    body["thread"]["external_url"] = "https://ci.example.com/deploys/1"
    assert user.post(MAIN, json=body).status_code == 201
