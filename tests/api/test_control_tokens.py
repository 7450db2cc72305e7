"""World-scoped control tokens: what a shared service's jobs may do on /_mock, and what they may not.

The operator holds the admin token (``--admin-token``), which opens everything. A job creates a
world without it (or with the narrower create-only token, ``--create-token``) and gets the world's
own control token, which opens that world's /_mock routes and nothing else. Without an admin
token (a laptop) nothing is asked for, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mock_server import errors
from mock_server.app import create_app
from tests.conftest import assert_error

ADMIN = "adm1n-t0ken"
CREATE = "cr3ate-only"


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="module")
def shared() -> Any:
    """A shared service: an admin token, world creation open to every job."""
    return create_app(admin_token=ADMIN)


@pytest.fixture
def c(shared: Any) -> Any:
    return shared.test_client()


@pytest.fixture
def make_world(c: Any) -> Callable[[], dict[str, Any]]:
    made: list[str] = []

    def make() -> dict[str, Any]:
        r = c.post("/_mock/worlds", json={})  # no token at all
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
        return dict(r.json())

    yield make
    for world in made:
        c.delete(f"/_mock/worlds/{world}", headers=bearer(ADMIN))


def world_routes(world: str) -> list[tuple[str, str, Any]]:
    """Every /_mock route of one world: (method, path, JSON body)."""
    q = f"?world={world}"
    return [
        ("GET", f"/_mock/worlds/{world}", None),
        ("GET", f"/_mock/worlds/{world}/state", None),
        ("GET", f"/_mock/worlds/{world}/requests", None),
        ("DELETE", f"/_mock/worlds/{world}/requests", None),
        ("GET", f"/_mock/worlds/{world}/coverage", None),
        ("GET", f"/_mock/worlds/{world}/faults", None),
        ("PUT", f"/_mock/worlds/{world}/faults", {"faults": {}}),
        ("POST", f"/_mock/worlds/{world}/reset", None),
        ("GET", f"/_mock/events{q}", None),
        ("POST", f"/_mock/events{q}", {"flow": "acme/main", "user": 1, "event": "message", "content": "hi"}),
        ("GET", f"/_mock/waits/event{q}&timeout=0.01&content=nothing-like-it", None),
        ("GET", f"/_mock/clock{q}", None),
        ("POST", f"/_mock/clock{q}", {"advance_ms": 1}),
        ("GET", f"/_mock/webhooks{q}", None),
        ("GET", f"/_mock/webhooks/deliveries{q}", None),
    ]


def test_a_job_creates_a_world_without_the_admin_token_and_gets_its_control_token(
    make_world: Callable[[], dict[str, Any]],
) -> None:
    world = make_world()
    assert isinstance(world["control_token"], str) and len(world["control_token"]) >= 32
    assert world["credentials"]["users"]


def test_a_world_control_token_opens_each_of_its_worlds_routes(
    c: Any, make_world: Callable[[], dict[str, Any]]
) -> None:
    world = make_world()
    for method, path, body in world_routes(world["id"]):
        r = c.request(method, path, json=body, headers=bearer(world["control_token"]))
        assert r.status_code < 400 or r.status_code == 408, (method, path, r.status_code, r.text)
    r = c.delete(f"/_mock/worlds/{world['id']}", headers=bearer(world["control_token"]))
    assert r.status_code == 204
    r = c.get(f"/_mock/worlds/{world['id']}/state", headers=bearer(world["control_token"]))
    assert_error(r, 401, errors.ADMIN_TOKEN_REQUIRED)  # the token went with its world


def test_a_world_control_token_opens_no_other_world(c: Any, make_world: Callable[[], dict[str, Any]]) -> None:
    mine, theirs = make_world(), make_world()
    for method, path, body in world_routes(theirs["id"]):
        r = c.request(method, path, json=body, headers=bearer(mine["control_token"]))
        assert_error(r, 403, errors.OTHER_WORLDS_CONTROL)
    r = c.delete(f"/_mock/worlds/{theirs['id']}", headers=bearer(mine["control_token"]))
    assert_error(r, 403, errors.OTHER_WORLDS_CONTROL)
    assert c.get(f"/_mock/worlds/{theirs['id']}", headers=bearer(ADMIN)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_mock/state"),
        ("POST", "/_mock/reset"),
        ("GET", "/_mock/requests"),
        ("GET", "/_mock/events"),
        ("GET", "/_mock/clock"),
        ("GET", "/_mock/streams"),
        ("GET", "/_mock/worlds/default"),
        ("GET", "/_mock/worlds/default/state"),
        ("GET", "/_mock/"),
        ("GET", "/_mock/openapi.json"),
    ],
)
def test_a_world_control_token_opens_nothing_of_the_server_or_the_default_world(
    c: Any, make_world: Callable[[], dict[str, Any]], method: str, path: str
) -> None:
    world = make_world()
    r = c.request(method, path, headers={**bearer(world["control_token"]), "Accept": "application/json"})
    assert r.status_code == 403, (path, r.status_code)
    assert c.request(method, path, headers={**bearer(ADMIN), "Accept": "application/json"}).status_code < 400


def test_listing_worlds__a_job_sees_its_own_world_only_and_no_credentials(
    c: Any, make_world: Callable[[], dict[str, Any]]
) -> None:
    mine, theirs = make_world(), make_world()
    assert_error(c.get("/_mock/worlds"), 401, errors.ADMIN_TOKEN_REQUIRED)
    listed = c.get("/_mock/worlds", headers=bearer(mine["control_token"])).json()["worlds"]
    assert [w["id"] for w in listed] == [mine["id"]]
    everything = c.get("/_mock/worlds", headers=bearer(ADMIN)).text
    assert theirs["id"] in everything
    for token in (mine["control_token"], theirs["control_token"]):
        assert token not in everything  # a listing never shows credentials
    assert theirs["credentials"]["users"][0]["api_token"] not in everything


def test_the_admin_token_opens_every_world(c: Any, make_world: Callable[[], dict[str, Any]]) -> None:
    world = make_world()
    for method, path, body in world_routes(world["id"]):
        r = c.request(method, path, json=body, headers=bearer(ADMIN))
        assert r.status_code < 400 or r.status_code == 408, (method, path, r.text)
    shown = c.get(f"/_mock/worlds/{world['id']}", headers=bearer(ADMIN)).json()
    assert shown["control_token"] == world["control_token"]


def test_a_create_only_token__creates_and_opens_nothing_else() -> None:
    app = create_app(admin_token=ADMIN, create_token=CREATE)
    c = app.test_client()
    assert_error(c.post("/_mock/worlds", json={}), 401, errors.ADMIN_TOKEN_REQUIRED)
    assert_error(c.post("/_mock/worlds", json={}, headers=bearer("wrong")), 401, errors.ADMIN_TOKEN_REQUIRED)
    r = c.post("/_mock/worlds", json={}, headers=bearer(CREATE))
    assert r.status_code == 201
    world = r.json()
    for method, path in [
        ("GET", "/_mock/worlds"),
        ("GET", "/_mock/state"),
        ("GET", f"/_mock/worlds/{world['id']}"),
    ]:
        assert c.request(method, path, headers=bearer(CREATE)).status_code == 401, path
    assert c.get(f"/_mock/worlds/{world['id']}", headers=bearer(world["control_token"])).status_code == 200
    assert c.post("/_mock/worlds", json={}, headers=bearer(ADMIN)).status_code == 201


def test_a_laptop__no_token_anywhere_as_before() -> None:
    c = create_app().test_client()
    r = c.post("/_mock/worlds", json={})
    assert r.status_code == 201
    world = r.json()
    assert world["control_token"]
    for method, path, body in world_routes(world["id"]):
        r = c.request(method, path, json=body)
        assert r.status_code < 400 or r.status_code == 408, (method, path, r.text)
    assert c.get("/_mock/state").status_code == 200
    assert c.get("/_mock/worlds").json()["worlds"][1]["id"] == world["id"]
    assert c.delete(f"/_mock/worlds/{world['id']}").status_code == 204


def test_a_create_token_needs_an_admin_token() -> None:
    with pytest.raises(ValueError, match="admin token"):
        create_app(create_token=CREATE)
