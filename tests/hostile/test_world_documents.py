"""World documents mutated at random: each is loaded and round-trips, or is refused and changes nothing.

Hypothesis takes the seeded world's export and changes it the way a careless or hostile author
would: a value somewhere replaced by any JSON value (hostile strings, huge integers, nesting), a
key removed, an item of a list duplicated (same ids, tokens, emails). ``PUT /_mock/state`` must
then either answer 200, serve that document back with everything it said kept and export a
document that imports to itself, or answer 400 in Flowdock's shape and leave the state exactly
as it was. Derandomized and bounded, so every run checks the same documents.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import errors
from mock_server.app import create_app
from mock_server.contract import load_default_world
from tests.hostile.corpus import EXTRA

WORLD = load_default_world()
"""The seeded world: the document every example starts from (never mutated itself)."""

hostile_text = st.one_of(st.text(max_size=20), st.sampled_from(EXTRA[:14]))
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(hostile_text, children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the document a value sits (not the root)."""
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):  # the first few items of long lists are enough
            found += _paths(value, (*prefix, i))
    return found


PATHS = _paths(WORLD)
READS = (
    "/flows",
    "/flows/all",
    "/flows/acme/main/messages",
    "/flows/acme/main/threads",
    "/flows/acme/main/sources",
    "/private",
    "/private/2/messages",
    "/users",
    "/organizations",
    "/sources",
)
"""What the main user reads after a document loads: whatever it holds, never a 5xx."""


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


Mutation = tuple[tuple[Any, ...], str, Any]
mutations = st.lists(
    st.tuples(st.sampled_from(PATHS), st.sampled_from(("replace", "remove", "duplicate")), json_values),
    min_size=1,
    max_size=3,
)
"""(where, what, new value): a small description Hypothesis can show when an example fails."""


def mutate(changes: list[Mutation]) -> Any:
    """The seeded world with the changes applied (one that no longer has its place is skipped)."""
    doc = json.loads(json.dumps(WORLD))
    for path, kind, value in changes:
        try:
            parent = _parent(doc, path)
            key = path[-1]
            parent[key]
        except (KeyError, IndexError, TypeError):
            continue
        if kind == "remove":
            del parent[key]
        elif kind == "duplicate" and isinstance(parent, list):
            parent.append(json.loads(json.dumps(parent[key])))
        else:
            parent[key] = value
    return doc


def _kept(sent: Any, served: Any) -> bool:
    """Everything the document said is in what the server serves back (defaults may be added)."""
    if isinstance(sent, dict):
        return isinstance(served, dict) and all(k in served and _kept(v, served[k]) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(served, list) and len(sent) == len(served) and all(map(_kept, sent, served))
    return bool(sent == served and type(sent) is type(served))


@pytest.fixture(scope="module")
def world_app() -> Any:
    return create_app(validate_responses=True)


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=mutations)
def test_replace_state__mutated_world_loads_and_round_trips_or_is_refused_unchanged(
    world_app: Any, changes: list[Mutation]
) -> None:
    doc = mutate(changes)
    world_app.store.reset()
    client = world_app.test_client()
    before = client.get("/_mock/state").json()
    text = json.dumps(doc)  # ASCII with \u escapes: lone surrogates travel as JSON allows
    response = client.put("/_mock/state", content=text.encode(), headers={"content-type": "application/json"})
    assert response.status_code in (200, 400), response.text[:500]
    if response.status_code == 400:
        body = response.json()
        assert body["message"] in (errors.INVALID_WORLD, errors.VALIDATION_ERROR), body
        assert body["errors"], body
        assert client.get("/_mock/state").json() == before
        return
    served = client.get("/_mock/state").json()
    assert served == response.json()
    assert _kept(doc, served)
    again = client.put("/_mock/state", json=served)
    assert again.status_code == 200, again.text[:500]
    assert client.get("/_mock/state").json() == served
    auth = (WORLD["users"][0]["api_token"], "")
    for path in READS:
        assert client.get(path, auth=auth).status_code < 500, path


@pytest.mark.parametrize(
    "status",
    [
        {"color": "pink", "value": "open"},  # outside Flowdock's ten colours
        {"value": "open"},
        {"color": "red"},
        {"color": "red", "value": 5},
        "green",
    ],
)
def test_replace_state__a_thread_status_flowdock_could_not_show_is_refused(
    world_app: Any, status: Any
) -> None:
    # Accepted once, it made every read of the thread's messages answer 500 (response validation
    # holds the spec's ThreadStatus): the document's check refuses it and the state stays.
    doc = json.loads(json.dumps(WORLD))
    thread = next(t for t in doc["threads"] if t["status"])
    thread["status"] = status
    world_app.store.reset()
    client = world_app.test_client()
    before = client.get("/_mock/state").json()
    response = client.put("/_mock/state", json=doc)
    assert response.status_code == 400, response.text[:500]
    assert response.json()["message"] == errors.INVALID_WORLD
    assert "status" in json.dumps(response.json()["errors"])
    assert client.get("/_mock/state").json() == before


def test_replace_state__a_thread_status_in_flowdocks_colours_is_served(world_app: Any) -> None:
    doc = json.loads(json.dumps(WORLD))
    thread = next(t for t in doc["threads"] if t["status"])
    thread["status"] = {"color": "purple", "value": "in review"}
    world_app.store.reset()
    client = world_app.test_client()
    assert client.put("/_mock/state", json=doc).status_code == 200
    auth = (WORLD["users"][0]["api_token"], "")
    for path in READS:
        assert client.get(path, auth=auth).status_code == 200, path
