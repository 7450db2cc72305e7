"""The message store without HTTP: paging cost, O(1) flow stats, tag generation, export/load."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.contract import load_default_world
from mock_server.store import Store
from mock_server.store import tags as tagging
from mock_server.store.listing import ListQuery, Timeline
from mock_server.store.message_model import Message
from tests.bounded import run_bounded

MILLION = 1_000_000
PROBES = 2 * MILLION.bit_length()
"""Messages two bisections (since_id, until_id) look at in a million: 40, not a million."""


class CountingItems:
    """A million messages made on demand, counting how many the pager looks at."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.reads = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Message:
        self.reads += 1
        return Message(id=i + 1, event="message", content=f"m{i + 1}", user=1, sent=i)

    def __iter__(self) -> Any:
        raise AssertionError("a page must not scan the flow")


@pytest.fixture
def million() -> tuple[Timeline, CountingItems]:
    timeline = Timeline()
    items = CountingItems(MILLION)
    timeline.items = items  # type: ignore[assignment]
    return timeline, items


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ListQuery(until_id=500_000, limit=30), list(range(499_970, 500_000))),
        (ListQuery(since_id=500_000, limit=30, sort="asc"), list(range(500_001, 500_031))),
        (ListQuery(limit=30), list(range(MILLION - 29, MILLION + 1))),
        (ListQuery(since_id=10, until_id=20, limit=100), list(range(11, 20))),
    ],
    ids=["until_id desc", "since_id asc", "newest", "both bounds"],
)
def test_timeline_page__reads_only_the_page_in_a_million_messages(million, query, expected) -> None:
    timeline, items = million
    assert [m.id for m in timeline.page(query, None)] == expected
    assert items.reads <= len(expected) + PROBES  # the page, and each id bound found by bisection


def test_timeline_page__a_matching_filter_still_reads_only_the_page(million) -> None:
    timeline, items = million
    page = timeline.page(
        ListQuery(until_id=700_000, limit=5, event="message"), lambda m: m.event == "message"
    )
    assert [m.id for m in page] == list(range(699_995, 700_000)) and items.reads <= 5 + PROBES


@pytest.fixture
def store() -> Store:
    return Store(load_default_world())


def main_flow(store: Store) -> Any:
    return next(f for f in store.flows.by_id.values() if f.parameterized_name == "main")


class NoScan(list):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        raise AssertionError("flow_stats must not scan the messages")


def test_flow_stats__is_counted_not_scanned(store: Store) -> None:
    flow = main_flow(store)
    log = store.messages.log(flow.id)
    expected = sum(1 for m in log.messages if ":unread:2" in m.tags)
    log.timeline.items = NoScan(log.timeline.items)
    stats = store.messages.flow_stats(flow, viewer=2)
    assert (
        stats["unread_mentions"] == expected
        and stats["last_message_id"] == list.__getitem__(log.timeline.items, -1).id
    )


def test_flow_stats__follows_posts_retags_and_removals(store: Store) -> None:
    flow = main_flow(store)
    before = store.messages.flow_stats(flow, viewer=2)["unread_mentions"]
    m = store.messages.send_message({"flow": flow.id, "event": "message", "content": "@bob hi"}, viewer=1)
    assert store.messages.flow_stats(flow, viewer=2)["unread_mentions"] == before + 1
    store.messages.edit_message("acme", "main", m["id"], {"tags": []}, viewer=2)
    assert store.messages.flow_stats(flow, viewer=2)["unread_mentions"] == before


def test_tags_build__docs_example_order() -> None:
    nicks = {"jackie": 123}
    got = tagging.build(["todo", "#feedback", "@all"], "Howdy-Doo @Jackie #awesome", nicks, 1, [1, 123])
    assert got == ["todo", "feedback", ":user:everyone", ":unread:123", ":user:123", "awesome"]


def test_tags_build__urls_do_not_yield_hashtags_or_mentions() -> None:
    got = tagging.build(None, "see https://x.io/a#frag and mail bob@example.com", {"bob": 2}, 1, [1, 2])
    assert got == [":url"]


def test_tags_build__own_mention_is_not_unread() -> None:
    assert tagging.build(None, "@alice note to self", {"alice": 1}, 1, [1]) == [":user:1"]


def test_tags_build__is_linear_in_the_text() -> None:
    # A long run without spaces made the highlight pass quadratic (`\S*@\S*` rescanned the run
    # from every position): 8,096 characters took 110 ms, a megabyte about half an hour.
    out = run_bounded(
        """
        from mock_server.store import tags
        nicks = {"bob": 2, "x": 3}
        for text in ("x" * 1_000_000, "#a" * 500_000, ("word " * 20 + "x" * 5000) * 40):
            print(tags.text_tags(text, nicks, 1, [1, 2]))
        """,
        seconds=60,
    )
    assert out.splitlines() == ["[]", "['a']", "[]"]  # only the first # starts a hashtag


def test_tags_build__addresses_and_mentions_are_not_highlights() -> None:
    got = tagging.build(None, "x@y.z bob\tmail:bob@example.com\nbob", {"bob": 2}, 1, [1, 2])
    assert got == [":highlight:2"]
    assert tagging.text_tags("@bob hi bob", {"bob": 2}, 1, [1, 2]) == [":user:2", ":unread:2"]


def test_export_then_load_keeps_posted_messages_threads_and_private_files(store: Store) -> None:
    flow = main_flow(store)
    store.messages.send_message({"flow": flow.id, "event": "message", "content": "kept"}, viewer=1)
    content = {"data": "aGVsbG8=", "file_name": "h.txt"}
    store.private.send_private_message(2, {"event": "file", "content": content}, viewer=1)
    exported = store.export()
    assert Store(exported).export() == exported
