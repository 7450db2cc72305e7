"""Threads: listing (newest updated first, Link rel=next), one thread, its messages, posting into
it, and the counters that follow what is posted."""

from __future__ import annotations

import re
from typing import Any

from mock_server import errors
from tests.conftest import assert_error

THREADS = "/flows/acme/main/threads"


def new_thread(client: Any, text: str = "topic") -> dict[str, Any]:
    r = client.post("/flows/acme/main/messages", json={"event": "message", "content": text})
    assert r.status_code == 201, r.text
    return r.json()


def test_list_flow_threads__newest_updated_first(alice) -> None:
    body = alice.get(THREADS, params={"limit": 100}).json()
    updated = [t["updated_at"] for t in body]
    assert updated == sorted(updated, reverse=True) and len(body) > 3


def test_list_flow_threads__a_reply_moves_its_thread_to_the_top(alice) -> None:
    first = new_thread(alice, "old")
    new_thread(alice, "newer")
    alice.post(f"{THREADS}/{first['thread_id']}/messages", json={"event": "message", "content": "bump"})
    assert alice.get(THREADS, params={"limit": 1}).json()[0]["id"] == first["thread_id"]


def test_list_flow_threads__link_header_points_to_the_next_page(alice) -> None:
    r = alice.get(THREADS, params={"limit": 2})
    page = r.json()
    m = re.fullmatch(r'<(.+/flows/acme/main/threads)\?until=([^>]+)>; rel="next"', r.headers["link"])
    assert m and m.group(2) == page[-1]["updated_at"]
    rest = alice.get(THREADS, params={"until": m.group(2), "limit": 100}).json()
    everything = alice.get(THREADS, params={"limit": 100}).json()
    assert [t["id"] for t in page + rest] == [t["id"] for t in everything]


def test_list_flow_threads__no_link_header_on_the_last_page(alice) -> None:
    assert "link" not in alice.get(THREADS, params={"limit": 100}).headers


def test_list_flow_threads__since_keeps_newer_threads(alice) -> None:
    everything = alice.get(THREADS, params={"limit": 100}).json()
    since = everything[2]["updated_at"]
    assert [t["id"] for t in alice.get(THREADS, params={"since": since}).json()] == [
        t["id"] for t in everything[:2]
    ]


def test_list_flow_threads__unjoined_flow_is_403(alice) -> None:
    assert_error(alice.get("/flows/acme/random/threads"), 403, errors.NOT_A_MEMBER)


def test_get_thread__returns_the_thread(alice) -> None:
    m = new_thread(alice, "look here")
    t = alice.get(f"{THREADS}/{m['thread_id']}").json()
    assert t == m["thread"]


def test_get_thread__unknown_is_404(alice) -> None:
    assert_error(alice.get(f"{THREADS}/nope"), 404, errors.NOT_FOUND)


def test_post_thread_message__201_in_that_thread(alice) -> None:
    root = new_thread(alice)
    r = alice.post(f"{THREADS}/{root['thread_id']}/messages", json={"event": "message", "content": "reply"})
    assert r.status_code == 201
    assert r.json()["thread_id"] == root["thread_id"] and r.json()["thread"]["internal_comments"] == 2


def test_post_thread_message__unknown_thread_is_404(alice) -> None:
    r = alice.post(f"{THREADS}/nope/messages", json={"event": "message", "content": "x"})
    assert_error(r, 404, errors.NOT_FOUND)


def test_list_thread_messages__only_that_thread_ascending(alice) -> None:
    root = new_thread(alice)
    url = f"{THREADS}/{root['thread_id']}/messages"
    reply = alice.post(url, json={"event": "message", "content": "r"}).json()
    new_thread(alice, "elsewhere")
    assert [m["id"] for m in alice.get(url).json()] == [root["id"], reply["id"]]
    assert [m["id"] for m in alice.get(url, params={"limit": 1}).json()] == [reply["id"]]


def test_thread_counters__follow_comments_and_updated_at(alice) -> None:
    root = new_thread(alice)
    before = root["thread"]["updated_at"]
    alice.post(f"/flows/acme/main/messages/{root['id']}/comments", json={"content": "c"})
    t = alice.get(f"{THREADS}/{root['thread_id']}").json()
    assert t["internal_comments"] == 2 and t["updated_at"] > before and t["activities"] == 0
