"""The message and thread objects the store answers and emits (store/representation.py): the same
bytes as the generic clone-based renderer they replaced, on the default world and on a world that
has every kind of message and thread state, and never a container shared with the store or, within
one answer, between two places of it (but a page's one object per thread, see
``MessageStore.page_dicts``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from mock_server.contract import load_default_world
from mock_server.store import Store
from mock_server.store.listing import ListQuery
from mock_server.store.message_model import Message, Thread
from mock_server.store.records import clone
from mock_server.store.timefmt import iso_ms
from mock_server.world.generator import Sizes, generate

ALICE, BOB = 1, 2
EVERYTHING = ListQuery(limit=1000, sort="asc")


# --- the reference: the renderer as it was, every field through the generic deep copy ---------------
def reference_thread(thread: Thread, source: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": thread.id,
        "title": thread.title,
        "body": thread.body,
        "external_url": thread.external_url,
        "status": clone(thread.status),
        "fields": clone(thread.fields),
        "actions": clone(thread.actions),
        "source": source,
        "activities": thread.activities,
        "internal_comments": thread.internal_comments,
        "external_comments": thread.external_comments,
        "initial_message": thread.initial_message,
        "flow": thread.flow,
        "created_at": iso_ms(thread.created_at),
        "updated_at": iso_ms(thread.updated_at),
    }


def reference_source(store: Store, thread: Thread) -> dict[str, Any] | None:
    found = store.sources.by_id.get(thread.source_id) if thread.source_id is not None else None
    return None if found is None else store.sources.compact(found)


def reference_message(store: Store, flow_id: str | None, message: Message, to: int | None = None) -> Any:
    out: dict[str, Any] = {"id": message.id, "event": message.event}
    if flow_id is not None:
        out["flow"] = flow_id
    if to is not None:
        out["to"] = str(to)
    out.update(
        {
            "content": clone(message.content),
            "sent": message.sent,
            "user": str(message.user),
            "created_at": iso_ms(message.sent),
            "tags": list(message.tags),
            "uuid": message.uuid,
            "app": message.app,
            "attachments": clone(message.attachments),
            "edited": message.edited,
            "edited_at": iso_ms(message.edited) if message.edited is not None else None,
            "emojiReactions": clone(message.reactions) if message.reactions else {},
        }
    )
    if message.thread_id is not None and flow_id is not None:
        out["thread_id"] = message.thread_id
        thread = store.messages.logs[flow_id].threads.get(message.thread_id)
        if thread is not None:
            out["thread"] = reference_thread(thread, reference_source(store, thread))
    if message.external_user_name is not None:
        out["external_user_name"] = message.external_user_name
    if message.event in ("activity", "discussion"):
        out["title"] = message.title
        out["body"] = message.body
        if message.author is not None:
            out["author"] = clone(message.author)
    return out


# --- the worlds ------------------------------------------------------------------------------------------
def busy_world() -> Store:
    """The default world, then every write that changes how a message or a thread renders."""
    store = Store(load_default_world())
    messages = store.messages
    first = messages.send_flow_message(
        "acme", "main", {"event": "message", "content": "deploy #ci @bob", "tags": ["x"]}, viewer=ALICE
    )
    messages.create_message_comment("acme", "main", first["id"], {"content": "on it"}, viewer=BOB)
    messages.edit_message("acme", "main", first["id"], {"content": "deploy 2", "tags": ["y"]}, viewer=ALICE)
    log = messages.log(first["flow"])
    messages.react(log, first["id"], ALICE, "thumbsup", "add")
    messages.react(log, first["id"], BOB, "thumbsup", "add")
    messages.react(log, first["id"], BOB, "tada", "add")
    messages.react(log, first["id"], BOB, "tada", "remove")
    gone = messages.send_flow_message("acme", "main", {"event": "message", "content": "oops"}, viewer=ALICE)
    messages.delete_message("acme", "main", gone["id"], viewer=ALICE)  # truncated: content "", edited
    state = {
        "title": "PR 7",
        "body": "<p>body</p>",
        "external_url": "https://example.com/pr/7",
        "status": {"color": "green", "value": "open"},
        "fields": [{"label": "repo", "value": "acme/api"}, {"label": "branch", "value": "main"}],
        "actions": [{"@type": "ViewAction", "name": "Diff", "url": "https://example.com/pr/7/diff"}],
    }
    author = {"name": "CI", "avatar": "https://example.com/ci.png"}
    activity = {"event": "activity", "title": "opened", "author": author, "external_thread_id": "pr-7"}
    messages.post_as_source(1, {**activity, "thread": state})
    messages.post_as_source(1, {**activity, "event": "discussion", "body": "looks good"})
    messages.post_as_source(
        1, {**activity, "thread": {**state, "status": {"color": "red", "value": "closed"}}}
    )
    messages.post_integration_message(
        store.sources.by_id[1].flow_token, {"event": "message", "content": "from a bot", "thread_id": None}
    )
    messages.push_chat_message(
        store.flows.by_id[first["flow"]].api_token,
        {"content": "pushed", "external_user_name": "pusher", "tags": ["push"]},
    )
    sent = store.private.send_private_message(BOB, {"event": "message", "content": "hi @bob"}, viewer=ALICE)
    store.messages.react(store.private.conversation(BOB, viewer=ALICE), sent["id"], BOB, "wave", "add")
    store.private.edit_private_message(BOB, sent["id"], {"tags": ["p"]}, viewer=ALICE)
    return store


WORLDS = {
    "default": lambda: Store(load_default_world()),
    "busy": busy_world,
    "generated": lambda: Store(generate(seed=7, sizes=Sizes(flows=4, messages_per_flow=60))),
}


@pytest.fixture(scope="module", params=sorted(WORLDS))
def store(request: pytest.FixtureRequest) -> Store:
    return WORLDS[request.param]()


def member(store: Store, flow_id: str) -> int:
    return next(
        uid for uid in store.flows.by_id[flow_id].members if store.flows.by_id[flow_id].is_member(uid)
    )


def paths(store: Store) -> Iterator[tuple[str, str, str, int]]:
    """``(flow id, organization name, flow name, a member)`` of every flow with a member."""
    for flow in store.flows.by_id.values():
        if any(flow.is_member(uid) for uid in flow.members):
            org = store.organizations.by_id[flow.organization_id].parameterized_name
            yield flow.id, org, flow.parameterized_name, member(store, flow.id)


def containers(value: Any) -> Iterator[Any]:
    """Every dict and list inside a JSON-shaped value (itself included)."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from containers(v)
    elif isinstance(value, list):
        yield value
        for v in value:
            yield from containers(v)


def stored_containers(store: Store) -> set[int]:
    """The ids of every dict and list the store's messages and threads hold."""
    held: set[int] = set()
    logs: list[Any] = [*store.messages.logs.values(), *store.private.conversations.values()]
    for log in logs:
        for message in log.messages:
            for name in Message.__slots__:
                held.update(id(c) for c in containers(getattr(message, name)))
    for log in store.messages.logs.values():
        for thread in log.threads.values():
            for name in Thread.__slots__:
                held.update(id(c) for c in containers(getattr(thread, name)))
    return held


def assert_nothing_shared(held: set[int], answer: Any) -> None:
    """No container of ``answer`` is one of the store's (``held``), and none appears twice in it,
    but for a page's threads: one object may be the ``thread`` of each of its messages there."""
    found: list[int] = []
    threads: dict[str, int] = {}
    for item in answer if isinstance(answer, list) else [answer]:
        found.append(id(item))
        for key, value in item.items():
            if key == "thread":
                if threads.get(item["thread_id"]) == id(value):
                    continue  # this thread's object, met on an earlier message of the page
                threads[item["thread_id"]] = id(value)
            found.extend(id(c) for c in containers(value))
    assert len(found) == len(set(found)), "a container appears twice in one answer"
    assert not set(found) & held, "an answer shares a container with the store"


# --- the tests -------------------------------------------------------------------------------------------
def test_list_flow_messages__renders_the_bytes_of_the_reference(store: Store) -> None:
    held = stored_containers(store)
    for flow_id, org, name, viewer in paths(store):
        page = store.messages.list_flow_messages(org, name, EVERYTHING, viewer=viewer)
        stored = store.messages.log(flow_id).messages
        assert orjson.dumps(page) == orjson.dumps([reference_message(store, flow_id, m) for m in stored])
        assert_nothing_shared(held, page)


def test_show_message__renders_the_bytes_of_the_reference(store: Store) -> None:
    held = stored_containers(store)
    for flow_id, org, name, viewer in paths(store):
        for message in store.messages.log(flow_id).messages:
            shown = store.messages.show_message(org, name, message.id, viewer=viewer)
            assert orjson.dumps(shown) == orjson.dumps(reference_message(store, flow_id, message))
            assert_nothing_shared(held, shown)


def test_list_thread_messages__renders_the_bytes_of_the_reference(store: Store) -> None:
    held = stored_containers(store)
    for flow_id, org, name, viewer in paths(store):
        log = store.messages.log(flow_id)
        for thread in log.threads.values():
            page = store.threads.list_thread_messages(org, name, thread.id, EVERYTHING, viewer=viewer)
            expected = [reference_message(store, flow_id, m) for m in log.thread_timelines[thread.id].items]
            assert orjson.dumps(page) == orjson.dumps(expected)
            assert_nothing_shared(held, page)


def test_get_thread_and_list_flow_threads__render_the_bytes_of_the_reference(store: Store) -> None:
    held = stored_containers(store)
    for flow_id, org, name, viewer in paths(store):
        log = store.messages.log(flow_id)
        listed = store.threads.list_flow_threads(org, name, limit=1000, viewer=viewer).threads
        assert {t["id"] for t in listed} == set(log.threads)
        for rendered in listed:
            thread = log.threads[rendered["id"]]
            expected = orjson.dumps(reference_thread(thread, reference_source(store, thread)))
            assert orjson.dumps(rendered) == expected
            shown = store.threads.get_thread(org, name, thread.id, viewer=viewer)
            assert orjson.dumps(shown) == expected
            assert_nothing_shared(held, shown)
        assert_nothing_shared(held, listed)


def test_list_private_messages__renders_the_bytes_of_the_reference(store: Store) -> None:
    held = stored_containers(store)
    for (one, other), conv in store.private.conversations.items():
        page = store.private.list_private_messages(other, EVERYTHING, viewer=one)
        expected = [reference_message(store, None, m, to=conv.other(m.user)) for m in conv.messages]
        assert orjson.dumps(page) == orjson.dumps(expected)
        assert_nothing_shared(held, page)


def test_busy_world__has_what_the_comparison_is_about() -> None:
    """The busy world holds each case the renderer's shortcuts distinguish."""
    store = busy_world()
    flow_messages = [m for log in store.messages.logs.values() for m in log.messages]
    threads = [t for log in store.messages.logs.values() for t in log.threads.values()]
    private = [m for conv in store.private.conversations.values() for m in conv.messages]
    assert any(m.reactions for m in flow_messages) and any(m.reactions for m in private)
    assert any(m.edited is not None and m.content == "" for m in flow_messages)
    assert any(m.edited is not None and m.content for m in flow_messages)
    assert any(m.attachments for m in flow_messages)
    assert any(isinstance(m.content, dict) for m in flow_messages)
    assert any(m.author is not None for m in flow_messages)
    assert any(m.external_user_name is not None for m in flow_messages)
    assert any(t.status and t.fields and t.actions and t.source_id is not None for t in threads)
    assert any(len(store.messages.log(t.flow).thread_timelines[t.id]) > 2 for t in threads)


def test_list_flow_messages__shows_each_write_on_the_next_page() -> None:
    """A page rendered before a write never leaks into the one after it: edits, tags, reactions
    and a thread's new state all show on the next page."""
    store = Store(load_default_world())
    messages = store.messages
    listed = messages.list_flow_messages("acme", "main", EVERYTHING, viewer=ALICE)
    chat = next(m for m in listed if m["event"] == "message" and m["user"] == str(ALICE))
    integration = next(m for m in listed if m.get("thread", {}).get("source"))
    messages.edit_message("acme", "main", chat["id"], {"content": "changed", "tags": ["new"]}, viewer=ALICE)
    messages.react(messages.log(chat["flow"]), chat["id"], BOB, "tada", "add")
    state = {"title": "retitled", "status": {"color": "red", "value": "closed"}, "fields": [], "actions": []}
    author = {"name": "CI"}
    messages.post_as_source(
        integration["thread"]["source"]["id"],
        {
            "event": "activity",
            "title": "closed",
            "author": author,
            "thread_id": integration["thread_id"],
            "thread": state,
        },
    )
    again = messages.list_flow_messages("acme", "main", EVERYTHING, viewer=ALICE)
    stored = messages.log(chat["flow"]).messages
    assert orjson.dumps(again) == orjson.dumps([reference_message(store, chat["flow"], m) for m in stored])
    edited = next(m for m in again if m["id"] == chat["id"])
    assert (edited["content"], edited["tags"], edited["emojiReactions"]) == (
        "changed",
        ["new"],
        {"tada": ["2"]},
    )
    retitled = next(m for m in again if m["id"] == integration["id"])["thread"]
    assert (retitled["title"], retitled["status"]) == ("retitled", {"color": "red", "value": "closed"})


@pytest.mark.parametrize(
    "value",
    [
        {"name": "CI", "avatar": None, "n": 1, "ok": True, "x": 1.5},
        ["a", 1, None],
        {"a": [1, {"b": "x"}], "c": None},
        [{"label": "repo", "value": "acme/api"}, ["nested"]],
    ],
    ids=["flat dict", "flat list", "nested dict", "nested list"],
)
def test_clone__equals_the_value_and_shares_no_container_with_it(value: Any) -> None:
    copied = clone(value)
    assert orjson.dumps(copied) == orjson.dumps(value)
    assert not {id(c) for c in containers(copied)} & {id(c) for c in containers(value)}


def test_clone__makes_plain_lists_and_dicts_of_tuples_and_dict_subclasses() -> None:
    from collections import OrderedDict

    copied = clone(OrderedDict(a=(1, {"b": ()})))
    assert type(copied) is dict and copied == {"a": [1, {"b": []}]} and type(copied["a"]) is list
