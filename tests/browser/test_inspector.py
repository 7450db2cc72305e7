"""The inspector (/_mock/) in a real browser: each view against a real server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ALICE_AUTH, VIEWPORT
from tests.clients.conftest import LiveServer, serve
from tests.conftest import BOB

pytestmark = pytest.mark.browser

MAIN = "/flows/acme/main"


def rows(page: Any) -> Any:
    return page.locator("#req-table tbody tr")


# --- Requests -----------------------------------------------------------------------------------
def test_requests__a_request_made_elsewhere_appears_without_a_reload(
    inspector: Any, api: httpx.Client
) -> None:
    expect(rows(inspector)).to_have_count(0)
    navigations: list[str] = []
    inspector.on("framenavigated", lambda frame: navigations.append(frame.url))

    api.get("/flows", auth=ALICE_AUTH)
    api.get(f"{MAIN}/messages/999999", auth=ALICE_AUTH)

    expect(rows(inspector)).to_have_count(2)
    newest = rows(inspector).first  # newest first
    expect(newest).to_contain_text("/flows/acme/main/messages/999999")
    expect(newest.locator(".status")).to_have_text("404")
    expect(newest).to_contain_text("showMessage")
    expect(newest).to_contain_text("alice")
    expect(rows(inspector).nth(1)).to_contain_text("listFlows")
    assert navigations == []  # pushed, not reloaded


def test_requests__filters_by_operation_status_user_and_violations(inspector: Any, api: httpx.Client) -> None:
    api.get("/flows", auth=ALICE_AUTH)
    api.get("/flows", auth=(BOB["api_token"], ""))
    api.post(f"{MAIN}/messages", json={"event": "message", "content": 5}, auth=ALICE_AUTH)
    api.get("/flows")  # no credentials: 401
    expect(rows(inspector)).to_have_count(4)

    inspector.select_option("#f-op", "listFlows")
    expect(rows(inspector)).to_have_count(3)
    inspector.fill("#f-status", "4xx")
    expect(rows(inspector)).to_have_count(1)
    expect(rows(inspector).first.locator(".status")).to_have_text("401")
    inspector.fill("#f-status", "")
    inspector.select_option("#f-user", str(BOB["id"]))
    expect(rows(inspector)).to_have_count(1)
    expect(rows(inspector).first).to_contain_text("bob")
    inspector.select_option("#f-user", "")
    inspector.select_option("#f-op", "")
    inspector.check("#f-violations")
    expect(rows(inspector)).to_have_count(1)
    expect(rows(inspector).first).to_contain_text("sendFlowMessage")
    expect(inspector.locator("#req-count")).to_have_text("1 of 4 shown")


def test_requests__a_violation_shows_its_schema_path(inspector: Any, api: httpx.Client) -> None:
    api.post(f"{MAIN}/messages", json={"event": "message", "content": 5}, auth=ALICE_AUTH)
    row = rows(inspector).first
    expect(row.locator(".tag.bad")).to_have_text("1 violation")
    row.click()

    detail = inspector.locator("#req-detail")
    expect(detail).to_be_visible()
    # one body shape per event (oneOf): the error is the chat branch's, placed at the body's schema
    expect(detail.locator(".violations li").first).to_contain_text("5 is not of type 'string'")
    expect(detail.locator(".schema-path code")).to_have_text(
        "#/paths/~1flows~1{organization}~1{flow}~1messages/post/requestBody/content/application~1json/schema"
    )
    expect(detail).to_contain_text("sendFlowMessage")
    expect(detail.locator(".forced-by")).to_have_text("no")


def test_requests__entry_shows_legacy_rules_forced_fault_and_redacted_credentials(
    inspector: Any, api: httpx.Client
) -> None:
    api.post(f"{MAIN}/messages", json={"event": "message", "content": "x", "tags": "a,b"}, auth=ALICE_AUTH)
    api.get("/flows", auth=ALICE_AUTH, headers={"Prefer": "code=503"})
    expect(rows(inspector)).to_have_count(2)

    rows(inspector).first.click()
    detail = inspector.locator("#req-detail")
    expect(detail.locator(".forced-by")).to_have_text("prefer:503")
    expect(detail).to_contain_text("Basic [redacted]")
    expect(detail).not_to_contain_text(ALICE_AUTH[0])

    rows(inspector).nth(1).click()
    expect(detail).to_contain_text("tags-string")
    expect(rows(inspector).nth(1).locator(".tag.legacy")).to_contain_text("tags-string")


def test_requests__keyboard_opens_an_entry_and_escape_closes_it(inspector: Any, api: httpx.Client) -> None:
    api.get("/flows", auth=ALICE_AUTH)
    api.get("/user", auth=ALICE_AUTH)
    expect(rows(inspector)).to_have_count(2)
    rows(inspector).first.focus()
    inspector.keyboard.press("ArrowDown")
    expect(rows(inspector).nth(1)).to_be_focused()
    inspector.keyboard.press("Enter")
    expect(inspector.locator("#req-detail h2")).to_have_text("GET /flows")
    expect(inspector.locator("#req-detail")).to_be_focused()
    inspector.keyboard.press("Escape")
    expect(inspector.locator("#req-detail")).to_be_hidden()
    expect(rows(inspector).nth(1)).to_be_focused()


def test_tabs__arrow_keys_switch_views(inspector: Any) -> None:
    inspector.locator("#tab-requests").focus()
    inspector.keyboard.press("ArrowRight")
    expect(inspector.locator("#view-coverage")).to_be_visible()
    expect(inspector.locator("#tab-coverage")).to_be_focused()
    inspector.keyboard.press("End")
    expect(inspector.locator("#view-faults")).to_be_visible()
    inspector.keyboard.press("ArrowRight")
    expect(inspector.locator("#view-requests")).to_be_visible()


# --- Coverage -----------------------------------------------------------------------------------
def test_coverage__same_numbers_as_the_control_api_and_live(inspector: Any, api: httpx.Client) -> None:
    api.get("/flows", auth=ALICE_AUTH)
    inspector.click("#tab-coverage")
    coverage = api.get("/_mock/coverage").json()
    total = coverage["operations_total"]
    expect(inspector.locator("#cov-exercised")).to_have_text(f"1 of {total}")
    expect(inspector.locator("#cov-table tbody tr")).to_have_count(total)
    expect(inspector.locator('#cov-table tr[data-op="listFlows"] .calls')).to_have_text("1")

    api.get("/flows", auth=ALICE_AUTH)
    api.get("/user", auth=ALICE_AUTH)  # pushed: the view follows without a reload
    expect(inspector.locator("#cov-exercised")).to_have_text(f"2 of {total}")
    expect(inspector.locator('#cov-table tr[data-op="listFlows"] .calls')).to_have_text("2")
    assert api.get("/_mock/coverage").json()["operations_exercised"] == 2

    inspector.check("#cov-missing")
    expect(inspector.locator("#cov-table tbody tr")).to_have_count(total - 2)
    expect(inspector.locator("#cov-table tbody tr.miss")).to_have_count(total - 2)


# --- World --------------------------------------------------------------------------------------
def test_world__users_with_credentials_flows_threads_and_private_conversations(
    inspector: Any, api: httpx.Client
) -> None:
    inspector.click("#tab-world")
    users = inspector.locator("#world-users tbody tr")
    state = api.get("/_mock/state").json()
    expect(users).to_have_count(len(state["users"]))
    alice = inspector.locator('#world-users tr[data-user="1"]')
    expect(alice).to_contain_text("alice@example.com")
    expect(alice).to_contain_text(ALICE_AUTH[0])
    expect(alice.get_by_role("button", name="Copy alice's API token")).to_be_visible()
    world = inspector.locator("#world")
    expect(world).to_contain_text("acme/main — Main")
    expect(world).to_contain_text("Private conversations (2)")
    expect(world).to_contain_text("Open streams")


# --- Chat as ------------------------------------------------------------------------------------
def open_chat(page: Any, user_id: int, where: str) -> None:
    page.click("#tab-chat")
    page.select_option("#chat-user", str(user_id))
    page.select_option("#chat-where", label=where)
    expect(page.locator("#chat-log li").first).to_be_visible()


def test_chat_as__a_message_appears_in_the_flow_and_in_the_api(inspector: Any, api: httpx.Client) -> None:
    open_chat(inspector, BOB["id"], "acme/main")
    inspector.fill("#chat-text", "deploy api please")
    inspector.fill("#chat-tags", "deploy")
    inspector.keyboard.press("Tab")
    inspector.locator("#chat-text").press("Enter")

    last = inspector.locator("#chat-log li").last
    expect(last).to_contain_text("deploy api please")
    expect(last.locator(".who")).to_have_text("bob")
    expect(last).to_contain_text("#deploy")
    messages = api.get(f"{MAIN}/messages", params={"limit": 5}, auth=ALICE_AUTH).json()
    sent = [m for m in messages if m["content"] == "deploy api please"]
    assert len(sent) == 1
    assert str(sent[0]["user"]) == str(BOB["id"])
    assert "deploy" in sent[0]["tags"]
    # It went through the Flowdock API with Bob's credentials, and the journal shows it redacted.
    inspector.click("#tab-requests")
    expect(rows(inspector).filter(has_text="sendFlowMessage")).to_have_count(1)


def test_chat_as__others_messages_arrive_live(inspector: Any, api: httpx.Client) -> None:
    open_chat(inspector, BOB["id"], "acme/main")
    api.post(f"{MAIN}/messages", json={"event": "message", "content": "hello from alice"}, auth=ALICE_AUTH)
    expect(inspector.locator("#chat-log li").last).to_contain_text("hello from alice")
    expect(inspector.locator("#chat-log li").last.locator(".who")).to_have_text("alice")


def test_chat_as__comment_thread_reply_and_tags_on_a_selected_message(
    inspector: Any, api: httpx.Client
) -> None:
    posted = api.post(f"{MAIN}/messages", json={"event": "message", "content": "the root"}, auth=ALICE_AUTH)
    root = posted.json()
    open_chat(inspector, BOB["id"], "acme/main")
    item = inspector.locator(f'#chat-log li[data-id="{root["id"]}"]')
    item.click()
    expect(inspector.locator("#chat-target")).to_contain_text("the root")

    inspector.fill("#chat-text", "a comment")
    inspector.click("#chat-comment")
    expect(inspector.locator("#chat-log li.ev-comment").last).to_contain_text("a comment")

    expect(item).to_have_class(re.compile("selected"))  # the selection stays after a write
    inspector.fill("#chat-text", "a reply")
    inspector.click("#chat-reply")
    expect(inspector.locator("#chat-log li").last).to_contain_text("a reply")

    inspector.fill("#chat-tags", "release, urgent")
    inspector.click("#chat-retag")
    expect(inspector.locator(f'#chat-log li[data-id="{root["id"]}"]')).to_contain_text("#urgent")

    thread = api.get(f"{MAIN}/threads/{root['thread_id']}/messages", auth=ALICE_AUTH).json()
    contents = [m["content"] for m in thread]
    assert {"text": "a comment", "title": "the root"} in contents or any(
        isinstance(c, dict) and c.get("text") == "a comment" for c in contents
    )
    assert "a reply" in contents
    shown = api.get(f"{MAIN}/messages/{root['id']}", auth=ALICE_AUTH).json()
    assert {"release", "urgent"} <= set(shown["tags"])


def test_chat_as__an_api_error_is_shown(inspector: Any, live_ui: LiveServer) -> None:
    live_ui.app.runtime.faults.clear()
    open_chat(inspector, BOB["id"], "acme/main")
    inspector.click("#tab-faults")
    inspector.select_option("#fault-op", "sendFlowMessage")
    inspector.fill("#fault-status", "503")
    inspector.click("#fault-add")
    inspector.click("#fault-save")
    expect(inspector.locator("#fault-state")).to_have_text("saved")
    inspector.click("#tab-chat")
    inspector.fill("#chat-text", "will fail")
    inspector.click("#chat-send")
    expect(inspector.locator("#chat-error")).to_contain_text("503")


# --- Faults -------------------------------------------------------------------------------------
def test_faults__the_editor_changes_what_the_api_answers(inspector: Any, api: httpx.Client) -> None:
    assert api.get("/flows", auth=ALICE_AUTH).status_code == 200
    inspector.click("#tab-faults")
    expect(inspector.locator("#fault-empty")).to_be_visible()
    inspector.select_option("#fault-op", "listFlows")
    inspector.fill("#fault-status", "503")
    inspector.click("#fault-add")
    expect(inspector.locator("#fault-state")).to_have_text("edited: not applied until you save")
    assert api.get("/flows", auth=ALICE_AUTH).status_code == 200  # nothing written before Save

    inspector.click("#fault-save")
    expect(inspector.locator("#fault-state")).to_have_text("saved")
    response = api.get("/flows", auth=ALICE_AUTH)
    assert response.status_code == 503
    assert api.get("/_mock/faults").json()["faults"]["listFlows"]["status"] == 503

    inspector.click("#fault-clear")
    expect(inspector.locator("#fault-empty")).to_be_visible()
    assert api.get("/flows", auth=ALICE_AUTH).status_code == 200


def test_faults__an_edit_made_while_the_table_loads_is_kept(inspector: Any, api: httpx.Client) -> None:
    # The Faults view loads the server's table when it opens; a row added before that answer
    # arrives was replaced by it, and Save then wrote a table without the row.
    held: list[Any] = []

    def hold_the_first_read(route: Any) -> None:
        if route.request.method == "GET" and not held:
            held.append(route)
        else:
            route.continue_()

    inspector.route("**/_mock/faults", hold_the_first_read)
    inspector.click("#tab-faults")
    inspector.wait_for_function(
        "document.querySelector('#view-faults') && !document.querySelector('#view-faults').hidden"
    )
    inspector.select_option("#fault-op", "listFlows")
    inspector.fill("#fault-status", "503")
    inspector.click("#fault-add")
    expect(inspector.locator("#fault-state")).to_have_text("edited: not applied until you save")
    assert len(held) == 1, "the view's read of the table was not held"
    held[0].continue_()  # the server's table arrives after the edit
    expect(inspector.locator("#fault-table tbody tr[data-op=listFlows]")).to_have_count(1)
    expect(inspector.locator("#fault-state")).to_have_text("edited: not applied until you save")
    inspector.click("#fault-save")
    expect(inspector.locator("#fault-state")).to_have_text("saved")
    assert api.get("/_mock/faults").json()["faults"]["listFlows"]["status"] == 503
    inspector.click("#fault-clear")
    expect(inspector.locator("#fault-empty")).to_be_visible()


def test_faults__a_refused_table_shows_why(inspector: Any, api: httpx.Client) -> None:
    inspector.click("#tab-faults")
    inspector.select_option("#fault-op", "listFlows")
    inspector.fill("#fault-status", "299")
    inspector.click("#fault-add")
    inspector.click("#fault-save")
    expect(inspector.locator("#fault-error")).to_contain_text("faults.listFlows.status")
    assert api.get("/_mock/faults").json()["faults"] == {}


# --- the page itself ----------------------------------------------------------------------------
def test_page__never_writes_by_itself(inspector: Any, api: httpx.Client, live_ui: LiveServer) -> None:
    before = api.get("/_mock/state").json()
    for view in ("coverage", "world", "chat", "faults", "requests"):
        inspector.click(f"#tab-{view}")
        expect(inspector.locator(f"#view-{view}")).to_be_visible()
    expect(inspector.locator("#chat-log li").first).to_be_attached()
    writes = [e for e in live_ui.app.runtime.journal.list() if e["method"] != "GET"]
    assert writes == []
    assert api.get("/_mock/state").json() == before
    assert api.get("/_mock/faults").json()["faults"] == {}


def test_page__readable_on_a_narrow_window(page: Any, live_ui: LiveServer, api: httpx.Client) -> None:
    page.set_viewport_size({"width": 420, "height": 800})
    page.goto(f"{live_ui.base_url}/_mock/")
    expect(page.locator("#conn")).to_have_text("live")
    api.get(f"{MAIN}/messages?limit=abc", auth=ALICE_AUTH)
    expect(rows(page)).to_have_count(1)
    filled = {
        "requests": "#req-table tbody tr",
        "coverage": "#cov-table tbody tr",
        "world": "#world-users tbody tr",
        "chat": "#chat-log li",
        "faults": "#fault-empty",
    }
    for view, content in filled.items():
        page.click(f"#tab-{view}")
        expect(page.locator(content).first).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{view} scrolls sideways by {overflow}px at 420px"
    page.set_viewport_size(VIEWPORT)


def test_page__says_clearly_when_the_server_is_gone(page: Any) -> None:
    from mock_server.app import create_app

    with serve(create_app()) as server:
        page.goto(f"{server.base_url}/_mock/")
        expect(page.locator("#conn")).to_have_text("live")
        expect(page.locator("#gone")).to_be_hidden()
    expect(page.locator("#gone")).to_be_visible()
    expect(page.locator("#gone")).to_contain_text("is not answering")
    expect(page.locator("#conn")).to_have_text("disconnected")


# --- Swagger UI ---------------------------------------------------------------------------------
def test_swagger_ui__try_it_out_executes_a_call_against_the_mock(
    page: Any, live_ui: LiveServer, api: httpx.Client
) -> None:
    page.goto(f"{live_ui.base_url}/_mock/swagger/")
    expect(page.locator(".information-container .title")).to_contain_text("Flowdock REST API")
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    dialog = page.locator(".auth-container").filter(has_text="basicAuth")
    expect(dialog).to_contain_text(ALICE_AUTH[0])  # the default credentials, as a hint
    dialog.locator("input").nth(0).fill(ALICE_AUTH[0])
    dialog.locator("input").nth(1).fill("x")
    dialog.get_by_role("button", name="Authorize").click()
    page.get_by_role("button", name="Close").first.click()

    operation = page.locator("#operations-Users-getCurrentUser")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text("alice@example.com")
    journal = api.get("/_mock/requests").json()["requests"]
    assert [e["operationId"] for e in journal] == ["getCurrentUser"]


def test_swagger_ui__serves_the_control_api_too(page: Any, live_ui: LiveServer) -> None:
    page.goto(f"{live_ui.base_url}/_mock/swagger/?urls.primaryName=flowdock-mock%20control%20API")
    expect(page.locator(".information-container .title")).to_contain_text("flowdock-mock control API")
    operation = page.locator("#operations-Service-getHealth")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")


def has_stream(server: LiveServer) -> bool:
    return "/stream/flows/{organization}/{flow}" in server.app.spec["paths"]


def test_chat_as__follows_the_flow_over_the_stream_as_a_client_would(
    inspector: Any, api: httpx.Client, live_ui: LiveServer
) -> None:
    open_chat(inspector, BOB["id"], "acme/main")
    if not has_stream(live_ui):  # before the Streaming API: re-read when the journal shows a write
        expect(inspector.locator("#chat-live")).to_have_text("live (journal)")
        return
    expect(inspector.locator("#chat-live")).to_have_text("live (stream)")
    # The page's own connection (a closed page of an earlier test may still be on the list briefly).
    streams = api.get("/_mock/streams").json()["streams"]
    assert (BOB["id"], "text/event-stream") in [(s["user"], s["format"]) for s in streams]
    inspector.click("#tab-world")
    mine = inspector.locator("#world-streams tbody tr").filter(has_text="bob").filter(has_text="acme/main")
    expect(mine.first).to_be_visible()

    inspector.click("#tab-chat")
    posted = api.post(
        f"{MAIN}/messages", json={"event": "message", "content": "to be edited"}, auth=ALICE_AUTH
    )
    root = inspector.locator(f'#chat-log li[data-id="{posted.json()["id"]}"]')
    expect(root).to_contain_text("to be edited")
    api.put(f"{MAIN}/messages/{posted.json()['id']}", json={"content": "edited by alice"}, auth=ALICE_AUTH)
    expect(root).to_contain_text("edited by alice")  # a message-edit event patches it in place


def test_chat_as__a_private_conversation(inspector: Any, api: httpx.Client) -> None:
    open_chat(inspector, BOB["id"], "private with alice")
    api.post("/private/2/messages", json={"event": "message", "content": "psst, bob"}, auth=ALICE_AUTH)
    expect(inspector.locator("#chat-log li").last).to_contain_text("psst, bob")
    inspector.fill("#chat-text", "hi alice")
    inspector.locator("#chat-text").press("Enter")
    expect(inspector.locator("#chat-log li").last).to_contain_text("hi alice")
    messages = api.get("/private/2/messages", auth=ALICE_AUTH).json()
    assert [m["content"] for m in messages][-2:] == ["psst, bob", "hi alice"]


# --- worlds -------------------------------------------------------------------------------------
def test_worlds__the_views_follow_the_chosen_world(page: Any, api: httpx.Client, live_ui: LiveServer) -> None:
    created = api.post("/_mock/worlds", json={})
    assert created.status_code == 201
    world = created.json()
    bob_token = next(u["api_token"] for u in world["credentials"]["users"] if u["id"] == BOB["id"])
    try:
        page.goto(f"{live_ui.base_url}/_mock/")
        expect(page.locator("#conn")).to_have_text("live")
        expect(page.locator("#world-pick")).to_be_visible()
        page.select_option("#world-select", world["id"])

        api.get("/flows", auth=ALICE_AUTH)  # the default world: not shown now
        api.get("/user", auth=(bob_token, ""))  # the chosen world
        expect(rows(page)).to_have_count(1)
        expect(rows(page).first).to_contain_text("getCurrentUser")
        expect(rows(page).first).to_contain_text("bob")

        page.click("#tab-world")
        expect(page.locator("#world-summary")).to_contain_text(f"World {world['id']}")
        expect(page.locator('#world-users tr[data-user="2"]')).to_contain_text(bob_token)

        open_chat(page, BOB["id"], "acme/main")
        page.fill("#chat-text", "only in the new world")
        page.locator("#chat-text").press("Enter")
        expect(page.locator("#chat-log li").last).to_contain_text("only in the new world")
        inside = api.get(f"{MAIN}/messages", params={"limit": 3}, auth=(bob_token, "")).json()
        outside = api.get(f"{MAIN}/messages", params={"limit": 3}, auth=ALICE_AUTH).json()
        assert inside[-1]["content"] == "only in the new world"
        assert all(m["content"] != "only in the new world" for m in outside)
    finally:
        api.delete(f"/_mock/worlds/{world['id']}")


# --- the bot-testing kit ------------------------------------------------------------------------
def test_chat_as__injects_an_event_as_the_chosen_user(inspector: Any, api: httpx.Client) -> None:
    open_chat(inspector, BOB["id"], "acme/main")
    inspector.fill("#chat-event", "message")
    inspector.fill("#chat-text", "injected hello")
    inspector.click("#chat-inject")
    expect(inspector.locator("#chat-log li").last).to_contain_text("injected hello")
    expect(inspector.locator("#chat-log li").last.locator(".who")).to_have_text("bob")
    messages = api.get(f"{MAIN}/messages", params={"limit": 3}, auth=ALICE_AUTH).json()
    assert (messages[-1]["content"], str(messages[-1]["user"])) == ("injected hello", str(BOB["id"]))

    inspector.fill("#chat-event", "no-such-type")
    inspector.fill("#chat-text", "{}")
    inspector.click("#chat-inject")
    expect(inspector.locator("#chat-error")).to_contain_text("400")


def test_world__shows_the_clock(inspector: Any, api: httpx.Client) -> None:
    inspector.click("#tab-world")
    clock = api.get("/_mock/clock").json()
    expect(inspector.locator("#world summary").filter(has_text="Clock:")).to_contain_text(clock["iso"][:10])


def test_faults__stream_faults_are_set_and_shown(inspector: Any, api: httpx.Client) -> None:
    api.put("/_mock/faults", json={"faults": {"listFlows": {"status": 503}}})
    inspector.click("#tab-faults")
    expect(inspector.locator("#sf-state")).to_have_text("no stream fault in effect")
    inspector.fill("#sf-refuse", "60")
    inspector.check("#sf-dup")
    inspector.click("#sf-apply")
    expect(inspector.locator("#sf-state")).to_contain_text("refusing connections")
    expect(inspector.locator("#sf-state")).to_contain_text("duplicating the last event on reconnect")
    table = api.get("/_mock/faults").json()
    assert table["streams"]["refuse_s"] == 60 and table["streams"]["duplicate_on_reconnect"] is True
    assert table["faults"]["listFlows"]["status"] == 503  # the operation faults are kept
    refused = api.get("/stream/flows?filter=acme/main", auth=ALICE_AUTH)
    assert refused.status_code == 503 and "retry-after" in refused.headers
    inspector.click("#fault-clear")
    expect(inspector.locator("#sf-state")).to_have_text("no stream fault in effect")


def test_world__webhooks_are_a_table(inspector: Any, api: httpx.Client) -> None:
    registered = api.post(
        "/_mock/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "secret": "s", "flows": ["acme/main"], "events": []},
    )
    assert registered.status_code == 201, registered.text
    try:
        inspector.click("#tab-world")
        row = inspector.locator("#world-webhooks tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("http://127.0.0.1:9/hook")
        expect(row).to_contain_text("acme/main")
        expect(row.locator("td").nth(3)).to_have_text("all")
    finally:
        api.delete(f"/_mock/webhooks/{registered.json()['id']}")
