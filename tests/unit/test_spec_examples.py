"""The contract's examples: valid for their schemas, and naming the default world's real data.

Swagger UI fills requests from them and Schemathesis's examples phase sends them, so an example
that names a flow or message the default world lacks only ever reaches a 404.
"""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from mock_server.contract import load_default_world, load_spec

SPEC = load_spec()
WORLD = load_default_world()
METHODS = ("get", "put", "post", "delete", "patch")


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _operations() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [
        (path, item, op)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _parameters() -> list[tuple[str, dict[str, Any]]]:
    return [
        (op["operationId"], _deref(p))
        for _, item, op in _operations()
        for p in [*item.get("parameters", []), *op.get("parameters", [])]
    ]


def _bodies() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (op["operationId"], media, media_type["schema"])
        for _, _, op in _operations()
        if "requestBody" in op
        for media, media_type in _deref(op["requestBody"])["content"].items()
    ]


def _valid(schema: dict[str, Any], value: Any) -> list[str]:
    root = {**schema, "components": SPEC["components"]}
    return [e.message for e in OAS30Validator(root).iter_errors(value)]


@pytest.mark.parametrize(("operation", "media", "schema"), _bodies(), ids=lambda v: str(v)[:40])
def test_every_request_body_has_a_valid_example(operation: str, media: str, schema: Any) -> None:
    example = _deref(schema).get("example")
    assert example is not None, f"{operation} {media}: no example"
    if media == "multipart/form-data":  # the file part is bytes on the wire, a string in the example
        example = {k: v for k, v in example.items() if k != "content"}
        schema = {**_deref(schema), "required": []}
    assert _valid(schema, example) == []


def test_every_path_and_required_parameter_has_a_valid_example() -> None:
    missing, invalid = [], []
    for operation, param in _parameters():
        if param["in"] == "header" or (param["in"] == "query" and not param.get("required")):
            continue
        if "example" not in param:
            missing.append(f"{operation}.{param['name']}")
        elif _valid(param["schema"], param["example"]):
            invalid.append(f"{operation}.{param['name']}")
    assert (missing, invalid) == ([], [])


def _example(operation: str, name: str) -> Any:
    return next(p["example"] for op, p in _parameters() if op == operation and p["name"] == name)


def test_path_examples_name_one_consistent_corner_of_the_default_world() -> None:
    org = next(
        o for o in WORLD["organizations"] if o["parameterized_name"] == _example("getFlow", "organization")
    )
    flow = next(
        f
        for f in WORLD["flows"]
        if f["organization_id"] == org["id"] and f["parameterized_name"] == _example("getFlow", "flow")
    )
    members = {m["user"] for m in flow["members"]}
    assert 1 in members  # the main user, whose credentials the examples are sent with
    messages = {m["id"] for m in WORLD["messages"] if m["flow"] == flow["id"]}
    assert _example("showMessage", "id") in messages
    threads = {t["id"] for t in WORLD["threads"] if t["flow"] == flow["id"]}
    assert _example("getThread", "id") in threads
    sources = [s for s in WORLD["sources"] if s["flow"] == flow["id"]]
    assert _example("getSource", "id") in {s["id"] for s in sources}
    pending = {i["id"] for i in WORLD["invitations"] if i["flow"] == flow["id"] and i["state"] == "pending"}
    assert _example("getInvitation", "id") in pending
    # removing or blocking someone: a member other than the caller, so later examples still reach it
    assert _example("removeUserFromFlow", "id") in members - {1}
    assert _example("pushChatMessage", "flow_api_token") == flow["api_token"]
    assert _example("getFlowById", "id") == flow["id"]
    assert _example("getOrganizationById", "id") == org["id"]


def test_other_examples_name_real_users_conversations_files_and_clients() -> None:
    users = {u["id"] for u in WORLD["users"]}
    assert _example("getUser", "id") in users
    partners = {tuple(c["users"]) for c in WORLD["private_conversations"]}
    assert (1, _example("getPrivateConversation", "id")) in partners
    file = WORLD["files"][0]
    assert (
        _example("downloadFile", "organization"),
        _example("downloadFile", "hash"),
        _example("downloadFile", "filename"),
    ) == (file["files_id"], file["hash"], file["file_name"])
    app = next(
        a for a in WORLD["oauth_applications"] if a["client_id"] == _example("oauthAuthorize", "client_id")
    )
    assert _example("oauthAuthorize", "redirect_uri") == app["redirect_uri"]
