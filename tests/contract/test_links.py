"""Every OpenAPI link of the contract, followed by hand: create -> read -> update -> delete.

The stateful Schemathesis run (test_stateful.py) explores linked calls at random; which chains it
happens to complete depends on what Hypothesis draws. This test is the deterministic half: for
each creating operation it makes one valid request, resolves each declared link's runtime
expressions (``$request.path.*``, ``$response.body#/*``) against that exchange, calls the target
with a valid body, and requires a 2xx that conforms to the spec (response validation is on).
Deletes run last, then the resource must be gone. A new link in the spec is walked automatically
once its target has a body below (the test fails until it has one).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.contract import load_spec
from tests.conftest import ALICE, BOB
from tests.contract.conftest import issue_token

pytestmark = pytest.mark.contract

SPEC = load_spec()
OPERATIONS = {
    op["operationId"]: (method, path, op)
    for path, item in SPEC["paths"].items()
    for method, op in item.items()
    if isinstance(op, dict) and "operationId" in op
}

CREATES: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "createFlow": ({"organization": "acme"}, {"name": "Linked Flow"}),
    "sendFlowMessage": ({"organization": "acme", "flow": "main"}, {"event": "message", "content": "linked"}),
    "sendPrivateMessage": ({"id": str(BOB["id"])}, {"event": "message", "content": "linked"}),
    "createSource": ({"organization": "acme", "flow": "main"}, {"name": "linked source"}),
    "createInvitation": ({"organization": "acme", "flow": "dev"}, {"email": "linked@example.com"}),
}
"""A valid request for each operation that has links: path parameters and JSON body."""

BODIES: dict[str, dict[str, Any]] = {
    "updateFlow": {"name": "Linked Flow Renamed"},
    "sendFlowMessage": {"event": "message", "content": "into the linked flow"},
    "editMessage": {"content": "edited through a link"},
    "createMessageComment": {"content": "a comment through a link"},
    "editPrivateMessage": {"content": "edited through a link"},
    "updateSource": {"error_message": "set through a link"},
}
"""Bodies for link targets that take one."""

READS_AFTER_DELETE = {
    "deleteMessage": "showMessage",
    "deletePrivateMessage": "showPrivateMessage",
    "deleteSource": "getSource",
    "deleteInvitation": "getInvitation",
}


def links_of(operation_id: str) -> dict[str, dict[str, Any]]:
    _, _, op = OPERATIONS[operation_id]
    found: dict[str, dict[str, Any]] = {}
    for response in op["responses"].values():
        found.update(response.get("links") or {})
    return found


def resolve(expression: str, path_params: dict[str, str], body: dict[str, Any]) -> str:
    if expression.startswith("$request.path."):
        return path_params[expression.removeprefix("$request.path.")]
    if expression.startswith("$response.body#/"):
        value: Any = body
        for part in expression.removeprefix("$response.body#/").split("/"):
            value = value[part]
        return str(value)
    raise AssertionError(f"runtime expression this test does not know: {expression}")


def fill(template: str, params: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: params[m.group(1)], template)


@pytest.fixture(scope="module")
def linked_app() -> Any:
    return create_app(validate_responses=True)


@pytest.mark.parametrize("creator", sorted(CREATES))
def test_every_declared_link_leads_to_a_conformant_2xx(linked_app: Any, creator: str) -> None:
    linked_app.store.reset()
    client = linked_app.test_client()
    if creator == "createSource":  # needs an OAuth token with the integration scope
        client.headers["Authorization"] = f"Bearer {issue_token(linked_app)}"
    else:
        client.auth = (ALICE["api_token"], "")
    method, template, _ = OPERATIONS[creator]
    params, body = CREATES[creator]
    created = client.request(method, fill(template, params), json=body)
    assert 200 <= created.status_code < 300, created.text

    links = links_of(creator)
    assert links, f"{creator} declares no links"
    ordered = sorted(links.values(), key=lambda link: OPERATIONS[link["operationId"]][0] == "delete")
    for link in ordered:
        target = link["operationId"]
        target_method, target_template, _ = OPERATIONS[target]
        target_params = {
            name: resolve(expr, params, created.json()) for name, expr in link["parameters"].items()
        }
        url = fill(target_template, target_params)
        response = client.request(
            target_method, url, json=BODIES.get(target) if target_method != "get" else None
        )
        assert 200 <= response.status_code < 300, (
            f"{creator} -> {target}: {response.status_code} {response.text}"
        )
        if target in READS_AFTER_DELETE:
            read_method, read_template, _ = OPERATIONS[READS_AFTER_DELETE[target]]
            after = client.request(read_method, fill(read_template, target_params))
            if target in ("deleteMessage", "deletePrivateMessage"):
                # A chat message is truncated, not removed (docs/flowdock.md §3.3 op 14): it stays, emptied.
                assert after.status_code == 200 and after.json()["content"] == ""
            else:
                assert after.status_code == 404, f"{target} left the resource readable"


def test_every_operation_with_links_is_walked() -> None:
    with_links = {op_id for op_id in OPERATIONS if links_of(op_id)}
    assert with_links == set(CREATES)
