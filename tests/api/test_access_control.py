"""Access control over every operation of the spec (docs/clients.md "Access control").

The operations come from spec/openapi.yaml itself, and each needs an entry in ``SAMPLES`` (a
request a member could make), so a new operation fails ``test_every_operation_has_a_sample``
until someone decides how it is protected. Four rules are checked for each operation:

- no credentials -> 401 (except the ones that are anonymous by design, each with its reason);
- wrong credentials (unknown API token, unknown OAuth token, unknown flow_token) -> 401;
- an authenticated user outside the flow, organization or conversation -> 403 or 404, and the
  body is only an error (no data of the resource);
- an OAuth token without the scope the operation's ``security`` names -> 403.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mock_server import errors
from mock_server.contract import load_spec
from mock_server.store.oauth import SCOPES, AccessToken
from mock_server.world import OAUTH_APP
from tests.conftest import ALICE, FRANK_ID, assert_error

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
DEV = "d202abe3-4aee-4fbb-a57b-4c3f90d63b04"
"""acme/dev: invitation-only; alice (flow and organization admin), bob and carol are members."""
DEV_THREAD = "Iu5M_3gmoDWZhOmnXvwMSpX6Y4_"
ACME_ID = 14849
MAIN_FILE = "/files/151242/liioMdowZbMs9I9XCHp4-2/release%20notes.txt"
"""A file of acme/main."""


def thumbnail_path(file_path: str) -> str:
    """``/files/<n>/<hash>/thumb/<name>``: where a file's thumbnail is (the file has none: 404)."""
    head, _, name = file_path.rpartition("/")
    return f"{head}/thumb/{name}"


OUTSIDER = FRANK_ID
"""Frank is in globex only: he shares no flow or organization with acme/dev, alice or carol."""


@dataclass(frozen=True)
class Sample:
    """One concrete, valid request for an operation (path already filled in)."""

    path: str
    json: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    caller_scoped: str | None = None
    """Why the outsider rule does not apply: the operation only ever shows the caller's own data."""


SAMPLES: dict[str, Sample] = {
    "oauthAuthorize": Sample("/oauth/authorize", query={"client_id": OAUTH_APP["client_id"], "response_type": "code"},
                             caller_scoped="runs before any credentials exist"),
    "oauthToken": Sample("/oauth/token", json={"grant_type": "password", "username": ALICE["email"], "password": "x"},
                         caller_scoped="authenticates the OAuth client, not a user"),
    "getCurrentUser": Sample("/user", caller_scoped="the caller's own user"),
    "listFlows": Sample("/flows", caller_scoped="the caller's joined flows"),
    "listAllFlows": Sample("/flows/all", caller_scoped="the flows the caller can see"),
    "getFlow": Sample("/flows/acme/dev"),
    "updateFlow": Sample("/flows/acme/dev", json={"open": True}),
    "getFlowById": Sample("/flows/find", query={"id": DEV}),
    "createFlow": Sample("/flows/acme", json={"name": "Ops"}),
    "sendMessage": Sample("/messages", json={"event": "message", "content": "hi", "flow": DEV}),
    "listFlowMessages": Sample("/flows/acme/dev/messages"),
    "sendFlowMessage": Sample("/flows/acme/dev/messages", json={"event": "message", "content": "hi"}),
    "showMessage": Sample("/flows/acme/dev/messages/1"),
    "editMessage": Sample("/flows/acme/dev/messages/1", json={"content": "edited"}),
    "deleteMessage": Sample("/flows/acme/dev/messages/1"),
    "createMessageComment": Sample("/flows/acme/dev/messages/1/comments", json={"content": "a comment"}),
    "createComment": Sample("/comments", json={"flow": DEV, "message": 1, "content": "a comment"}),
    "listFlowThreads": Sample("/flows/acme/dev/threads"),
    "getThread": Sample(f"/flows/acme/dev/threads/{DEV_THREAD}"),
    "listThreadMessages": Sample(f"/flows/acme/dev/threads/{DEV_THREAD}/messages"),
    "postThreadMessage": Sample(f"/flows/acme/dev/threads/{DEV_THREAD}/messages", json={"event": "message", "content": "hi"}),
    "listPrivateConversations": Sample("/private", caller_scoped="the caller's own conversations"),
    "getPrivateConversation": Sample("/private/1"),
    "updatePrivateConversation": Sample("/private/1", json={"open": False}),
    "listPrivateMessages": Sample("/private/1/messages"),
    "sendPrivateMessage": Sample("/private/1/messages", json={"event": "message", "content": "hi"}),
    "showPrivateMessage": Sample("/private/1/messages/1"),
    "editPrivateMessage": Sample("/private/1/messages/1", json={"content": "edited"}),
    "deletePrivateMessage": Sample("/private/1/messages/1"),
    "listUsers": Sample("/users", caller_scoped="the users the caller can see"),
    "getUser": Sample("/users/3"),
    "updateUser": Sample("/users/3", json={"name": "Someone"}),
    "listFlowUsers": Sample("/flows/acme/dev/users"),
    "addUserToFlow": Sample("/flows/acme/dev/users", json={"id": 4}),
    "updateFlowUser": Sample("/flows/acme/dev/users/2", json={"disabled": True}),
    "removeUserFromFlow": Sample("/flows/acme/dev/users/2"),
    "listOrganizations": Sample("/organizations", caller_scoped="the caller's organizations"),
    "getOrganizationById": Sample("/organizations/find", query={"id": str(ACME_ID)}),
    "getOrganization": Sample("/organizations/acme"),
    "updateOrganization": Sample("/organizations/acme", json={"name": "Acme 2"}),
    "listOrganizationUsers": Sample("/organizations/acme/users"),
    "removeUserFromOrganization": Sample("/organizations/acme/users/2"),
    "listSources": Sample("/sources", caller_scoped="the sources of the caller's flows"),
    "updateSourceByToken": Sample("/sources", json={"error_message": "x"},
                                  caller_scoped="the flow_token names the source; no user is involved"),
    "listFlowSources": Sample("/flows/acme/dev/sources"),
    "createSource": Sample("/flows/acme/dev/sources", json={"name": "CI"}),
    "getSource": Sample("/flows/acme/dev/sources/2"),
    "updateSource": Sample("/flows/acme/dev/sources/2", json={"error_message": "x"}),
    "deleteSource": Sample("/flows/acme/dev/sources/2"),
    "listInvitations": Sample("/flows/acme/dev/invitations"),
    "createInvitation": Sample("/flows/acme/dev/invitations", json={"email": "new@corp.com"}),
    "getInvitation": Sample("/flows/acme/dev/invitations/1"),
    "deleteInvitation": Sample("/flows/acme/dev/invitations/1"),
    "importInvitations": Sample("/flows/acme/dev/invitations/import", json={"list": "new@corp.com"}),
    "downloadFile": Sample(MAIN_FILE),
    "downloadFileThumbnail": Sample(thumbnail_path(MAIN_FILE)),
    "streamFlows": Sample("/stream/flows", query={"filter": "acme/dev"}),
    "streamFlow": Sample("/stream/flows/acme/dev"),
    "pushChatMessage": Sample("/messages/chat/" + "0" * 32, json={"content": "hi", "external_user_name": "bot"},
                              caller_scoped="the flow API token in the path is the credential"),
    "pushTeamInboxMessage": Sample(
        "/messages/team_inbox/" + "0" * 32,
        json={"source": "ci", "from_address": "ci@corp.com", "subject": "s", "content": "c"},
        caller_scoped="the flow API token in the path is the credential",
    ),
}  # fmt: skip

ANONYMOUS = {
    "oauthAuthorize": "the browser's request before any token exists; answers 302 to anyone",
    "pushChatMessage": "Push API: the flow API token in the path authorises; an unknown one is 404",
    "pushTeamInboxMessage": "Push API: the flow API token in the path authorises; an unknown one is 404",
}
"""Operations that take no credentials at all, and why."""


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    spec = load_spec()
    out = []
    for path_item in spec["paths"].values():
        for method, op in path_item.items():
            if method in HTTP_METHODS:
                security = op.get("security", spec["security"])
                out.append((op["operationId"], method.upper(), security))
    return out


OPERATIONS = _operations()
IDS = [op_id for op_id, _, _ in OPERATIONS]


def call(
    client: Any, method: str, sample: Sample, headers: dict[str, str] | None = None, **query: str
) -> Any:
    return client.request(
        method,
        sample.path,
        params={**sample.query, **query},
        json=sample.json,
        headers=headers or {},
        follow_redirects=False,
    )


def basic(username: str, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def schemes(security: list[dict[str, list[str]]]) -> set[str]:
    return {name for requirement in security for name in requirement}


def assert_no_data(response: Any) -> None:
    """An error body only: nothing of the resource (names, ids, members) leaks."""
    body = response.json()
    assert set(body) <= {"message", "errors"}, body
    assert DEV not in response.text and "Dev" not in response.text


def test_every_operation_has_a_sample() -> None:
    assert sorted(SAMPLES) == sorted(IDS)


@pytest.mark.parametrize(("operation_id", "method", "security"), OPERATIONS, ids=IDS)
def test_no_credentials__401(client, operation_id, method, security) -> None:
    response = call(client, method, SAMPLES[operation_id])
    if operation_id == "oauthAuthorize":
        assert response.status_code == 302, ANONYMOUS[operation_id]
    elif operation_id in ("pushChatMessage", "pushTeamInboxMessage"):
        assert_error(response, 404, errors.NOT_FOUND)
    elif operation_id == "oauthToken":  # RFC 6749 §5.2: no client authentication
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    else:
        assert response.status_code == 401, response.text
        assert set(response.json()) <= {"message", "errors"}
        assert "Flowdock-User" not in response.headers


@pytest.mark.parametrize(("operation_id", "method", "security"), OPERATIONS, ids=IDS)
def test_wrong_credentials__401(client, operation_id, method, security) -> None:
    sample = SAMPLES[operation_id]
    kinds = schemes(security)
    if operation_id in ANONYMOUS:
        assert not kinds, f"{operation_id} takes no credentials: {ANONYMOUS[operation_id]}"
        return
    if operation_id == "oauthToken":
        response = call(client, method, sample, basic(OAUTH_APP["client_id"], "wrong-secret"))
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
        return
    attempts = []
    if "basicAuth" in kinds:
        attempts += [basic("0" * 32), basic(ALICE["email"], "wrong-password")]
    if "oauth2" in kinds:
        attempts.append({"Authorization": "Bearer not-a-token"})
    for headers in attempts:
        assert_error(call(client, method, sample, headers), 401, errors.INVALID_CREDENTIALS)
    if "flowToken" in kinds:
        assert_error(call(client, method, sample, flow_token="f" * 32), 401, errors.INVALID_CREDENTIALS)
    assert attempts or "flowToken" in kinds


@pytest.mark.parametrize(("operation_id", "method", "security"), OPERATIONS, ids=IDS)
def test_outsider__403_or_404_without_data(as_user, operation_id, method, security) -> None:
    sample = SAMPLES[operation_id]
    if sample.caller_scoped is not None:
        assert operation_id in ANONYMOUS or operation_id in CALLER_SCOPED, sample.caller_scoped
        return
    response = call(as_user(OUTSIDER), method, sample)
    assert response.status_code in (403, 404), response.text
    assert_no_data(response)


CALLER_SCOPED = {
    "oauthToken",
    "getCurrentUser",
    "listFlows",
    "listAllFlows",
    "listPrivateConversations",
    "listUsers",
    "listOrganizations",
    "listSources",
    "updateSourceByToken",
}
"""Operations with no flow, organization or conversation in the request: they can only show the
caller's own data (tested in their own modules); the list is explicit so that adding one is a
decision."""


def test_caller_scoped_operations_see_none_of_acme(as_user) -> None:
    outsider = as_user(OUTSIDER)
    assert all(f["organization"]["parameterized_name"] != "acme" for f in outsider.get("/flows/all").json())
    assert all(o["parameterized_name"] != "acme" for o in outsider.get("/organizations").json())
    assert outsider.get("/sources").json() == []


@pytest.mark.parametrize(("operation_id", "method", "security"), OPERATIONS, ids=IDS)
def test_token_without_the_needed_scope__403(client, store, operation_id, method, security) -> None:
    alternatives = [r["oauth2"] for r in security if "oauth2" in r]
    if not alternatives:
        assert operation_id in ANONYMOUS or schemes(security) <= {"oauthClient", "flowToken"}, operation_id
        return
    if any(not scopes for scopes in alternatives):
        assert operation_id == "getCurrentUser", "only GET /user accepts a token of any scope"
        return
    needed = {scope for scopes in alternatives for scope in scopes}
    lacking = [s for s in SCOPES if s not in needed]
    store.oauth.tokens["scopeless"] = AccessToken(
        token="scopeless", user_id=ALICE["id"], application_id=OAUTH_APP["id"], scopes=lacking
    )
    response = call(client, method, SAMPLES[operation_id], {"Authorization": "Bearer scopeless"})
    assert_error(response, 403, errors.INSUFFICIENT_SCOPE)


def test_get_current_user__the_only_operation_open_to_any_scope() -> None:
    open_to_any = [op for op, _, sec in OPERATIONS if any(r.get("oauth2") == [] for r in sec)]
    assert open_to_any == ["getCurrentUser"]


def test_docs_access_control_table_names_every_operation() -> None:
    page = (Path(__file__).parents[2] / "docs" / "clients.md").read_text(encoding="utf-8")
    section = page.split("## Access control", 1)[1].split("\n## ", 1)[0]
    missing = [op for op in IDS if f"| `{op}` |" not in section]
    assert missing == []
