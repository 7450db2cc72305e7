"""Private conversations and their messages: named after the other user, auto-created, `to`
instead of `flow`, :unread: tags, and the flow rules for listing, editing and deleting."""

from __future__ import annotations

from typing import Any

from mock_server import errors
from tests.conftest import FRANK_ID, assert_error


def send(client: Any, other: int, content: str = "psst", **body: Any) -> dict[str, Any]:
    r = client.post(f"/private/{other}/messages", json={"event": "message", "content": content, **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_list_private_conversations__named_after_the_other_user(alice) -> None:
    convs = alice.get("/private").json()
    assert [c["id"] for c in convs] == [2, 3]
    bob = convs[0]
    assert bob["name"] == "@bob" and bob["url"].endswith("/private/2")
    assert [u["id"] for u in bob["users"]] == [1, 2]


def test_get_private_conversation__creates_it_closed(alice) -> None:
    r = alice.get("/private/4")
    assert r.status_code == 200 and r.json()["open"] is False and r.json()["id"] == 4
    assert 4 in [c["id"] for c in alice.get("/private").json()]


def test_get_private_conversation__user_you_cannot_see_is_404(bob, as_user) -> None:
    stranger = as_user(FRANK_ID)
    assert stranger.get("/private/3").status_code == 404
    assert_error(stranger.get("/private/3"), 404, errors.NOT_FOUND)


def test_get_private_conversation__unknown_user_is_404(alice) -> None:
    assert_error(alice.get("/private/999"), 404, errors.NOT_FOUND)


def test_update_private_conversation__sets_open(alice) -> None:
    r = alice.put("/private/3", json={"open": False})
    assert r.status_code == 200 and r.json()["open"] is False and r.json()["id"] == 3


def test_send_private_message__201_with_to_and_unread_tag(alice, bob) -> None:
    m = send(alice, 2, "see https://x.io", tags=["ref"])
    assert m["to"] == "2" and "flow" not in m and m["user"] == "1"
    assert m["tags"] == [":unread:2", "ref", ":url"]
    assert bob.get("/private/1").json()["activity"]["mentions"] >= 1


def test_send_private_message__reopens_the_conversation_for_the_recipient(alice, bob) -> None:
    bob.put("/private/1", json={"open": False})
    send(alice, 2)
    assert bob.get("/private/1").json()["open"] is True


def test_send_private_message__same_uuid_returns_the_first(alice) -> None:
    first = send(alice, 2, uuid="u-1")
    assert send(alice, 2, uuid="u-1")["id"] == first["id"]


def test_send_private_message__status_is_not_supported(alice) -> None:
    r = alice.post("/private/2/messages", json={"event": "status", "content": "x"})
    # the contract's PrivateMessageInput: one shape per event, chat and files only
    assert_error(r, 400, errors.VALIDATION_ERROR, {"event": ["is not one of file, message here"]})


def test_list_private_messages__both_sides_see_the_same_messages(alice, bob) -> None:
    m = send(alice, 2, "hi bob")
    assert alice.get("/private/2/messages").json()[-1]["id"] == m["id"]
    last = bob.get("/private/1/messages").json()[-1]
    assert last["id"] == m["id"] and last["to"] == "2"


def test_list_private_messages__listing_rules_apply(alice) -> None:
    ids = [send(alice, 2, f"n{i}")["id"] for i in range(3)]
    got = alice.get("/private/2/messages", params={"since_id": ids[0], "limit": 1, "sort": "asc"}).json()
    assert [m["id"] for m in got] == [ids[1]]
    assert [m["id"] for m in alice.get("/private/2/messages", params={"search": "n2"}).json()] == [ids[2]]


def test_list_private_messages__other_pairs_are_unreachable(as_user) -> None:
    carol = as_user(3)
    assert [m["to"] for m in carol.get("/private/1/messages").json()] and all(
        m["to"] in ("1", "3") for m in carol.get("/private/1/messages").json()
    )


def test_show_private_message__404_after_unknown_id(alice) -> None:
    assert_error(alice.get("/private/2/messages/9999"), 404, errors.NOT_FOUND)


def test_edit_private_message__own_content_then_others_is_403(alice, bob) -> None:
    m = send(alice, 2, "typo")
    assert alice.put(f"/private/2/messages/{m['id']}", json={"content": "fixed"}).json() == {}
    assert alice.get(f"/private/2/messages/{m['id']}").json()["content"] == "fixed"
    r = bob.put(f"/private/1/messages/{m['id']}", json={"content": "hijack"})
    assert_error(r, 403, errors.NOT_YOUR_MESSAGE)


def test_edit_private_message__reading_removes_the_unread_tag(alice, bob) -> None:
    m = send(alice, 2)
    before = bob.get("/private/1").json()["activity"]["mentions"]
    bob.put(f"/private/1/messages/{m['id']}", json={"tags": []})
    assert bob.get("/private/1").json()["activity"]["mentions"] == before - 1


def test_delete_private_message__own_chat_truncated_others_403(alice, bob) -> None:
    m = send(alice, 2)
    assert_error(bob.delete(f"/private/1/messages/{m['id']}"), 403, errors.NOT_DELETABLE)
    r = alice.delete(f"/private/2/messages/{m['id']}")
    assert r.status_code == 200 and r.json() == {}
    assert alice.get(f"/private/2/messages/{m['id']}").json()["content"] == ""


def test_send_private_message__to_a_new_conversation_opens_it_for_both(alice, as_user) -> None:
    assert alice.get("/private/4").json()["open"] is False
    send(alice, 4)
    assert alice.get("/private/4").json()["open"] is True
    assert as_user(4).get("/private/1").json()["open"] is True
