"""Unknown paths and wrong methods answer in Flowdock's error shape."""

from __future__ import annotations

from mock_server import errors
from tests.conftest import assert_error


def test_unknown_path_is_404_not_found(alice) -> None:
    assert_error(alice.get("/no/such/thing"), 404, errors.NOT_FOUND)


def test_wrong_method_is_405_with_the_specs_methods_in_allow(alice) -> None:
    response = alice.delete("/users/1")
    assert_error(response, 405, errors.METHOD_NOT_ALLOWED)
    assert response.headers["Allow"] == "GET, PUT"


def test_wrong_method_on_a_literal_path_lists_its_own_methods(alice) -> None:
    # /flows/find is literal; it must not be mistaken for /flows/{organization} (POST).
    response = alice.delete("/flows/find")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_corrected_spec_is_published_at_openapi_json(client, app) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    published = response.json()
    assert published["info"]["title"] == "Flowdock REST API"
    assert set(published["paths"]) == set(app.spec["paths"])


def test_unimplemented_handler_would_answer_501_in_flowdock_shape() -> None:
    import pytest

    from mock_server.binding.resolver import _not_implemented

    with pytest.raises(errors.NotImplementedYet) as raised:
        _not_implemented("someOperation")()
    assert raised.value.status == 501
    assert raised.value.to_body() == {"message": "someOperation is not implemented by flowdock-mock yet"}


def test_posting_to_an_operation_with_two_media_types_logs_no_warning(alice, caplog) -> None:
    # Connexion warns on every such request; the served mock's log would get a line per POST.
    import logging

    with caplog.at_level(logging.WARNING):
        response = alice.post("/flows/acme/main/messages", json={"event": "message", "content": "quiet"})
    assert response.status_code == 201
    assert not [r for r in caplog.records if "multiple content types" in r.getMessage()]


def test_json_responses_carry_charset_utf_8(alice, client) -> None:
    # Flowdock: "Content-Type: application/json; charset=utf-8" on every body (docs/flowdock.md §1.3).
    assert alice.get("/flows").headers["content-type"] == "application/json; charset=utf-8"
    assert client.get("/flows").headers["content-type"] == "application/json; charset=utf-8"  # errors too
