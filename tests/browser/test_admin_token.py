"""With an admin token, nothing under /_mock/ is served without it (health excepted)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.clients.conftest import LiveServer, serve

pytestmark = pytest.mark.browser

TOKEN = "insp3ctor-admin"


@pytest.fixture(scope="module")
def guarded() -> Iterator[LiveServer]:
    from mock_server.app import create_app

    with serve(create_app(admin_token=TOKEN)) as server:
        yield server


@pytest.mark.parametrize(
    "path",
    [
        "/_mock/",
        "/_mock/requests/feed",
        "/_mock/swagger/",
        "/_mock/swagger/swagger-ui-bundle.js",
        "/_mock/state",
    ],
)
@pytest.mark.parametrize("accept", ["text/html", "application/json", "text/event-stream"])
def test_guarded__nothing_without_the_token(guarded: LiveServer, path: str, accept: str) -> None:
    response = httpx.get(guarded.base_url + path, headers={"Accept": accept}, timeout=10, trust_env=False)
    assert response.status_code == 401
    if accept == "text/html":  # a browser gets the page that asks for the token, and nothing else
        assert "Admin token required" in response.text
        assert "INSPECTOR_HINTS" not in response.text
    else:
        assert response.json()["message"] == "Admin token required"
    assert httpx.get(guarded.base_url + "/_mock/health", timeout=10, trust_env=False).status_code == 200


def test_guarded__the_cookie_opens_reads_only(guarded: LiveServer) -> None:
    with httpx.Client(base_url=guarded.base_url, timeout=10, trust_env=False) as c:
        c.cookies.set("flowdock_mock_admin", TOKEN)
        assert c.get("/_mock/faults").status_code == 200
        assert c.get("/_mock/swagger/swagger-ui-bundle.js").status_code == 200
        assert c.put("/_mock/faults", json={"faults": {}}).status_code == 401
        assert c.post("/_mock/reset").status_code == 401
        c.cookies.set("flowdock_mock_admin", "wrong")
        assert c.get("/_mock/faults").status_code == 401


def test_guarded__the_page_asks_once_then_works(page: Any, guarded: LiveServer) -> None:
    page.goto(f"{guarded.base_url}/_mock/")
    expect(page.get_by_role("heading", name="Admin token required")).to_be_visible()
    page.get_by_label("Token").fill("not it")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#refused")).to_be_visible()
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#conn")).to_have_text("live")

    httpx.get(guarded.base_url + "/flows", timeout=10, trust_env=False)
    expect(page.locator("#req-table tbody tr")).to_have_count(1)
    page.click("#tab-faults")
    page.select_option("#fault-op", "listFlows")
    page.fill("#fault-status", "503")
    page.click("#fault-add")
    page.click("#fault-save")  # a write: sent with Authorization: Bearer, not the cookie
    expect(page.locator("#fault-state")).to_have_text("saved")
    assert guarded.app.runtime.faults.export()["faults"]["listFlows"]["status"] == 503
    guarded.app.runtime.faults.clear()

    page.reload()  # the same tab: no second prompt
    expect(page.locator("#conn")).to_have_text("live")
    stored = page.evaluate("sessionStorage.getItem('flowdock-mock-admin-token')")
    assert stored == TOKEN


def test_guarded__swagger_ui_authorizes_the_control_api_with_the_token(
    page: Any, guarded: LiveServer
) -> None:
    """spec/control.yaml declares its bearer scheme, so Swagger UI's Authorize sends the token on
    the writes the page's cookie does not open."""
    import re

    page.goto(f"{guarded.base_url}/_mock/swagger/")
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Continue").click()
    page.goto(f"{guarded.base_url}/_mock/swagger/?urls.primaryName=flowdock-mock%20control%20API")
    expect(page.locator(".information-container .title")).to_contain_text("flowdock-mock control API")
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    dialog = page.locator(".auth-container").filter(has_text="controlToken")
    dialog.locator("input").first.fill(TOKEN)
    dialog.get_by_role("button", name="Authorize").click()
    page.get_by_role("button", name="Close").first.click()
    operation = page.locator("#operations-State-resetState")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
