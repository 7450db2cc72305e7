"""Headless Chromium (Debian's, /usr/bin/chromium) driven by Playwright, against real servers.

`make test` installs the browser first (`make chromium`); Playwright never downloads one. Each
test gets a new browser context (fresh storage, cookies and session storage) on a page of the
session's server, whose world, journal, coverage and faults are reset first. Waits are
Playwright's (``expect`` retries until its timeout), never sleeps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.clients.conftest import LiveServer, serve
from tests.conftest import ALICE

CHROMIUM = os.environ.get("FLOWDOCK_MOCK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    # As root in CI there is no sandbox to use; there is no GPU; this machine's network is
    # closed, so every background connection Chromium would try is turned off.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 800}
ALICE_AUTH = (ALICE["api_token"], "")

pytestmark = pytest.mark.browser


EXPECT_TIMEOUT_MS = 15_000
"""How long a Playwright ``expect`` retries: generous, for two shared cores under load."""


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    # Package scope, not session: Playwright's sync API keeps an asyncio loop running in this
    # thread while it is open, which the rest of the suite (anyio's test clients) cannot share.
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium package")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as pw:
        # launch() gives every run a new, empty profile directory of its own.
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def ui_server() -> Iterator[LiveServer]:
    from mock_server.app import create_app

    with serve(create_app(validate_responses=True)) as server:
        yield server


@pytest.fixture
def live_ui(ui_server: LiveServer) -> LiveServer:
    """The session's server with the seeded world, an empty journal, zero coverage, no faults."""
    rt = ui_server.app.runtime
    ui_server.app.store.reset()
    rt.faults.clear()
    rt.journal.clear()
    rt.journal.clear_coverage()
    return ui_server


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def api(live_ui: LiveServer) -> Iterator[httpx.Client]:
    """A plain HTTP client on the session server (not the browser)."""
    with httpx.Client(base_url=live_ui.base_url, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def inspector(page: Any, live_ui: LiveServer) -> Any:
    """The inspector open on the Requests view, its journal feed connected."""
    from playwright.sync_api import expect

    page.goto(f"{live_ui.base_url}/_mock/")
    expect(page.locator("#conn")).to_have_text("live")
    return page
