"""Worlds (runtime/worlds.py, middleware/worlds.py, control/worlds.py): isolated worlds on one
server, each chosen by the credentials an unmodified client already sends.

Creating worlds from the default one, a seed or a document; every kind of credential routing to
its world; reset, delete, state, journal, coverage and faults per world; concurrent creation; and
the lifecycle (idle expiry driven by an injected clock, the cap's 429, memory released).
"""

from __future__ import annotations

import base64
import gc
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from mock_server import errors
from mock_server.app import create_app
from mock_server.runtime.worlds import DEFAULT_ID, Limits
from mock_server.store import keys
from mock_server.world import MAIN_USER, OAUTH_APP
from tests.conftest import assert_error, delete_created_worlds

MAIN = "/flows/acme/main"


@pytest.fixture
def control(worlds_app: Any) -> Any:
    return worlds_app.test_client()


@pytest.fixture
def new_world(control: Any) -> Callable[..., dict[str, Any]]:
    """``new_world(**body)``: POST /_mock/worlds, asserted 201; the answer."""

    def make(**body: Any) -> dict[str, Any]:
        response = control.post("/_mock/worlds", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return make


def client_for(app: Any, user: dict[str, Any], password: str = "") -> Any:
    c = app.test_client()
    c.auth = (user["api_token"], password)
    return c


def alice_of(world: dict[str, Any]) -> dict[str, Any]:
    return next(u for u in world["credentials"]["users"] if u["id"] == MAIN_USER["id"])


def app_of(world: dict[str, Any], client_id: str = OAUTH_APP["client_id"]) -> dict[str, Any]:
    return next(a for a in world["credentials"]["oauth_applications"] if a["id"] == OAUTH_APP["id"])


def every_credential(world: dict[str, Any]) -> set[str]:
    sheet = world["credentials"]
    out = {u["api_token"] for u in sheet["users"]} | {u["password"] for u in sheet["users"]}
    out |= {a["client_id"] for a in sheet["oauth_applications"]}
    out |= {a["client_secret"] for a in sheet["oauth_applications"]}
    out |= {f["api_token"] for f in sheet["flows"]} | {s["flow_token"] for s in sheet["sources"]}
    return out


def without_credentials(doc: dict[str, Any]) -> dict[str, Any]:
    """A world document with every credential blanked: what two copies of one world share."""
    blank = {
        "users": ("api_token", "password"),
        "oauth_applications": ("client_id", "client_secret"),
        "flows": ("api_token",),
        "sources": ("flow_token",),
    }
    out = dict(doc)
    for key, names in blank.items():
        out[key] = [{**item, **dict.fromkeys(names)} for item in doc.get(key, [])]
    return out


def post(client: Any, content: str) -> None:
    response = client.post(f"{MAIN}/messages", json={"event": "message", "content": content})
    assert response.status_code == 201, response.text


def contents(client: Any) -> list[str]:
    response = client.get(f"{MAIN}/messages", params={"limit": 100, "event": "message"})
    assert response.status_code == 200, response.text
    return [m["content"] for m in response.json()]


# --- creating worlds ----------------------------------------------------------------------------
def test_create_world__from_default_has_its_data_and_only_fresh_credentials(
    worlds_app: Any, control: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    world = new_world()
    assert world["origin"] == {"source": "default"}
    state = control.get(f"/_mock/worlds/{world['id']}/state").json()
    default = control.get("/_mock/state").json()
    assert without_credentials(state) == without_credentials(default)
    default_credentials = {u["api_token"] for u in default["users"]} | {
        u["password"] for u in default["users"]
    }
    default_credentials |= {f["api_token"] for f in default["flows"]} | {
        s["flow_token"] for s in default["sources"]
    }
    default_credentials |= {a["client_id"] for a in default["oauth_applications"]}
    assert not every_credential(world) & default_credentials
    # the answer's credentials are the world's own: alice reads her flows with them
    alice = client_for(worlds_app, alice_of(world))
    assert alice.get("/user").json()["email"] == MAIN_USER["email"]


def test_create_world__same_seed_twice_is_the_same_data_with_different_credentials(
    control: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    first = new_world(seed=42, sizes={"users": 10, "flows": 7, "messages_per_flow": 3})
    second = new_world(seed=42, sizes={"users": 10, "flows": 7, "messages_per_flow": 3})
    assert first["origin"] == {
        "source": "seed",
        "seed": 42,
        "sizes": {"organizations": 2, "users": 10, "flows": 7, "messages_per_flow": 3},
    }
    one = control.get(f"/_mock/worlds/{first['id']}/state").json()
    two = control.get(f"/_mock/worlds/{second['id']}/state").json()
    assert len(one["users"]) == 10
    assert without_credentials(one) == without_credentials(two)
    assert not every_credential(first) & every_credential(second)


def test_create_world__from_a_document_replaces_its_credentials(
    worlds_app: Any, control: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    doc = control.get("/_mock/state").json()
    doc["users"][0]["name"] = "Alice From The Document"
    world = new_world(world=doc)
    assert world["origin"] == {"source": "document"}
    alice = alice_of(world)
    assert alice["api_token"] != MAIN_USER["api_token"]
    assert client_for(worlds_app, alice).get("/user").json()["name"] == "Alice From The Document"
    # the default world is not the document
    assert client_for(worlds_app, MAIN_USER).get("/user").json()["name"] == MAIN_USER["name"]


def test_create_world__a_bad_document_is_400_and_creates_nothing(worlds_app: Any, control: Any) -> None:
    doc = control.get("/_mock/state").json()
    doc["flows"][0]["organization_id"] = 999
    response = control.post("/_mock/worlds", json={"world": doc})
    assert_error(response, 400, errors.INVALID_WORLD)
    assert "flows.0.organization_id" in response.json()["errors"]
    assert list(worlds_app.worlds.by_id) == [DEFAULT_ID]


@pytest.mark.parametrize(
    "body",
    [
        {"from": "default", "seed": 1},
        {"seed": 1, "world": {"users": [], "organizations": [], "flows": []}},
        {"sizes": {"users": 9}},
    ],
)
def test_create_world__more_than_one_source_is_400(control: Any, body: dict[str, Any]) -> None:
    response = control.post("/_mock/worlds", json=body)
    assert_error(response, 400, errors.VALIDATION_ERROR, {"base": [errors.ONE_WORLD_SOURCE]})


def test_create_world__sizes_out_of_range_are_400(control: Any) -> None:
    response = control.post("/_mock/worlds", json={"seed": 1, "sizes": {"users": 100000}})
    assert response.status_code == 400
    assert "users" in str(response.json()["errors"])


def test_create_world__concurrently_created_worlds_hold_distinct_credentials(
    worlds_app: Any,
) -> None:
    created: list[dict[str, Any]] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        for _ in range(5):
            created.append(worlds_app.worlds.create_from({}))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(created) == 40
    assert len({w["id"] for w in created}) == 40
    sets = [every_credential(w) for w in created]
    assert len(set().union(*sets)) == sum(len(s) for s in sets)
    # and each world's token reaches that world, not another
    index = worlds_app.worlds.index
    for world in created:
        assert index.get(keys.API_TOKEN, alice_of(world)["api_token"]).id == world["id"]


# --- every credential routes to its world -------------------------------------------------------
def test_api_token_and_email_password_read_and_write_only_their_world(
    worlds_app: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    a, b = new_world(), new_world()
    alice_a = client_for(worlds_app, alice_of(a))
    post(alice_a, "only in A")
    by_email = worlds_app.test_client()
    by_email.auth = (alice_of(a)["email"], alice_of(a)["password"])
    assert "only in A" in contents(by_email)
    assert "only in A" not in contents(client_for(worlds_app, alice_of(b)))
    assert "only in A" not in contents(client_for(worlds_app, MAIN_USER))
    # A's password does not open B or the default world, even with the same email
    wrong = worlds_app.test_client()
    wrong.auth = (MAIN_USER["email"], alice_of(a)["password"] + "x")
    assert_error(wrong.get("/user"), 401, errors.INVALID_CREDENTIALS)


def test_oauth_dance_and_bearer_tokens_stay_in_their_world(
    worlds_app: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    world = new_world()
    app, alice = app_of(world), alice_of(world)
    c = worlds_app.test_client()
    location = c.get(
        "/oauth/authorize",
        params={
            "client_id": app["client_id"],
            "response_type": "code",
            "scope": "flow private offline_access",
        },
        follow_redirects=False,
    ).headers["location"]
    code = parse_qs(urlparse(location).query)["code"][0]
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
    bearer = worlds_app.test_client()
    bearer.headers["Authorization"] = f"Bearer {token['access_token']}"
    post(bearer, "posted with an OAuth token")
    assert "posted with an OAuth token" in contents(client_for(worlds_app, alice))
    assert "posted with an OAuth token" not in contents(client_for(worlds_app, MAIN_USER))
    # the refresh grant with the client in HTTP Basic, and the password grant, reach the world too
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    refreshed = c.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        headers={"Accept": "application/json", "Authorization": f"Basic {basic}"},
    )
    assert refreshed.status_code == 200, refreshed.text
    password = c.post(
        "/oauth/token",
        json={
            "grant_type": "password",
            "username": alice["email"],
            "password": alice["password"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
        headers={"Accept": "application/json"},
    )
    assert password.status_code == 200, password.text
    # ?access_token= too
    query = worlds_app.test_client().get("/user", params={"access_token": password.json()["access_token"]})
    assert query.json()["id"] == alice["id"]
    # the default world's client does not know the world's code, and the other way round
    wrong = c.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": OAUTH_APP["client_id"],
            "client_secret": OAUTH_APP["client_secret"],
        },
    )
    assert wrong.status_code == 400


def test_flow_token_push_token_and_download_token_route_to_their_world(
    worlds_app: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    world = new_world()
    sheet = world["credentials"]
    source = sheet["sources"][0]
    flow = next(f for f in sheet["flows"] if f["id"] == source["flow"])
    anonymous = worlds_app.test_client()
    # a source's flow_token in the body of an anonymous POST /messages (202), and in the query
    body = {"flow_token": source["flow_token"], "event": "message", "content": "from the integration"}
    assert anonymous.post("/messages", json=body).status_code == 202
    listed = anonymous.get("/sources", params={"flow_token": source["flow_token"]})
    assert [s["id"] for s in listed.json()] == [source["id"]]
    # the Push API's flow token in the path
    push = anonymous.post(
        f"/messages/chat/{flow['api_token']}", json={"content": "pushed", "external_user_name": "bot"}
    )
    assert push.status_code == 200, push.text
    alice = client_for(worlds_app, alice_of(world))
    org, name = flow["organization"], flow["flow"]
    seen = [m["content"] for m in alice.get(f"/flows/{org}/{name}/messages", params={"limit": 5}).json()]
    assert "from the integration" in seen and "pushed" in seen
    default = client_for(worlds_app, MAIN_USER)
    seen = [m["content"] for m in default.get(f"/flows/{org}/{name}/messages", params={"limit": 5}).json()]
    assert "from the integration" not in seen and "pushed" not in seen
    # a file download URL: its token names the world
    file_message = next(m for m in alice.get(f"{MAIN}/messages", params={"event": "file", "limit": 1}).json())
    redirect = alice.get(file_message["content"]["path"], follow_redirects=False)
    assert redirect.status_code == 302
    token = urlparse(redirect.headers["location"]).path.rsplit("/", 1)[1]
    assert worlds_app.worlds.index.get(keys.DOWNLOAD, token).id == world["id"]
    download = anonymous.get(f"/_mock/files/{token}")
    assert download.status_code == 200 and download.content
    worlds_app.worlds.delete(world["id"])
    assert anonymous.get(f"/_mock/files/{token}").status_code == 404


def _multipart(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    boundary = "worlds-boundary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    return f"{parts}--{boundary}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={boundary}"
    }


@pytest.mark.parametrize("token_of", ["source", "flow"])
@pytest.mark.parametrize("place", ["json", "form", "multipart", "query"])
def test_flow_token__every_kind_in_every_place_reaches_its_world(
    worlds_app: Any, new_world: Callable[..., dict[str, Any]], place: str, token_of: str
) -> None:
    """A source's flow token or (compatible mode) a flow's API token, as ``flow_token`` in a JSON
    body, a form body, a multipart part or the query: each posts into the world that holds it."""
    sheet = new_world()["credentials"]
    main = next(f for f in sheet["flows"] if (f["organization"], f["flow"]) == ("acme", "main"))
    source = next(s for s in sheet["sources"] if s["flow"] == main["id"])
    token = source["flow_token"] if token_of == "source" else main["api_token"]
    content = f"{place} {token_of} token"
    fields = {"event": "message", "content": content}
    anonymous = worlds_app.test_client()
    if place == "json":
        response = anonymous.post("/messages", json={**fields, "flow_token": token})
    elif place == "form":
        response = anonymous.post("/messages", data={**fields, "flow_token": token})
    elif place == "multipart":
        body, headers = _multipart({**fields, "flow_token": token})
        response = anonymous.post("/messages", content=body, headers=headers)
    else:
        response = anonymous.post("/messages", params={"flow_token": token}, json=fields)
    assert response.status_code == 202, response.text
    alice = next(u for u in sheet["users"] if u["id"] == MAIN_USER["id"])
    assert content in contents(client_for(worlds_app, alice))
    assert content not in contents(client_for(worlds_app, MAIN_USER))


def test_unknown_credentials_still_get_401_from_the_default_world(
    worlds_app: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    new_world()
    stranger = worlds_app.test_client()
    stranger.auth = ("0" * 32, "")
    assert_error(stranger.get("/flows"), 401, errors.INVALID_CREDENTIALS)
    assert_error(worlds_app.test_client().get("/flows"), 401, errors.AUTHENTICATION_REQUIRED)


# --- per-world state, journal, coverage, faults --------------------------------------------------
def test_reset_of_one_world_leaves_the_others_untouched(
    worlds_app: Any, control: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    a, b = new_world(), new_world()
    alice_a, alice_b = client_for(worlds_app, alice_of(a)), client_for(worlds_app, alice_of(b))
    default = client_for(worlds_app, MAIN_USER)
    post(alice_a, "A's")
    post(alice_b, "B's")
    post(default, "default's")
    assert control.post(f"/_mock/worlds/{a['id']}/reset").json()["status"] == "reset"
    assert "A's" not in contents(alice_a)  # reset, and the same credentials still work
    assert "B's" in contents(alice_b)
    assert "default's" in contents(default)
    control.post("/_mock/reset")  # the default world's reset leaves the created worlds alone
    assert "B's" in contents(alice_b)
    assert "default's" not in contents(default)


def test_delete_world__its_credentials_stop_working_and_the_others_are_untouched(
    worlds_app: Any, control: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    a, b = new_world(), new_world()
    alice_a, alice_b = client_for(worlds_app, alice_of(a)), client_for(worlds_app, alice_of(b))
    post(alice_b, "B's")
    assert control.delete(f"/_mock/worlds/{a['id']}").status_code == 204
    assert_error(alice_a.get("/flows"), 401, errors.INVALID_CREDENTIALS)
    assert_error(control.get(f"/_mock/worlds/{a['id']}"), 404, errors.NO_SUCH_WORLD)
    assert "B's" in contents(alice_b)
    assert client_for(worlds_app, MAIN_USER).get("/flows").status_code == 200
    assert not any(w is not None and w.id == a["id"] for w in worlds_app.worlds.index.owner.values())


def test_delete_world__the_default_world_stays(control: Any) -> None:
    response = control.delete(f"/_mock/worlds/{DEFAULT_ID}")
    assert_error(response, 400, errors.VALIDATION_ERROR, {"world": [errors.DEFAULT_WORLD_STAYS]})


def test_world_routes__default_is_addressable_by_id(control: Any) -> None:
    assert control.get(f"/_mock/worlds/{DEFAULT_ID}/state").json() == control.get("/_mock/state").json()
    info = control.get(f"/_mock/worlds/{DEFAULT_ID}").json()
    assert alice_of(info)["api_token"] == MAIN_USER["api_token"]


def test_world_state__round_trips_and_refuses_another_worlds_credentials(
    worlds_app: Any, control: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    a, b = new_world(), new_world()
    alice_a = client_for(worlds_app, alice_of(a))
    post(alice_a, "saved")
    saved = control.get(f"/_mock/worlds/{a['id']}/state").json()
    control.post(f"/_mock/worlds/{a['id']}/reset")
    assert control.put(f"/_mock/worlds/{a['id']}/state", json=saved).status_code == 200
    assert "saved" in contents(alice_a)  # same credentials, state restored
    # B cannot load A's document: A's credentials would then name two worlds
    response = control.put(f"/_mock/worlds/{b['id']}/state", json=saved)
    assert_error(response, 409, errors.CREDENTIAL_CONFLICT)
    assert set(response.json()["errors"]) >= {keys.API_TOKEN, keys.LOGIN, keys.PUSH}
    assert "saved" not in contents(client_for(worlds_app, alice_of(b)))
    # nor can the default world, through the old route
    assert control.put("/_mock/state", json=saved).status_code == 409


def test_router_memo__a_header_seen_before_its_credential_existed_routes_once_it_does(
    worlds_app: Any, control: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    a = new_world()
    token = "f00d" * 8
    later = client_for(worlds_app, {"api_token": token})
    assert_error(later.get("/user"), 401, errors.INVALID_CREDENTIALS)  # nobody's yet: remembered so
    header = b"Basic " + base64.b64encode(f"{token}:".encode())
    assert worlds_app.worlds.index.memo[header] is None
    state = control.get(f"/_mock/worlds/{a['id']}/state").json()
    alice = next(u for u in state["users"] if u["id"] == MAIN_USER["id"])
    alice["api_token"] = token
    assert control.put(f"/_mock/worlds/{a['id']}/state", json=state).status_code == 200
    assert later.get("/user").json()["id"] == MAIN_USER["id"]  # A's Alice now
    assert_error(client_for(worlds_app, alice_of(a)).get("/user"), 401, errors.INVALID_CREDENTIALS)
    assert control.delete(f"/_mock/worlds/{a['id']}").status_code == 204
    assert_error(later.get("/user"), 401, errors.INVALID_CREDENTIALS)  # gone with its world


def test_router_memo__an_answer_found_before_a_change_is_not_kept_and_the_memo_is_bounded(
    worlds_app: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    index = worlds_app.worlds.index
    world = worlds_app.worlds.by_id[new_world()["id"]]
    version = index.version
    world.keys.claim(keys.API_TOKEN, "beef" * 8)  # a change while an answer was being found
    index.remember(b"Basic stale", None, version)
    assert b"Basic stale" not in index.memo
    index.remember(b"Basic fresh", world, index.version)
    assert index.memo[b"Basic fresh"] is world
    world.keys.release(keys.API_TOKEN, "beef" * 8)
    assert index.memo == {}
    for n in range(index.MEMO_MAX + 1):
        index.remember(b"Basic %d" % n, None, index.version)
    assert 0 < len(index.memo) <= index.MEMO_MAX


def test_journal_coverage_and_faults_are_per_world(
    worlds_app: Any, control: Any, new_world: Callable[..., dict[str, Any]], request: pytest.FixtureRequest
) -> None:
    a, b = new_world(), new_world()
    alice_a, alice_b = client_for(worlds_app, alice_of(a)), client_for(worlds_app, alice_of(b))
    control.delete("/_mock/requests")
    assert worlds_app.worlds.journal is None  # kept only for a report (flowdock-mock run)
    server = worlds_app.worlds.keep_journal()
    request.addfinalizer(lambda: setattr(worlds_app.worlds, "journal", None))  # the session's app
    assert worlds_app.worlds.keep_journal() is server
    server.clear()
    server.clear_coverage()
    alice_a.get("/flows")
    alice_a.get("/user")
    alice_b.get("/users")
    client_for(worlds_app, MAIN_USER).get("/organizations")
    journal_a = control.get(f"/_mock/worlds/{a['id']}/requests").json()["requests"]
    assert [e["operationId"] for e in journal_a] == ["listFlows", "getCurrentUser"]
    journal_b = control.get(f"/_mock/worlds/{b['id']}/requests").json()["requests"]
    assert [e["operationId"] for e in journal_b] == ["listUsers"]
    assert [e["operationId"] for e in control.get("/_mock/requests").json()["requests"]] == [
        "listOrganizations"
    ]
    # the server's view, which flowdock-mock run reports on, has every world's requests
    assert [e["operationId"] for e in server.list()] == [
        "listFlows",
        "getCurrentUser",
        "listUsers",
        "listOrganizations",
    ]
    assert server.coverage()["requests"] == 4
    coverage_a = control.get(f"/_mock/worlds/{a['id']}/coverage").json()
    assert coverage_a["requests"] == 2
    faults = {"faults": {"listFlows": {"status": 503}}}
    assert control.put(f"/_mock/worlds/{a['id']}/faults", json=faults).status_code == 200
    assert alice_a.get("/flows").status_code == 503
    assert alice_b.get("/flows").status_code == 200
    assert client_for(worlds_app, MAIN_USER).get("/flows").status_code == 200
    assert control.delete(f"/_mock/worlds/{a['id']}/faults").status_code == 204
    assert alice_a.get("/flows").status_code == 200


def test_list_worlds__names_every_world_and_the_limits(
    control: Any, new_world: Callable[..., dict[str, Any]]
) -> None:
    world = new_world()
    listed = control.get("/_mock/worlds").json()
    assert [w["id"] for w in listed["worlds"]] == [DEFAULT_ID, world["id"]]
    assert "credentials" not in listed["worlds"][1]
    assert listed["limits"] == {
        "max_worlds": 1000,
        "idle_timeout_s": 3600.0,
        "world_memory_mb": 512,
        "max_document_bytes": 512 * 1024 * 1024 // 6,
    }


# --- lifecycle ----------------------------------------------------------------------------------
class Clock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def limited_app(clock: Clock) -> Any:
    """Two worlds at most, removed after 60 idle seconds of the injected clock."""
    return create_app(limits=Limits(max_worlds=2, idle_timeout_s=60), clock=clock)


@pytest.fixture
def limited(limited_app: Any) -> Iterator[Any]:
    yield limited_app
    delete_created_worlds(limited_app.worlds)


def test_idle_world__is_removed_after_the_timeout_and_use_keeps_it(limited: Any, clock: Clock) -> None:
    control = limited.test_client()
    kept = control.post("/_mock/worlds").json()
    idle = control.post("/_mock/worlds").json()
    alice = client_for(limited, alice_of(kept))
    clock.now += 45
    assert alice.get("/user").status_code == 200  # a request resets the idle time
    clock.now += 45  # kept: 45 s idle; idle: 90 s
    assert [w["id"] for w in control.get("/_mock/worlds").json()["worlds"]] == [DEFAULT_ID, kept["id"]]
    assert_error(control.get(f"/_mock/worlds/{idle['id']}"), 404, errors.NO_SUCH_WORLD)
    assert_error(client_for(limited, alice_of(idle)).get("/user"), 401, errors.INVALID_CREDENTIALS)
    clock.now += 61
    assert_error(alice.get("/user"), 401, errors.INVALID_CREDENTIALS)  # expired at its next request
    assert list(limited.worlds.by_id) == [DEFAULT_ID]
    assert limited.test_client().get("/_mock/health").status_code == 200


def test_idle_world__is_removed_by_any_request_once_a_sweep_is_due(limited: Any, clock: Clock) -> None:
    control = limited.test_client()
    idle = control.post("/_mock/worlds").json()
    busy = control.post("/_mock/worlds").json()
    alice = client_for(limited, alice_of(busy))
    clock.now += 61  # idle expired; a tenth of the timeout has passed, so a sweep is due
    assert idle["id"] in limited.worlds.by_id  # nothing has looked yet
    alice.get("/user")  # busy expired too (61 s), but any request runs the due sweep first
    assert list(limited.worlds.by_id) == [DEFAULT_ID]
    fresh = control.post("/_mock/worlds").json()
    clock.now += 3  # less than a tenth of the timeout: no sweep yet, and nothing expired anyway
    client_for(limited, alice_of(fresh)).get("/user")
    assert fresh["id"] in limited.worlds.by_id


def test_cap__one_world_more_is_429_until_one_goes(limited: Any, clock: Clock) -> None:
    control = limited.test_client()
    first = control.post("/_mock/worlds").json()
    control.post("/_mock/worlds")
    response = control.post("/_mock/worlds")
    assert_error(response, 429, errors.TOO_MANY_WORLDS, {"worlds": [errors.WORLD_CAP.format(limit=2)]})
    assert len(limited.worlds.by_id) == 3
    control.delete(f"/_mock/worlds/{first['id']}")
    assert control.post("/_mock/worlds").status_code == 201
    clock.now += 61  # both idle: expired worlds make room before the cap is checked
    assert control.post("/_mock/worlds").status_code == 201
    assert len(limited.worlds.by_id) == 2


def test_memory__a_deleted_or_expired_world_is_released(limited: Any, clock: Clock) -> None:
    control = limited.test_client()
    gone = control.post("/_mock/worlds").json()
    expired = control.post("/_mock/worlds").json()
    client_for(limited, alice_of(gone)).get("/flows")  # the world served requests, then goes
    refs = [weakref.ref(limited.worlds.by_id[w["id"]].store) for w in (gone, expired)]
    refs += [weakref.ref(limited.worlds.by_id[w["id"]]) for w in (gone, expired)]
    control.delete(f"/_mock/worlds/{gone['id']}")
    clock.now += 61
    limited.worlds.sweep()
    gc.collect()
    assert [r() for r in refs] == [None, None, None, None]
    assert all(w.id == DEFAULT_ID for w in limited.worlds.index.owner.values())
