"""Bad input always gets a clear 4xx in Flowdock's error shape, never a 500.

Each test sends one kind of garbage a careless or hostile client might send: bodies that do not
parse, are not text, are too big or nest too deep; values of the wrong type or outside an enum;
absurd paths (very long, dot segments, encoded slashes) and integers beyond int64. The layer that
answers is named in each test: mock_server/middleware/input_guard.py before routing, Connexion's validation
(rendered by app.py), or the spec's own limits.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import anyio
import pytest

from mock_server import errors
from mock_server.middleware.input_guard import MAX_BODY_BYTES, MAX_VALUE_CHARS
from mock_server.world import MAIN_USER
from tests.conftest import assert_error

JSON = {"content-type": "application/json"}
INT64_MAX = 2**63 - 1
TOO_LONG = errors.TOO_LONG_VALUE.format(limit=MAX_VALUE_CHARS)


def raw_request(app: Any, method: str, raw_path: bytes) -> tuple[int, dict[str, Any]]:
    """Send a request with exactly this path on the wire (HTTP clients normalise ``..`` away)."""
    import json

    token = base64.b64encode(f"{MAIN_USER['api_token']}:".encode())
    messages: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode("latin-1")),
        "raw_path": raw_path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"authorization", b"Basic " + token)],
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    async def run() -> None:
        await app(scope, receive, send)

    anyio.run(run)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, json.loads(body)


# --- bodies that do not parse ----------------------------------------------------------------------
def test_create_flow__malformed_json_is_400(alice) -> None:
    response = alice.post("/flows/acme", content=b'{"name": ', headers=JSON)
    assert_error(response, 400, errors.VALIDATION_ERROR, {"body": [errors.MALFORMED_JSON]})


def test_update_flow__invalid_utf8_is_400(alice) -> None:
    response = alice.put("/flows/acme/main", content=b'{"name": "\xff\xfe"}', headers=JSON)
    assert_error(
        response, 400, errors.VALIDATION_ERROR, {"body": [errors.NOT_VALID_TEXT.format(charset="UTF-8")]}
    )


def test_update_flow__charset_python_does_not_know_is_415(alice) -> None:
    response = alice.put(
        "/flows/acme/main",
        content=b'{"open": true}',
        headers={"content-type": "application/json;charset=klingon"},
    )
    assert_error(
        response,
        415,
        errors.UNSUPPORTED_MEDIA_TYPE,
        {"content_type": [errors.UNKNOWN_CHARSET.format(charset="klingon")]},
    )


def test_update_flow__json_nested_deeper_than_the_parser_follows_is_400(alice) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = alice.put("/flows/acme/main", content=deep, headers=JSON)
    assert_error(response, 400, errors.VALIDATION_ERROR, {"body": [errors.NESTED_TOO_DEEP]})


def test_add_user_to_flow__integer_beyond_pythons_digit_limit_in_body_is_400(alice) -> None:
    response = alice.post("/flows/acme/main/users", content=b'{"id": ' + b"9" * 5000 + b"}", headers=JSON)
    assert_error(response, 400, errors.VALIDATION_ERROR, {"body": [errors.MALFORMED_JSON]})


def test_create_flow__json_array_instead_of_object_is_400(alice) -> None:
    response = alice.post("/flows/acme", json=[1, 2])
    assert_error(response, 400, errors.VALIDATION_ERROR, {"base": ["[1, 2] is not of type 'object'"]})


def test_create_flow__empty_body_is_400(alice) -> None:
    response = alice.post("/flows/acme", content=b"", headers=JSON)
    assert_error(response, 400, errors.VALIDATION_ERROR, {"base": ["RequestBody is required"]})


def test_create_flow__content_length_that_is_not_a_number_is_400(alice) -> None:
    response = alice.post("/flows/acme", content=b'{"name": "x"}', headers={**JSON, "content-length": "abc"})
    assert_error(response, 400, errors.VALIDATION_ERROR, {"content_length": [errors.INVALID]})


def test_add_user_to_flow__unlabelled_body_that_is_not_utf8_is_400(alice) -> None:
    # No Content-Type: the normaliser reads it (JSON or form), but only once it is text.
    response = alice.post("/flows/acme/main/users", content=b"\xff\xfe")
    assert_error(
        response, 400, errors.VALIDATION_ERROR, {"body": [errors.NOT_VALID_TEXT.format(charset="UTF-8")]}
    )


def test_update_flow__unlabelled_json_nested_too_deep_is_400(alice) -> None:
    response = alice.put("/flows/acme/main", content=b"[" * 100_000 + b"]" * 100_000)
    assert_error(response, 400, errors.VALIDATION_ERROR, {"body": [errors.NESTED_TOO_DEEP]})


def test_send_flow_message__multipart_body_that_does_not_split_is_400(alice) -> None:
    response = alice.post(
        "/flows/acme/main/messages",
        content=b"garbage",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert_error(response, 400, errors.VALIDATION_ERROR, {"body": ["Invalid multipart data."]})


def test_send_flow_message__multipart_without_boundary_is_400(alice) -> None:
    response = alice.post(
        "/flows/acme/main/messages", content=b"garbage", headers={"content-type": "multipart/form-data"}
    )
    assert_error(response, 400, errors.VALIDATION_ERROR, {"body": ["Missing boundary in multipart."]})


def test_push_chat_message__form_field_with_an_empty_name_is_4xx(client) -> None:
    # "=x" once crashed the normaliser's form reader (IndexError): a 500 with no body at all.
    response = client.post(
        "/messages/chat/" + "f" * 32,
        content=b"=x&content=hi&external_user_name=bot",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert "message" in response.json()


# --- wrong content type ----------------------------------------------------------------------------
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "image/png"])
def test_update_flow__content_type_the_operation_does_not_take_is_415(alice, content_type: str) -> None:
    response = alice.put("/flows/acme/main", content=b"open=true", headers={"content-type": content_type})
    assert_error(
        response,
        415,
        errors.UNSUPPORTED_MEDIA_TYPE,
        {"content_type": [f"Invalid Content-type ({content_type}), expected ['application/json']"]},
    )


# --- wrong types and unknown enum values -------------------------------------------------------------
def test_create_flow__name_of_wrong_type_is_400(alice) -> None:
    response = alice.post("/flows/acme", json={"name": 5})
    assert_error(response, 400, errors.VALIDATION_ERROR, {"name": ["5 is not of type 'string'"]})


def test_update_flow__boolean_of_wrong_type_is_400(alice) -> None:
    response = alice.put("/flows/acme/main", json={"open": [True]})
    assert_error(response, 400, errors.VALIDATION_ERROR, {"open": ["[True] is not of type 'boolean'"]})


def test_get_user__id_that_is_not_an_integer_is_4xx(alice) -> None:
    response = alice.get("/users/alice")
    assert response.status_code in (400, 404), response.text
    assert response.json()["message"] in (errors.VALIDATION_ERROR, errors.NOT_FOUND)


def test_update_flow__unknown_access_mode_is_400(alice) -> None:
    response = alice.put("/flows/acme/main", json={"access_mode": "public"})
    assert_error(
        response,
        400,
        errors.VALIDATION_ERROR,
        {"access_mode": ["'public' is not one of ['invitation', 'link', 'organization']"]},
    )


def test_list_flows__unknown_users_value_in_query_is_400(alice) -> None:
    assert_error(
        alice.get("/flows?users=2"), 400, errors.VALIDATION_ERROR, {"users": ["2 is not one of [0, 1]"]}
    )


def test_list_flow_messages__unknown_sort_is_400(alice) -> None:
    response = alice.get("/flows/acme/main/messages?sort=sideways")
    assert_error(
        response, 400, errors.VALIDATION_ERROR, {"sort": ["'sideways' is not one of ['asc', 'desc']"]}
    )


# --- oversized bodies ------------------------------------------------------------------------------
def test_create_flow__body_over_the_limit_is_413_from_content_length(alice) -> None:
    body = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = alice.post("/flows/acme", content=body, headers=JSON)
    assert_error(
        response,
        413,
        errors.PAYLOAD_TOO_LARGE,
        {"body": [errors.BODY_TOO_LARGE.format(limit=MAX_BODY_BYTES)]},
    )


def test_create_flow__chunked_body_over_the_limit_is_413_while_reading(alice) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(17):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = alice.post("/flows/acme", content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_error(
        response,
        413,
        errors.PAYLOAD_TOO_LARGE,
        {"body": [errors.BODY_TOO_LARGE.format(limit=MAX_BODY_BYTES)]},
    )


def test_create_flow__body_just_under_the_limit_reaches_validation(alice) -> None:
    body = b'{"name": "' + b"x" * (MAX_BODY_BYTES - 20) + b'"}'
    response = alice.post("/flows/acme", content=body, headers=JSON)
    assert_error(response, 400, errors.VALIDATION_ERROR)  # name is over 100 characters, not a 413


# --- absurd paths ----------------------------------------------------------------------------------
def test_get_flow__very_long_path_segment_is_400(alice) -> None:
    assert_error(alice.get("/flows/acme/" + "x" * 5000), 400, errors.VALIDATION_ERROR, {"path": [TOO_LONG]})


def test_get_user__id_with_more_digits_than_python_parses_is_400(alice) -> None:
    # Starlette's int convertor would raise ValueError (Python's 4300-digit limit): a 500.
    assert_error(alice.get("/users/" + "9" * 5000), 400, errors.VALIDATION_ERROR, {"path": [TOO_LONG]})


def test_get_flow__flow_name_over_its_max_length_is_400(alice) -> None:
    response = alice.get("/flows/acme/" + "x" * 101)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["flow"]


def test_list_flow_messages__very_long_query_value_is_400(alice) -> None:
    response = alice.get("/flows/acme/main/messages?search=" + "x" * 5000)
    assert_error(response, 400, errors.VALIDATION_ERROR, {"search": [TOO_LONG]})


@pytest.mark.parametrize(
    "raw_path",
    [
        b"/flows/acme/main/../../../users",
        b"/flows/acme/../acme/main",
        b"/users/./1",
        b"/flows/acme/%2e%2e/users",
    ],
)
def test_dot_segments_name_no_resource_and_are_404(app, store, raw_path: bytes) -> None:
    status, body = raw_request(app, "GET", raw_path)
    assert status == 404
    assert body == {"message": errors.NOT_FOUND, "errors": {"path": [errors.DOT_SEGMENT]}}


@pytest.mark.parametrize("path", ["/flows/acme%2Fmain/users", "/flows/acme/main%2fusers", "/users/1%2F"])
def test_percent_encoded_slash_is_404_not_another_resource(alice, path: str) -> None:
    # Decoded, /flows/acme%2Fmain/users would be /flows/acme/main/users (listFlowUsers): a 200.
    assert_error(alice.get(path), 404, errors.NOT_FOUND, {"path": [errors.ENCODED_SLASH]})


def test_get_flow__nul_byte_in_path_is_404(alice) -> None:
    assert_error(alice.get("/flows/acme/ma%00in"), 404, errors.NOT_FOUND)


# --- huge limits and ids (int64) ---------------------------------------------------------------------
def test_get_user__id_beyond_int64_is_400(alice) -> None:
    response = alice.get(f"/users/{INT64_MAX + 1}")
    assert_error(
        response,
        400,
        errors.VALIDATION_ERROR,
        {"id": [f"{INT64_MAX + 1} is greater than the maximum of {INT64_MAX}"]},
    )


def test_get_user__largest_int64_id_is_a_plain_404(alice) -> None:
    assert_error(alice.get(f"/users/{INT64_MAX}"), 404, errors.NOT_FOUND)


def test_get_organization_by_id__huge_id_is_400(alice) -> None:
    response = alice.get("/organizations/find?id=" + "9" * 30)
    assert_error(
        response,
        400,
        errors.VALIDATION_ERROR,
        {"id": ["9" * 30 + f" is greater than the maximum of {INT64_MAX}"]},
    )


def test_list_flow_messages__huge_limit_is_400(alice) -> None:
    response = alice.get("/flows/acme/main/messages?limit=99999999999999999999")
    assert_error(
        response,
        400,
        errors.VALIDATION_ERROR,
        {"limit": ["99999999999999999999 is greater than the maximum of 100"]},
    )


def test_list_flow_messages__since_id_beyond_int64_is_400(alice) -> None:
    response = alice.get(f"/flows/acme/main/messages?since_id={INT64_MAX + 1}")
    assert_error(
        response,
        400,
        errors.VALIDATION_ERROR,
        {"since_id": [f"{INT64_MAX + 1} is greater than the maximum of {INT64_MAX}"]},
    )


def test_show_message__id_beyond_int64_is_400(alice) -> None:
    response = alice.get(f"/flows/acme/main/messages/{10**30}")
    assert_error(
        response,
        400,
        errors.VALIDATION_ERROR,
        {"id": [f"{10**30} is greater than the maximum of {INT64_MAX}"]},
    )


def test_add_user_to_flow__id_beyond_int64_in_body_is_4xx(alice) -> None:
    response = alice.post("/flows/acme/main/users", json={"id": 10**30})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["message"] in (errors.VALIDATION_ERROR, errors.NOT_FOUND)


# --- OAuth endpoints answer validation problems in RFC 6749's shape -------------------------------
def test_oauth_token__missing_body_is_400_invalid_request(client) -> None:
    response = client.post("/oauth/token")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "RequestBody is required"}


def test_oauth_authorize__missing_client_id_is_400_invalid_request(client) -> None:
    response = client.get("/oauth/authorize?response_type=code")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_oauth_token__undecodable_json_body_is_400_invalid_request(client) -> None:
    response = client.post("/oauth/token", content=b"\n\xff", headers=JSON)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "body: " + errors.NOT_VALID_TEXT.format(charset="UTF-8"),
    }


@pytest.mark.parametrize("nick", ["a\x85b", "a\x1cb", "a b", "a\u3000b"])
def test_update_user__nick_with_any_kind_of_whitespace_is_400(alice, nick: str) -> None:
    # \\x85 and \\x1c-\\x1f are whitespace to Python but not to JSON Schema's regex dialect; the
    # pattern names them so generators and the validator agree.
    response = alice.put("/users/1", json={"nick": nick})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["nick"]
