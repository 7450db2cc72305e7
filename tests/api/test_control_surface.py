"""The control API (/_mock) is the mock's own, for the operator and the jobs it serves: no web
origin but the mock's own may read it or change it, and what it serves (uploaded files, HTML
pages) never runs script on the mock's origin. The REST API keeps the CORS Flowdock had."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server import errors
from tests.conftest import assert_error

ELSEWHERE = "https://elsewhere.example"
SAME = "http://testserver"
"""The test client's own origin (its base URL)."""


# --- item 1: no CORS on /_mock, cross-site writes refused -----------------------------------------
@pytest.mark.parametrize("path", ["/_mock/worlds", "/_mock/requests", "/_mock/state", "/_mock/faults"])
def test_control__no_cors_headers_for_a_foreign_origin(client: Any, path: str) -> None:
    r = client.get(path, headers={"Origin": ELSEWHERE})
    assert r.status_code == 200
    assert not [h for h in r.headers if h.lower().startswith("access-control-")], r.headers


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/_mock/worlds", "POST"),
        ("/_mock/reset", "POST"),
        ("/_mock/worlds/w1", "DELETE"),
        ("/_mock/faults", "PUT"),
    ],
)
def test_control__a_preflight_is_never_approved(client: Any, path: str, method: str) -> None:
    r = client.options(
        path,
        headers={"Origin": ELSEWHERE, "Access-Control-Request-Method": method},
    )
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-methods" not in r.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": ELSEWHERE},
        {"Origin": "null"},
        {"Origin": "http://testserver:8080"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": SAME, "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_control__cross_site_writes_are_refused(client: Any, store: Any, headers: dict[str, str]) -> None:
    before = [w["id"] for w in client.get("/_mock/worlds").json()["worlds"]]
    r = client.post("/_mock/worlds", json={}, headers=headers)
    assert_error(r, 403, errors.CROSS_SITE_CONTROL)
    r = client.post("/_mock/reset", headers=headers)
    assert_error(r, 403, errors.CROSS_SITE_CONTROL)
    r = client.put("/_mock/faults", json={"faults": {"listFlows": {"status": 503}}}, headers=headers)
    assert_error(r, 403, errors.CROSS_SITE_CONTROL)
    assert [w["id"] for w in client.get("/_mock/worlds").json()["worlds"]] == before
    assert client.get("/_mock/faults").json()["faults"] == {}


@pytest.mark.parametrize("headers", [{}, {"Origin": SAME}, {"Origin": SAME, "Sec-Fetch-Site": "same-origin"}])
def test_control__same_origin_and_non_browser_writes_pass(client: Any, headers: dict[str, str]) -> None:
    r = client.put("/_mock/faults", json={"faults": {}}, headers=headers)
    assert r.status_code == 200, r.text


def test_control__cross_site_writes_are_refused_with_an_admin_token_too() -> None:
    from mock_server.app import create_app

    app = create_app(admin_token="adm1n")
    c = app.test_client()
    bearer = {"Authorization": "Bearer adm1n"}
    r = c.post("/_mock/reset", headers={**bearer, "Origin": ELSEWHERE})
    assert_error(r, 403, errors.CROSS_SITE_CONTROL)
    assert c.post("/_mock/reset", headers=bearer).status_code == 200


def test_rest__keeps_flowdocks_cors(alice: Any) -> None:
    r = alice.get("/flows", headers={"Origin": ELSEWHERE})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ELSEWHERE
    r = alice.options("/flows", headers={"Origin": ELSEWHERE, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ELSEWHERE
    r = alice.post(
        "/flows/acme/main/messages", json={"event": "message", "content": "hi"}, headers={"Origin": ELSEWHERE}
    )
    assert r.status_code == 201


# --- item 2: uploaded files never run on the mock's origin ----------------------------------------
def _upload(alice: Any, name: str, data: bytes, content_type: str) -> str:
    r = alice.post(
        "/flows/acme/main/messages",
        data={"event": "file"},
        files={"content": (name, data, content_type)},
    )
    assert r.status_code == 201, r.text
    path = r.json()["content"]["path"]
    r = alice.get(path, follow_redirects=False)
    assert r.status_code == 302
    return str(r.headers["location"])


@pytest.mark.parametrize(
    ("name", "content_type", "disposition"),
    [
        ("page.html", "text/html", "attachment"),
        ("pic.svg", "image/svg+xml", "attachment"),
        ("notes.txt", "text/plain", "attachment"),
        ("data.json", "application/json", "attachment"),
        ("shot.png", "image/png", "inline"),
        ("shot.jpg", "image/jpeg", "inline"),
        ("anim.gif", "image/gif", "inline"),
        ("pic.webp", "image/webp", "inline"),
    ],
)
def test_files__served_with_nosniff_sandbox_and_attachment(
    alice: Any, client: Any, name: str, content_type: str, disposition: str
) -> None:
    url = _upload(alice, name, b'"<script>alert(1)</script>"', content_type)  # JSON text too
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "sandbox"
    assert r.headers["content-disposition"].split(";")[0] == disposition
    assert name in r.headers["content-disposition"]


# --- item 4: HTML pages carry a policy; names that break URLs are refused -------------------------
HTML_PAGES = ["/_mock/", "/_mock/report", "/_mock/swagger/", "/_mock/swagger/oauth2-redirect.html"]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages__send_a_content_security_policy(client: Any, path: str) -> None:
    r = client.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 200, (path, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    assert_page_policy(r.headers)


def assert_page_policy(headers: Any) -> None:
    policy = {
        d.strip().split(" ", 1)[0]: d.strip()
        for d in headers["content-security-policy"].split(";")
        if d.strip()
    }
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["default-src"] == "default-src 'self'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == "object-src 'none'"
    assert policy["base-uri"] == "base-uri 'none'"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_html_pages__the_admin_prompt_too() -> None:
    from mock_server.app import create_app

    r = create_app(admin_token="adm1n").test_client().get("/_mock/", headers={"Accept": "text/html"})
    assert r.status_code == 401
    assert_page_policy(r.headers)


def _world_with_flow_name(client: Any, name: str, where: str = "flows") -> Any:
    doc = client.get("/_mock/state").json()
    doc[where][0]["parameterized_name"] = name
    return doc


@pytest.mark.parametrize(
    "name",
    ["x/../../../_mock/reset?", "a?b", "a#b", "a\\b", "a\nb", "a\x00b", "a\x7fb", ".", "..", "a b", "a%2fb"],
)
@pytest.mark.parametrize("where", ["flows", "organizations"])
def test_world_documents__refuse_names_flowdock_never_produced(client: Any, name: str, where: str) -> None:
    doc = _world_with_flow_name(client, name, where)
    r = client.post("/_mock/worlds", json={"world": doc})
    assert r.status_code == 400, r.text
    (said,) = r.json()["errors"][f"{where}.0.parameterized_name"]
    assert said.endswith(
        "is not a name Flowdock could have produced: one URL path segment, without /, ?, #, %, \\, white space or control characters, and not . or .."
    ), said
    r = client.put("/_mock/state", json=doc)
    assert r.status_code == 400, r.text
    assert f"{where}.0.parameterized_name" in r.json()["errors"]
