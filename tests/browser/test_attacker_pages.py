"""A browser is the attacker: a page on another origin, and an uploaded file opened on the mock's.

The attacking page is served by a second server on another loopback port (another origin, but
the same site: Chromium sends its cookies, ``SameSite=Strict`` included). Whatever it tries, it
reads nothing of the control API and changes nothing. An uploaded HTML or SVG file opened from
its download URL is saved, not rendered; one labelled a raster image is rendered sandboxed, so
its script never runs with the mock's origin.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import ALICE_AUTH
from tests.clients.conftest import LiveServer
from tests.conftest import BOB

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><title>elsewhere</title><script>
window.results = {};
async function attempt(name, run) {
  try { window.results[name] = await run(); } catch (e) { window.results[name] = 'refused: ' + e.name; }
}
window.attack = async (mock) => {
  await attempt('read worlds', async () => (await fetch(mock + '/_mock/worlds')).text());
  await attempt('read worlds with cookies', async () =>
    (await fetch(mock + '/_mock/worlds', {credentials: 'include'})).text());
  await attempt('read state', async () => (await fetch(mock + '/_mock/state')).text());
  await attempt('reset (no-cors)', async () =>
    (await fetch(mock + '/_mock/reset', {method: 'POST', mode: 'no-cors'})).type);
  await attempt('create world (no-cors)', async () =>
    (await fetch(mock + '/_mock/worlds', {method: 'POST', mode: 'no-cors',
      headers: {'Content-Type': 'text/plain'}, body: '{}'})).type);
  await attempt('faults (cors)', async () =>
    (await fetch(mock + '/_mock/faults', {method: 'PUT', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({faults: {listFlows: {status: 503}}})})).status);
  await attempt('delete world (cors)', async () =>
    (await fetch(mock + '/_mock/worlds/' + window.victim, {method: 'DELETE'})).status);
  return window.results;
};
window.formReset = (mock) => {
  const form = document.createElement('form');
  form.method = 'POST'; form.action = mock + '/_mock/reset'; form.target = 'sink';
  const frame = document.createElement('iframe'); frame.name = 'sink';
  document.body.append(frame, form);
  form.submit();
};
</script><body></body>"""


@pytest.fixture
def elsewhere() -> Iterator[str]:
    """A page of another origin (another loopback port), served until the test ends."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = ATTACK.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/attack.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _mark(api: httpx.Client) -> int:
    """Post a message that a reset would remove; its id."""
    r = api.post(
        "/flows/acme/main/messages", json={"event": "message", "content": "keep me"}, auth=ALICE_AUTH
    )
    assert r.status_code == 201
    return int(r.json()["id"])


def test_another_origin__reads_nothing_and_changes_nothing(
    page: Any, live_ui: LiveServer, api: httpx.Client, elsewhere: str
) -> None:
    kept = _mark(api)
    victim = api.post("/_mock/worlds", json={}).json()["id"]
    before = {w["id"] for w in api.get("/_mock/worlds").json()["worlds"]}
    try:
        page.goto(elsewhere)
        page.evaluate("(id) => { window.victim = id; }", victim)
        results = page.evaluate("(mock) => window.attack(mock)", live_ui.base_url)
        for name in (
            "read worlds",
            "read worlds with cookies",
            "read state",
            "faults (cors)",
            "delete world (cors)",
        ):
            assert results[name] == "refused: TypeError", (name, results[name])
        page.evaluate("(mock) => window.formReset(mock)", live_ui.base_url)
        page.wait_for_load_state()
        # No-cors requests and the form reached the mock (a browser cannot stop them); the mock
        # refused them: the message a reset would remove, the world and the faults are as they were.
        assert api.get(f"/flows/acme/main/messages/{kept}", auth=ALICE_AUTH).status_code == 200
        assert {w["id"] for w in api.get("/_mock/worlds").json()["worlds"]} == before
        assert api.get("/_mock/faults").json()["faults"] == {}
    finally:
        api.delete(f"/_mock/worlds/{victim}")


def _upload(api: httpx.Client, name: str, data: bytes, content_type: str) -> str:
    r = api.post(
        "/flows/acme/main/messages",
        data={"event": "file"},
        files={"content": (name, data, content_type)},
        auth=ALICE_AUTH,
    )
    assert r.status_code == 201, r.text
    r = api.get(r.json()["content"]["path"], auth=ALICE_AUTH)
    assert r.status_code == 302  # to the short-lived download URL, /_mock/files/...
    return str(api.base_url).rstrip("/") + urlsplit(r.headers["location"]).path


SCRIPT = (
    "document.title='ran';"
    "fetch('/_mock/faults',{method:'PUT',headers:{'Content-Type':'application/json'},"
    "body:JSON.stringify({faults:{listFlows:{status:503}}})});"
)
HTML = f"<!doctype html><title>upload</title><script>{SCRIPT}</script><p>hello</p>".encode()
SVG = f'<svg xmlns="http://www.w3.org/2000/svg"><script>{SCRIPT}</script></svg>'.encode()


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("page.html", HTML, "text/html"),
        ("pic.svg", SVG, "image/svg+xml"),
        ("page.xhtml", HTML, "application/xhtml+xml"),
    ],
)
def test_uploaded_markup__is_downloaded_not_run(
    page: Any, live_ui: LiveServer, api: httpx.Client, name: str, data: bytes, content_type: str
) -> None:
    url = _upload(api, name, data, content_type)
    page.goto(live_ui.base_url + "/_mock/health")
    with page.expect_download() as download:
        try:
            page.goto(url)
        except PlaywrightError as navigation:  # Chromium aborts a navigation that became a download
            assert "Download is starting" in str(navigation) or "ERR_ABORTED" in str(navigation)
    assert download.value.suggested_filename == name
    assert page.title() != "ran"
    assert api.get("/_mock/faults").json()["faults"] == {}


def test_markup_labelled_an_image__is_rendered_sandboxed(
    page: Any, live_ui: LiveServer, api: httpx.Client
) -> None:
    url = _upload(api, "shot.png", HTML, "image/png")
    page.goto(url)
    page.wait_for_load_state("load")
    assert page.title() != "ran"
    assert page.evaluate("() => document.querySelector('script') === null")  # an image, not a page
    assert api.get("/_mock/faults").json()["faults"] == {}


# --- the mock's own pages ---------------------------------------------------------------------
HOSTILE_FLOW = "x/../../../_mock/reset?"
"""A flow name that, pasted unencoded into /flows/acme/<name>/messages, resets the world."""


def test_chat_as__a_hostile_flow_name_stays_one_path_segment(
    inspector: Any, live_ui: LiveServer, api: httpx.Client
) -> None:
    kept = _mark(api)
    # What a world document could hold before documents refused such names (white-box: the
    # document check would refuse it now, so it is planted in the running store).
    live_ui.app.store.flows.find("acme", "main").parameterized_name = HOSTILE_FLOW
    inspector.reload()
    inspector.click("#tab-chat")
    inspector.select_option("#chat-user", str(BOB["id"]))
    inspector.select_option("#chat-where", label=f"acme/{HOSTILE_FLOW}")
    inspector.fill("#chat-text", "hello")
    with inspector.expect_response(lambda r: r.request.method == "POST") as sent:
        inspector.locator("#chat-text").press("Enter")
    assert urlsplit(sent.value.url).path == "/flows/acme/x%2F..%2F..%2F..%2F_mock%2Freset%3F/messages"
    assert sent.value.status == 404  # an encoded slash names no Flowdock resource
    assert api.get(f"/flows/acme/main/messages/{kept}", auth=ALICE_AUTH).status_code == 200


def test_inspector__injected_script_does_not_run(inspector: Any) -> None:
    violated = inspector.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective));
            const s = document.createElement('script');
            s.textContent = 'window.injected = true';
            document.body.append(s);
            setTimeout(() => resolve(window.injected ? 'ran' : 'no violation reported'), 5000);
        })"""
    )
    assert violated == "script-src-elem"
    assert inspector.evaluate("() => window.injected") is None


def test_inspector__another_origin_cannot_frame_it(page: Any, live_ui: LiveServer, elsewhere: str) -> None:
    page.goto(elsewhere)
    with page.expect_event("framenavigated", lambda f: f != page.main_frame):
        page.evaluate(
            "(src) => { const f = document.createElement('iframe'); f.src = src; document.body.append(f); }",
            live_ui.base_url + "/_mock/",
        )
    frame = page.frames[1]
    frame.wait_for_load_state()
    assert frame.url.startswith("chrome-error://"), frame.url


@pytest.mark.parametrize("path", ["/_mock/", "/_mock/swagger/", "/_mock/report"])
def test_own_pages__run_under_their_policy_without_a_violation(
    page: Any, live_ui: LiveServer, path: str
) -> None:
    from playwright.sync_api import expect

    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(live_ui.base_url + path)
    ready = {"/_mock/": "#conn", "/_mock/swagger/": ".swagger-ui .info .title", "/_mock/report": "h1"}[path]
    expect(page.locator(ready).first).to_be_visible()
    if path == "/_mock/":
        expect(page.locator("#conn")).to_have_text("live")
    assert violations == []
