"""The Faker world: deterministic per seed, complete, and the committed default is current."""

from __future__ import annotations

import json
from collections import Counter

from mock_server.contract import load_default_world
from mock_server.store import Store
from mock_server.world import DEFAULT_SEED, MAIN_USER, generate


def test_same_seed_gives_the_same_world() -> None:
    assert generate(7) == generate(7)


def test_a_different_seed_gives_a_different_world() -> None:
    a, b = generate(7), generate(8)
    assert a["messages"] != b["messages"]
    assert [u["name"] for u in a["users"][2:]] != [u["name"] for u in b["users"][2:]]


def test_committed_default_world_is_the_generator_output() -> None:
    # If this fails after a Faker upgrade or a generator change: `make fixtures`, review the diff.
    assert load_default_world() == json.loads(json.dumps(generate(DEFAULT_SEED)))


def test_default_world_has_what_the_readme_promises() -> None:
    world = load_default_world()
    assert len(world["organizations"]) >= 2
    assert len(world["users"]) >= 8
    assert all(any(m["admin"] for m in org["members"]) for org in world["organizations"])
    assert {f["access_mode"] for f in world["flows"]} == {"invitation", "link", "organization"}
    events = Counter(m["event"] for m in world["messages"])
    assert sum(events.values()) >= 80
    assert {"message", "status", "comment", "file", "activity", "discussion"} <= set(events)
    assert world["threads"] and world["private_conversations"] and world["sources"]
    assert world["invitations"] and world["files"] and world["oauth_applications"]


def test_main_user_anchors_do_not_depend_on_the_seed() -> None:
    for seed in (1, 2):
        user = generate(seed)["users"][0]
        assert {k: user[k] for k in MAIN_USER} == MAIN_USER


def test_main_user_sees_some_flows_but_not_all() -> None:
    store = Store(load_default_world())
    flows = store.flows
    alice = MAIN_USER["id"]
    unjoined_org_flow = [
        f
        for f in flows.by_id.values()
        if f.access_mode == "organization" and alice not in f.members and flows.can_see(f, alice)
    ]
    invisible = [
        f for f in flows.by_id.values() if f.access_mode == "invitation" and not flows.can_see(f, alice)
    ]
    assert unjoined_org_flow and invisible


def test_export_then_load_is_identity() -> None:
    store = Store(load_default_world())
    exported = store.export()
    assert Store(exported).export() == exported


def test_readme_and_getting_started_list_the_main_users_credentials() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for page in (root / "README.md", root / "docs" / "getting-started.md"):
        text = page.read_text(encoding="utf-8")
        for value in (MAIN_USER["email"], MAIN_USER["password"], MAIN_USER["api_token"]):
            assert value in text, page
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert f"curl -u {MAIN_USER['api_token']}: http://127.0.0.1:8080/flows" in readme


def test_world_problems__repeats_and_message_references_are_named_by_their_places() -> None:
    import copy

    from mock_server import errors
    from mock_server.world.documents import ASCENDING, world_problems

    doc = copy.deepcopy(load_default_world())
    messages = doc["messages"]
    flow = messages[0]["flow"]
    # messages of one flow that start no thread (a thread's first message changed would bring
    # its thread's problems too)
    initial = {(t["flow"], t.get("initial_message")) for t in doc["threads"]}
    same_flow = [i for i, m in enumerate(messages) if m["flow"] == flow and (flow, m["id"]) not in initial]
    a, b, c, d, e = same_flow[1:6]
    messages[b]["id"] = messages[a]["id"]  # a repeat, so also not after the message before it
    messages[c]["user"] = 99999
    messages[d]["thread_id"] = "no-such-thread"
    messages[e].update(flow="no-such-flow", thread_id=None)
    doc["users"][1]["email"] = doc["users"][0]["email"].upper()  # e-mail addresses compared as lower case

    problems = world_problems(doc)

    assert problems == {
        "users.1.email": [f"{errors.TAKEN} (users.0.email)"],
        f"messages.{b}.id": [f"{errors.TAKEN} (messages.{a}.id)", ASCENDING],
        f"messages.{c}.user": ["99999 is not the id of a user in this document"],
        f"messages.{d}.thread_id": ["'no-such-thread' is not the id of a thread of this message's flow"],
        f"messages.{e}.flow": ["'no-such-flow' is not the id of a flow in this document"],
    }
