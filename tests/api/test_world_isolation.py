"""Cross-world isolation over every operation of the spec (runtime/worlds.py).

World B holds resources world A does not have: an organization, a flow, users, messages, a
thread, a private conversation, a source, an invitation and a file of its own. For every
operation of spec/openapi.yaml (``SAMPLES`` must name each, so a new operation fails
``test_every_operation_has_a_sample`` until someone decides how it addresses world B), the
request aimed at B's resource, by their real ids and names, is sent with each of A's credentials
(API tokens of two users, one of them with the same user id as B's caller, email + password,
an OAuth token with every scope). Each answer is 401, 403 or 404 with an error body only and
nothing of B in it; B's whole state and journal are unchanged afterwards. The same request with
B's own credentials then reaches the resource (no 401/403/404), which proves the sample real.

Operations that name no resource (they list or show the caller's own data, or their credential
is in the path) are sent with A's credentials too: nothing of B may appear in their answers, and
B must stay unchanged.
"""

from __future__ import annotations

import base64
import collections
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from mock_server.runtime.worlds import World
from mock_server.store.oauth import SCOPES
from mock_server.stream import StreamHub
from tests.api.test_access_control import IDS, OPERATIONS, basic, thumbnail_path

ALL_SCOPES = " ".join(SCOPES)
B_SEED = 7
B_SIZES = {"organizations": 3, "users": 12, "flows": 9, "messages_per_flow": 4}
"""World A is the default data (2 organizations, 8 users, 6 flows); B's third organization, its
flow and users 9 to 12 exist only in B."""
B_ACTOR = 3
"""Admin of B's third organization and of its flow; A has a user 3 too, who must not pass for him."""
B_ONLY_USER = 11
"""A member of B's third organization; A has no user 11."""
STREAMS = ("streamFlows", "streamFlow")
"""The Streaming API's connect requests (mock_server/stream/)."""
MARK = "b-only-7f3c"
"""In every text B's own requests wrote: it must never appear in an answer to A."""


@dataclass(frozen=True)
class Sample:
    method_path: str
    json: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    caller_scoped: str | None = None
    """Why this one cannot address B's resource: what it reads is the caller's own."""
    b_caller: int = B_ACTOR
    """Who sends it in B to show that it reaches the resource."""


def samples(b: dict[str, Any]) -> dict[str, Sample]:
    """A request for each operation, aimed at world B's resources (``b``: their ids and names)."""
    flow = f"/flows/{b['org']}/{b['flow']}"
    return {
        "oauthAuthorize": Sample("/oauth/authorize", query={"client_id": "{A_CLIENT}", "response_type": "code",
                                                            "login": b["user_email"]},
                                 caller_scoped="the client id names A; B's user is unknown there"),
        "oauthToken": Sample("/oauth/token", json={"grant_type": "password", "username": b["user_email"],
                                                   "password": b["user_password"], "client_id": "{A_CLIENT}",
                                                   "client_secret": "{A_SECRET}"},
                             caller_scoped="the client id names A; B's user and password are unknown there"),
        "getCurrentUser": Sample("/user", caller_scoped="the caller's own user"),
        "listFlows": Sample("/flows", caller_scoped="the caller's joined flows"),
        "listAllFlows": Sample("/flows/all", caller_scoped="the flows the caller can see"),
        "getFlow": Sample(flow),
        "updateFlow": Sample(flow, json={"open": True}),
        "getFlowById": Sample("/flows/find", query={"id": b["flow_id"]}),
        "createFlow": Sample(f"/flows/{b['org']}", json={"name": f"{MARK} new"}),
        "sendMessage": Sample("/messages", json={"event": "message", "content": MARK, "flow": b["flow_id"]}),
        "listFlowMessages": Sample(f"{flow}/messages"),
        "sendFlowMessage": Sample(f"{flow}/messages", json={"event": "message", "content": "hi"}),
        "showMessage": Sample(f"{flow}/messages/{b['message']}"),
        "editMessage": Sample(f"{flow}/messages/{b['message']}", json={"content": "edited"}),
        "deleteMessage": Sample(f"{flow}/messages/{b['message']}"),
        "createMessageComment": Sample(f"{flow}/messages/{b['message']}/comments", json={"content": "a comment"}),
        "createComment": Sample("/comments", json={"flow": b["flow_id"], "message": b["message"], "content": "c"}),
        "listFlowThreads": Sample(f"{flow}/threads"),
        "getThread": Sample(f"{flow}/threads/{b['thread']}"),
        "listThreadMessages": Sample(f"{flow}/threads/{b['thread']}/messages"),
        "postThreadMessage": Sample(f"{flow}/threads/{b['thread']}/messages", json={"event": "message", "content": "hi"}),
        "listPrivateConversations": Sample("/private", caller_scoped="the caller's own conversations"),
        "getPrivateConversation": Sample(f"/private/{B_ONLY_USER}"),
        "updatePrivateConversation": Sample(f"/private/{B_ONLY_USER}", json={"open": False}),
        "listPrivateMessages": Sample(f"/private/{B_ONLY_USER}/messages"),
        "sendPrivateMessage": Sample(f"/private/{B_ONLY_USER}/messages", json={"event": "message", "content": "hi"}),
        "showPrivateMessage": Sample(f"/private/{B_ONLY_USER}/messages/1"),
        "editPrivateMessage": Sample(f"/private/{B_ONLY_USER}/messages/1", json={"content": "edited"}),
        "deletePrivateMessage": Sample(f"/private/{B_ONLY_USER}/messages/1"),
        "listUsers": Sample("/users", caller_scoped="the users the caller can see"),
        "getUser": Sample(f"/users/{B_ONLY_USER}"),
        "updateUser": Sample(f"/users/{B_ONLY_USER}", json={"name": "Someone"}, b_caller=B_ONLY_USER),
        "listFlowUsers": Sample(f"{flow}/users"),
        "addUserToFlow": Sample(f"{flow}/users", json={"id": 4}),
        "updateFlowUser": Sample(f"{flow}/users/{B_ONLY_USER}", json={"disabled": True}),
        "removeUserFromFlow": Sample(f"{flow}/users/{B_ONLY_USER}"),
        "listOrganizations": Sample("/organizations", caller_scoped="the caller's organizations"),
        "getOrganizationById": Sample("/organizations/find", query={"id": str(b["org_id"])}),
        "getOrganization": Sample(f"/organizations/{b['org']}"),
        "updateOrganization": Sample(f"/organizations/{b['org']}", json={"name": "Renamed"}),
        "listOrganizationUsers": Sample(f"/organizations/{b['org']}/users"),
        "removeUserFromOrganization": Sample(f"/organizations/{b['org']}/users/{B_ONLY_USER}"),
        "listSources": Sample("/sources", caller_scoped="the sources of the caller's flows"),
        "updateSourceByToken": Sample("/sources", json={"error_message": "x", "flow_token": "{A_FLOW_TOKEN}"},
                                      caller_scoped="the flow_token names the source; A's names A's"),
        "listFlowSources": Sample(f"{flow}/sources"),
        "createSource": Sample(f"{flow}/sources", json={"name": "CI"}),
        "getSource": Sample(f"{flow}/sources/{b['source']}"),
        "updateSource": Sample(f"{flow}/sources/{b['source']}", json={"error_message": "x"}),
        "deleteSource": Sample(f"{flow}/sources/{b['source']}"),
        "listInvitations": Sample(f"{flow}/invitations"),
        "createInvitation": Sample(f"{flow}/invitations", json={"email": "new@corp.com"}),
        "getInvitation": Sample(f"{flow}/invitations/{b['invitation']}"),
        "deleteInvitation": Sample(f"{flow}/invitations/{b['invitation']}"),
        "importInvitations": Sample(f"{flow}/invitations/import", json={"list": "new@corp.com"}),
        "downloadFile": Sample(b["file"]),
        "downloadFileThumbnail": Sample(thumbnail_path(b["file"])),
        "streamFlows": Sample("/stream/flows", query={"filter": f"{b['org']}/{b['flow']}"}),
        "streamFlow": Sample(f"/stream{flow}"),
        "pushChatMessage": Sample("/messages/chat/{A_PUSH}", json={"content": "hi", "external_user_name": "bot"},
                                  caller_scoped="the flow API token in the path is the credential; A's names A's"),
        "pushTeamInboxMessage": Sample(
            "/messages/team_inbox/{A_PUSH}",
            json={"source": "ci", "from_address": "ci@corp.com", "subject": "s", "content": "c"},
            caller_scoped="the flow API token in the path is the credential; A's names A's",
        ),
    }  # fmt: skip


# --- the two worlds -----------------------------------------------------------------------------
def _token(client: Any, app: dict[str, Any], user: dict[str, Any]) -> str:
    response = client.post(
        "/oauth/token",
        json={
            "grant_type": "password",
            "username": user["email"],
            "password": user["password"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": ALL_SCOPES,
        },
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _user(sheet: dict[str, Any], user_id: int) -> dict[str, Any]:
    return next(u for u in sheet["credentials"]["users"] if u["id"] == user_id)


@pytest.fixture(scope="module")
def b_document(app: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """World B's document (generated, then given its own resources through its own API) and the
    ids and names of those resources."""
    worlds = app.worlds
    seed_world = worlds.create_from({"seed": B_SEED, "sizes": B_SIZES})
    store = worlds.get(seed_world["id"]).store
    org = store.organizations.by_id[14849 + 2]
    flow = next(f for f in store.flows.by_id.values() if f.organization_id == org.id)
    assert org.is_admin(B_ACTOR) and flow.members[B_ACTOR].flow_admin and B_ONLY_USER in flow.members
    actor = app.test_client()
    actor.auth = (_user(seed_world, B_ACTOR)["api_token"], "")
    path = f"/flows/{org.parameterized_name}/{flow.parameterized_name}"
    message = actor.post(f"{path}/messages", json={"event": "message", "content": f"{MARK} message"}).json()
    bearer = app.test_client()
    oauth_app = seed_world["credentials"]["oauth_applications"][0]
    bearer.headers["Authorization"] = f"Bearer {_token(bearer, oauth_app, _user(seed_world, B_ACTOR))}"
    source = bearer.post(f"{path}/sources", json={"name": f"{MARK} source"}).json()
    invitation = actor.post(f"{path}/invitations", json={"email": f"{MARK}@example.com"}).json()
    upload = {
        "event": "file",
        "content": {"data": base64.b64encode(b"B's bytes").decode(), "file_name": f"{MARK}.txt"},
    }
    file_message = actor.post(f"{path}/messages", json=upload).json()
    private = actor.post(
        f"/private/{B_ONLY_USER}/messages", json={"event": "message", "content": f"{MARK} pm"}
    )
    assert private.status_code == 201, private.text
    thread = actor.get(f"{path}/threads", params={"limit": 1}).json()[0]["id"]
    doc = worlds.get(seed_world["id"]).runtime.get_state()
    worlds.delete(seed_world["id"])
    # a thumbnail for B's file (only a loaded Flowdock export brings one), so its route is real too
    b_file = next(f for f in doc["files"] if f["hash"] == file_message["content"]["path"].split("/")[3])
    b_file["thumbnail"] = {
        "file_name": b_file["file_name"],
        "content_type": "image/png",
        "data": base64.b64encode(b"B's thumbnail").decode(),
    }
    b_user = next(u for u in doc["users"] if u["id"] == B_ONLY_USER)
    resources = {
        "org": org.parameterized_name,
        "org_id": org.id,
        "org_name": org.name,
        "flow": flow.parameterized_name,
        "flow_id": flow.id,
        "flow_name": flow.name,
        "message": message["id"],
        "thread": thread,
        "source": source["id"],
        "invitation": invitation["id"],
        "file": file_message["content"]["path"].replace(" ", "%20"),
        "user_email": b_user["email"],
        "user_password": b_user["password"],
    }
    yield doc, resources


@pytest.fixture(scope="module")
def world_a(app: Any) -> Iterator[dict[str, Any]]:
    """World A (the default data, its own credentials) and A's credentials as request headers."""
    sheet = app.worlds.create_from({})
    alice, carol = _user(sheet, 1), _user(sheet, B_ACTOR)
    oauth_app = sheet["credentials"]["oauth_applications"][0]
    client = app.test_client()
    flow_token = sheet["credentials"]["sources"][0]["flow_token"]
    push = sheet["credentials"]["flows"][0]["api_token"]
    yield {
        "id": sheet["id"],
        "fill": {
            "{A_CLIENT}": oauth_app["client_id"],
            "{A_SECRET}": oauth_app["client_secret"],
            "{A_FLOW_TOKEN}": flow_token,
            "{A_PUSH}": push,
        },
        "credentials": {
            "alice's API token": basic(alice["api_token"]),
            "user 3's API token (B's caller has id 3 too)": basic(carol["api_token"], "BATMAN"),
            "alice's email and password": basic(alice["email"], alice["password"]),
            "an OAuth token with every scope": {
                "Authorization": f"Bearer {_token(client, oauth_app, alice)}"
            },
        },
    }
    app.worlds.delete(sheet["id"])


def _fill(value: Any, fill: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, text in fill.items():
            value = value.replace(key, text)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, fill) for k, v in value.items()}
    return value


def send(client: Any, method: str, sample: Sample, headers: dict[str, str], fill: dict[str, str]) -> Any:
    return client.request(
        method,
        _fill(sample.method_path, fill),
        params=_fill(sample.query, fill),
        json=_fill(sample.json, fill),
        headers=headers,
        follow_redirects=False,
    )


def b_markers(doc: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Texts only world B holds: its third organization, its flow, users 9 to 12, MARK."""
    users = [u for u in doc["users"] if u["id"] > 8]
    return [
        MARK,
        b["org"],
        b["org_name"],
        b["flow_id"],
        b["flow_name"],
        b["thread"],
        *(u["email"] for u in users),
        *(u["name"] for u in users),
    ]


# --- the tests ----------------------------------------------------------------------------------
def test_every_operation_has_a_sample() -> None:
    assert sorted(samples(collections.defaultdict(str))) == sorted(IDS)


@pytest.mark.parametrize(("operation_id", "method", "security"), OPERATIONS, ids=IDS)
def test_world_a_credentials_never_reach_world_b(
    app: Any,
    b_document: tuple[dict[str, Any], dict[str, Any]],
    world_a: dict[str, Any],
    operation_id: str,
    method: str,
    security: Any,
) -> None:
    doc, b = b_document
    sample = samples(b)[operation_id]
    world_b = app.worlds.create_from({"world": doc})
    b_world: World = app.worlds.get(world_b["id"])
    try:
        before = b_world.runtime.get_state()
        client = app.test_client()
        markers = b_markers(doc, b)
        for name, headers in world_a["credentials"].items():
            response = send(client, method, sample, headers, world_a["fill"])
            for marker in markers:
                assert marker not in response.text, f"{name}: B's {marker!r} in {response.text}"
            if sample.caller_scoped is None:
                assert response.status_code in (401, 403, 404), (
                    f"{name}: {response.status_code} {response.text}"
                )
                assert set(response.json()) <= {"message", "errors"}, f"{name}: {response.text}"
        assert b_world.runtime.get_state() == before, "a request with A's credentials changed world B"
        assert b_world.runtime.journal.list() == [], "a request with A's credentials reached world B"
        if sample.caller_scoped is not None:
            return
        # the same request with B's own credentials reaches the resource: the sample is real
        actor = _user(world_b, sample.b_caller)
        headers = basic(actor["api_token"])
        if operation_id == "createSource":  # needs an OAuth token with the integration scope
            oauth_app = world_b["credentials"]["oauth_applications"][0]
            headers = {"Authorization": f"Bearer {_token(client, oauth_app, actor)}"}
        if operation_id in STREAMS:  # a stream never ends: B's hub ends it at once (still a 200)
            StreamHub.of(b_world.store).shutdown()
        response = send(client, method, sample, headers, {})
        assert response.status_code not in (401, 403, 404), response.text
        assert response.status_code < 500, response.text
    finally:
        app.worlds.delete(world_b["id"])
