"""Re-take the README's inspector screenshots: ``make screenshots`` (``python -m tests.browser.screenshots DIR``).

Starts a server on 127.0.0.1, makes a few requests a bot might make (one with a legacy form, one
that breaks the contract, one with a forced fault), says something as Bob in "Chat as", and
photographs Requests, Coverage, World and Chat as at 1280x800 into DIR (docs/images/).
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

from mock_server.app import create_app
from tests.browser.conftest import ALICE_AUTH, CHROMIUM, CHROMIUM_ARGS, VIEWPORT
from tests.clients.conftest import serve

MAIN = "/flows/acme/main"


def bot_traffic(api: httpx.Client) -> None:
    api.get("/flows", auth=ALICE_AUTH)
    api.get(f"{MAIN}/messages", params={"limit": 20}, auth=ALICE_AUTH)
    api.post(f"{MAIN}/messages", json={"event": "message", "content": "build 951 passed", "tags": "ci,build"},
             auth=ALICE_AUTH)  # fmt: skip
    api.post(f"{MAIN}/messages", json={"event": "message", "content": 951}, auth=ALICE_AUTH)
    api.get("/flows/acme/nowhere", auth=ALICE_AUTH)
    api.get("/user", auth=ALICE_AUTH, headers={"Prefer": "code=503"})
    api.get("/flows")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with serve(create_app()) as live, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{live.base_url}/_mock/")
        expect(page.locator("#conn")).to_have_text("live")
        with httpx.Client(base_url=live.base_url, timeout=10, trust_env=False) as api:
            bot_traffic(api)
        rows = page.locator("#req-table tbody tr")
        expect(rows).to_have_count(7)
        rows.nth(3).click()  # the contract violation
        expect(page.locator(".schema-path")).to_be_visible()
        page.screenshot(path=out / "inspector-requests.png")

        page.click("#tab-coverage")
        expect(page.locator("#cov-exercised")).to_contain_text("of")
        page.screenshot(path=out / "inspector-coverage.png")

        page.click("#tab-world")
        expect(page.locator("#world-users tbody tr").first).to_be_visible()
        page.screenshot(path=out / "inspector-world.png")

        page.click("#tab-chat")
        page.select_option("#chat-user", "2")
        page.select_option("#chat-where", label="acme/main")
        page.fill("#chat-text", "@alice the deploy of api is done")
        page.fill("#chat-tags", "deploy")
        page.click("#chat-send")
        expect(page.locator("#chat-log li").last).to_contain_text("the deploy of api is done")
        page.screenshot(path=out / "inspector-chat.png")
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
