"""Shards (``--shard NAME``, store/keys.py, runtime/worlds.py): a server run as one shard of several
gives every world it creates an id, and every credential such a world holds or mints later, that
starts with ``NAME.``, so a router in front of the shards places a request by the prefix alone.

Passwords stay free; users' emails carry the prefix, so email + password routes like a token. The
default world keeps its credentials. tests/cluster/ runs real shards behind HAProxy.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from mock_server.app import create_app
from mock_server.runtime.worlds import DEFAULT_ID
from mock_server.store import keys
from mock_server.world import MAIN_USER, OAUTH_APP
from tests.conftest import delete_created_worlds

SHARD = "s7"
PREFIX = SHARD + "."


@pytest.fixture(scope="module")
def shard_app() -> Iterator[Any]:
    app = create_app(shard=SHARD)
    yield app
    delete_created_worlds(app.worlds)


@pytest.fixture
def world(shard_app: Any) -> dict[str, Any]:
    response = shard_app.test_client().post("/_mock/worlds", json={})
    assert response.status_code == 201, response.text
    return dict(response.json())


def basic(user: str, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def alice_of(world: dict[str, Any]) -> dict[str, Any]:
    return next(u for u in world["credentials"]["users"] if u["id"] == MAIN_USER["id"])


def test_shard_names__dns_labels_only() -> None:
    for good in ("s0", "a", "flowdock-mock-0", "x" * keys.SHARD_MAX, "0"):
        assert keys.shard_problem(good) is None, good
    for bad in ("", "S1", "s.1", "-s1", "s1-", "s_1", "s 1", "x" * (keys.SHARD_MAX + 1), "é", "s1:"):
        assert keys.shard_problem(bad) is not None, bad
    with pytest.raises(ValueError, match="shard name"):
        create_app(shard="Not.A.Shard")


def test_shard_of__reads_the_prefix_only_when_it_is_a_shard_name() -> None:
    assert keys.shard_of("s1.abc") == "s1"
    assert keys.shard_of("flowdock-mock-2.w00") == "flowdock-mock-2"
    assert keys.shard_of("a11ce0000000000000000000000000a1") is None
    assert keys.shard_of("John.Smith@example.com") is None  # not lower case: no shard name


def test_created_world__its_id_and_every_credential_but_passwords_carry_the_shard(
    world: dict[str, Any],
) -> None:
    assert world["id"].startswith(PREFIX + "w")
    sheet = world["credentials"]
    values = [
        *(u["api_token"] for u in sheet["users"]),
        *(u["email"] for u in sheet["users"]),
        *(a["client_id"] for a in sheet["oauth_applications"]),
        *(f["api_token"] for f in sheet["flows"]),
        *(s["flow_token"] for s in sheet["sources"]),
        *(t["access_token"] for t in sheet["oauth_tokens"]),
        *(t["refresh_token"] for t in sheet["oauth_tokens"] if t["refresh_token"]),
    ]
    assert values and all(v.startswith(PREFIX) for v in values), [
        v for v in values if not v.startswith(PREFIX)
    ]
    assert all(keys.shard_of(v) == SHARD for v in values)
    assert not any(u["password"].startswith(PREFIX) for u in sheet["users"])
    emails = {u["email"] for u in sheet["users"]}
    assert PREFIX + MAIN_USER["email"] in emails  # the prefix goes before the template's email


def test_created_world__credentials_minted_later_carry_the_shard(
    shard_app: Any, world: dict[str, Any]
) -> None:
    alice = alice_of(world)
    c = shard_app.test_client()
    # email + password reaches the world (the prefixed email is the login)
    me = c.get("/user", headers=basic(alice["email"], alice["password"]))
    assert me.status_code == 200 and me.json()["email"] == alice["email"]
    app = next(a for a in world["credentials"]["oauth_applications"] if a["id"] == OAUTH_APP["id"])
    location = c.get(
        "/oauth/authorize",
        params={
            "client_id": app["client_id"],
            "response_type": "code",
            "scope": "flow manage integration offline_access",
        },
        follow_redirects=False,
    ).headers["location"]
    code = parse_qs(urlparse(location).query)["code"][0]
    assert code.startswith(PREFIX)
    token = c.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
        headers={"Accept": "application/json"},
    ).json()
    assert token["access_token"].startswith(PREFIX) and token["refresh_token"].startswith(PREFIX)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    # a new source's flow_token (the createSource response is validated against its pattern)
    source = c.post("/flows/acme/main/sources", json={"name": "CI"}, headers=bearer)
    assert source.status_code == 201, source.text
    assert source.json()["flow_token"].startswith(PREFIX)
    # a new flow's API token
    flow = c.post("/flows/acme", json={"name": "sharded"}, headers=bearer)
    assert flow.status_code == 201, flow.text
    assert flow.json()["api_token"].startswith(PREFIX)
    # a file download token
    user = basic(alice["api_token"])
    message = c.get("/flows/acme/main/messages", params={"event": "file", "limit": 1}, headers=user).json()[0]
    redirect = c.get(message["content"]["path"], headers=user, follow_redirects=False)
    assert redirect.status_code == 302
    assert urlparse(redirect.headers["location"]).path.rsplit("/", 1)[1].startswith(PREFIX)
    # every credential the world holds now is prefixed, passwords aside
    held = shard_app.worlds.get(world["id"]).keys.held
    assert held and all(value.startswith(PREFIX) for kind, value in held if kind != keys.LOGIN)
    assert all(value.startswith(PREFIX) for kind, value in held if kind == keys.LOGIN)  # the email


def test_default_world__keeps_its_credentials_on_a_shard(shard_app: Any) -> None:
    c = shard_app.test_client()
    assert c.get("/user", headers=basic(MAIN_USER["api_token"])).json()["id"] == MAIN_USER["id"]
    listed = c.get("/_mock/worlds").json()["worlds"]
    assert listed[0]["id"] == DEFAULT_ID
    token = c.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": MAIN_USER["email"],
            "password": MAIN_USER["password"],
            "client_id": OAUTH_APP["client_id"],
            "client_secret": OAUTH_APP["client_secret"],
        },
        headers={"Accept": "application/json"},
    ).json()
    assert not token["access_token"].startswith(PREFIX)


def test_no_shard__ids_and_credentials_as_before(app: Any) -> None:
    c = app.test_client()
    answer = c.post("/_mock/worlds", json={}).json()
    try:
        assert answer["id"].startswith("w") and keys.shard_of(answer["id"]) is None
        alice = alice_of(answer)
        assert alice["email"] == MAIN_USER["email"] and "." not in alice["api_token"]
    finally:
        app.worlds.delete(answer["id"])
