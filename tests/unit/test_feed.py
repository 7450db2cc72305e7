"""The journal's live feed (runtime/feed.py): backlog after Last-Event-ID, live entries, clears,
redaction, a stalled subscriber dropped instead of growing, an id from an earlier process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mock_server.contract import OperationIndex, load_spec
from mock_server.runtime import feed as feed_module
from mock_server.runtime.feed import JournalFeed, parse_last_event_id
from mock_server.runtime.journal import Entry, Journal
from mock_server.runtime.redaction import Credentials

OPERATIONS = {"listFlows": ("GET", "/flows")}


def entry(path: str = "/flows", **fields: Any) -> Entry:
    base: dict[str, Any] = {
        "id": 0, "time": 1_700_000_000.0, "method": "GET", "path": path, "query": b"", "headers": [],
        "body": b"", "body_size": 0, "operation_id": "listFlows", "status": 200, "duration": 0.001,
        "user_id": 1, "normalizations": [], "violations": [], "forced": None,
    }  # fmt: skip
    base.update(fields)
    return Entry(**base)


def parse(chunk: bytes) -> tuple[str, int, dict[str, Any]]:
    """One SSE event -> (event name, id, data)."""
    fields = dict(line.split(": ", 1) for line in chunk.decode().strip().split("\n"))
    return fields["event"], int(fields["id"]), json.loads(fields["data"])


async def next_event(events: AsyncIterator[bytes]) -> tuple[str, int, dict[str, Any]]:
    while True:
        chunk = await asyncio.wait_for(anext(events), 5)
        if not chunk.startswith((b"retry:", b":")):
            return parse(chunk)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_backlog_after_the_given_id_then_live_entries_in_order() -> None:
    async def scenario() -> None:
        journal = Journal(10, OPERATIONS)
        feed = JournalFeed(journal)
        for path in ("/flows/a", "/flows/b", "/flows/c"):
            journal.record(entry(path))
        events = feed.events(after=1)
        assert await next_event(events) == ("request", 2, journal.list()[1])
        assert (await next_event(events))[:2] == ("request", 3)
        assert feed.open_connections == 1
        journal.record(entry("/flows/d"))
        name, entry_id, data = await next_event(events)
        assert (name, entry_id, data["path"]) == ("request", 4, "/flows/d")
        await events.aclose()
        assert feed.open_connections == 0

    run(scenario())


def test_without_an_id_the_whole_ring_and_a_clear_is_announced() -> None:
    async def scenario() -> None:
        journal = Journal(2, OPERATIONS)
        feed = JournalFeed(journal)
        for path in ("/1", "/2", "/3"):
            journal.record(entry(path))
        events = feed.events(after=None)
        assert [(await next_event(events))[1] for _ in range(2)] == [2, 3]  # the ring holds two
        journal.clear()
        assert (await next_event(events))[0] == "cleared"
        journal.record(entry("/4"))
        assert (await next_event(events))[1] == 4
        await events.aclose()

    run(scenario())


def test_entries_are_sent_redacted_as_the_journal_reads_them() -> None:
    async def scenario() -> None:
        journal = Journal(10, OPERATIONS, Credentials(OperationIndex(load_spec())))
        feed = JournalFeed(journal)
        events = feed.events(after=None)
        await asyncio.wait_for(anext(events), 5)  # retry: line; subscribed from here on
        journal.record(
            entry(
                query=b"access_token=s3cret&limit=5",
                headers=[(b"authorization", b"Basic c2VjcmV0Og=="), (b"content-type", b"application/json")],
                body=b'{"password": "hunter2", "content": "hi"}',
                body_size=40,
            )
        )
        _, _, data = await next_event(events)
        assert data == journal.list()[0]
        text = json.dumps(data)
        assert "s3cret" not in text and "hunter2" not in text and "c2VjcmV0Og" not in text
        assert data["headers"]["authorization"] == "Basic [redacted]"
        await events.aclose()

    run(scenario())


def test_a_subscriber_that_stops_reading_is_dropped_not_buffered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "QUEUE_SIZE", 3)

    async def scenario() -> None:
        journal = Journal(100, OPERATIONS)
        feed = JournalFeed(journal)
        events = feed.events(after=None)
        await asyncio.wait_for(anext(events), 5)  # subscribed, then it stops reading
        for i in range(10):
            journal.record(entry(f"/{i}"))
        await asyncio.sleep(0)  # let the loop run the queued puts (not a wait for time)
        assert feed.open_connections == 0  # dropped at the fourth entry, its queue emptied
        # What it reads now ends the connection (after the backlog it had not been sent yet), so
        # the client reconnects and resumes from its Last-Event-ID.
        ids = []
        with pytest.raises(StopAsyncIteration):
            while True:
                ids.append((await next_event(events))[1])
        assert ids == list(range(1, 11))
        resumed = feed.events(after=3)
        assert [(await next_event(resumed))[1] for _ in range(7)] == list(range(4, 11))
        await resumed.aclose()

    run(scenario())


def test_an_id_from_an_earlier_server_starts_over() -> None:
    async def scenario() -> None:
        journal = Journal(10, OPERATIONS)
        feed = JournalFeed(journal)
        journal.record(entry("/only"))
        events = feed.events(after=500)
        assert (await next_event(events))[:2] == ("cleared", 0)
        assert (await next_event(events))[1] == 1
        await events.aclose()

    run(scenario())


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("42", 42), (" 7 ", 7), ("", None), ("abc", None), ("-1", None), ("9" * 30, None)],
)
def test_last_event_id_is_an_entry_id_or_nothing(header: str | None, expected: int | None) -> None:
    assert parse_last_event_id(header) == expected
