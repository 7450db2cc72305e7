"""flowdock-api-wrapper (PyPI 1.1, module ``flowdock``) against the mock on a real socket.

The wrapper is one of the legacy clients the mock must serve unchanged (docs/flowdock.md §10): it posts
``"tags": null, "thread_id": null`` on every message, sends list filters as a JSON body on a GET,
and asserts the status codes Flowdock answered (201 on posts, 200 and ``{}`` on edits, 200 ``{}``
or an empty 204 on deletes). Its base URL is the module global ``API``, read at call time. Every
call below goes through the wrapper; the checks read what it returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flowdock
import pytest

from mock_server.app import create_app
from tests.clients.conftest import LiveServer, serve
from tests.conftest import ALICE, BOB

pytestmark = pytest.mark.client


@pytest.fixture
def api(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    """Point the wrapper at the live server; forget its user-id cache."""
    monkeypatch.setattr(flowdock, "API", live.base_url)
    if hasattr(flowdock.get_uid, "cache"):
        monkeypatch.delattr(flowdock.get_uid, "cache")
    return live


@pytest.fixture
def main_flow(api: LiveServer) -> Any:
    """Alice in acme/main, through the wrapper."""
    return flowdock.connect(token=api.token(ALICE["id"]), org="acme", flow="main")


# --- flow messages -------------------------------------------------------------------------------
def test_send__posts_a_message_and_returns_it(main_flow: Any) -> None:
    message = main_flow.send("Hello from flowdock-api-wrapper")
    assert message["event"] == "message"
    assert message["content"] == "Hello from flowdock-api-wrapper"
    assert message["user"] == str(ALICE["id"])
    assert message["thread_id"] == message["thread"]["id"]


def test_send__with_tags(main_flow: Any) -> None:
    message = main_flow.send("tagged", tags=["deploy", "prod"])
    assert {"deploy", "prod"} <= set(message["tags"])


def test_list__limit_1_returns_the_newest_message(main_flow: Any) -> None:
    main_flow.send("first")
    newest = main_flow.send("second")
    listed = main_flow.list(limit=1)
    assert [m["id"] for m in listed] == [newest["id"]]
    assert listed[0]["content"] == "second"


def test_list__filters_by_tags_and_since_id(main_flow: Any) -> None:
    before = main_flow.send("untagged")
    tagged = main_flow.send("tagged", tags=["wrapper"])
    listed = main_flow.list(tags="wrapper", since_id=before["id"])
    assert [m["id"] for m in listed] == [tagged["id"]]


def test_show__returns_the_message(main_flow: Any) -> None:
    sent = main_flow.send("show me")
    shown = main_flow.show(sent["id"])
    assert (shown["id"], shown["content"]) == (sent["id"], "show me")


def test_edit__changes_content_and_tags(main_flow: Any) -> None:
    sent = main_flow.send("before")
    main_flow.edit(sent["id"], content="after", tags=["edited"])  # the wrapper asserts 200 and {}
    shown = main_flow.show(sent["id"])
    assert shown["content"] == "after"
    assert "edited" in shown["tags"]
    assert shown["edited"] is not None


def test_delete__empties_own_chat_message(main_flow: Any) -> None:
    sent = main_flow.send("regrettable")
    main_flow.delete(sent["id"])  # the wrapper asserts 200 {} or an empty 204
    assert main_flow.show(sent["id"])["content"] == ""


# --- integrations (flow_token) -------------------------------------------------------------------
def activity(flow_token: str, title: str) -> None:
    """What an integration posts through the wrapper: an activity in an external thread (202)."""
    flowdock.connect(flow_token=flow_token).present(
        "build-42",
        author=flowdock.constructors.author("CI"),
        title=title,
        thread=flowdock.constructors.thread("Build 42"),
    )


def inbox_titles(main_flow: Any) -> list[str]:
    return [m.get("title") for m in main_flow.list(event="activity", limit=10)]


def test_integration_present__a_sources_flow_token_posts_an_activity(api: LiveServer, main_flow: Any) -> None:
    main = api.store.flows.find("acme", "main")
    source = next(s for s in api.store.sources.by_id.values() if s.flow == main.id and not s.deleted)
    activity(source.flow_token, "deployed by the source")
    assert "deployed by the source" in inbox_titles(main_flow)


def test_integration_present__the_flows_api_token_as_flow_token_posts_too(
    api: LiveServer, main_flow: Any
) -> None:
    """The token a flow's settings show, where a source's belongs (compatible mode, flow-api-token)."""
    activity(api.store.flows.find("acme", "main").api_token, "deployed with the flow's token")
    assert "deployed with the flow's token" in inbox_titles(main_flow)


# --- threads -------------------------------------------------------------------------------------
def test_thread_send__replies_in_the_messages_thread(main_flow: Any) -> None:
    root = main_flow.send("root of a thread")
    thread = main_flow.thread(root["thread"]["id"])
    reply = thread.send("a reply", tags=["reply"])
    assert reply["thread_id"] == root["thread_id"]
    assert "reply" in reply["tags"]
    assert [m["id"] for m in thread.list()] == [root["id"], reply["id"]]


def test_threads__lists_the_flows_threads(main_flow: Any) -> None:
    root = main_flow.send("a new thread")
    assert root["thread_id"] in [t["id"] for t in main_flow.threads(limit=5)]


# --- private messages ----------------------------------------------------------------------------
@pytest.fixture
def to_bob(api: LiveServer) -> Any:
    """Alice's private conversation with Bob, through the wrapper."""
    return flowdock.connect(token=api.token(ALICE["id"]), uid=BOB["id"])


def test_private_send__posts_a_private_message(to_bob: Any) -> None:
    message = to_bob.send("psst", tags=["secret"])
    assert (message["to"], message["user"], message["content"]) == (str(BOB["id"]), str(ALICE["id"]), "psst")
    assert "secret" in message["tags"]


def test_private_list_show_edit_delete(to_bob: Any) -> None:
    sent = to_bob.send("private hello")
    assert [m["id"] for m in to_bob.list(limit=1)] == [sent["id"]]
    assert to_bob.show(sent["id"])["content"] == "private hello"
    to_bob.edit(sent["id"], content="private edited")
    assert to_bob.show(sent["id"])["content"] == "private edited"
    to_bob.delete(sent["id"])
    assert to_bob.show(sent["id"])["content"] == ""


def test_private_message_reaches_the_other_side(api: LiveServer, to_bob: Any) -> None:
    sent = to_bob.send("for bob's eyes")
    from_bob = flowdock.connect(token=api.token(BOB["id"]), uid=ALICE["id"])
    assert from_bob.show(sent["id"])["content"] == "for bob's eyes"


def test_connect_by_name__looks_the_user_up(api: LiveServer) -> None:
    alice = flowdock.connect(token=api.token(ALICE["id"]))
    assert alice.get_uid(name=BOB["nick"]) == BOB["id"]
    message = flowdock.connect(token=api.token(ALICE["id"]), name=BOB["nick"]).send("by nick")
    assert message["to"] == str(BOB["id"])


# --- strict mode shows the wrapper's deviations --------------------------------------------------
@pytest.fixture(scope="module")
def strict_server() -> Iterator[LiveServer]:
    with serve(create_app(strict=True)) as server:
        yield server


def test_send__refused_by_a_strict_server_naming_the_null_fields(
    strict_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flowdock, "API", strict_server.base_url)
    flow = flowdock.connect(token=strict_server.token(ALICE["id"]), org="acme", flow="main")
    with pytest.raises(AssertionError) as refused:
        flow.send("null tags are off-contract")
    status, body = refused.value.args[0]
    assert status == 400
    assert b"rule: null-optional" in body
