"""The inspector's script: ES modules shipped in the package and served at /_mock/assets/, so the
page's Content-Security-Policy needs no 'unsafe-inline' (the browser tests run them)."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest

from mock_server import errors
from tests.conftest import assert_error

ASSETS = resources.files("mock_server.inspector").joinpath("assets")
_IMPORT = re.compile(r'^import \{[^}]*\} from "\./([^"]+)";$', re.MULTILINE)


def _imported_from_main() -> set[str]:
    """Every module main.js reaches through its imports (relative ones: nothing from elsewhere)."""
    seen: set[str] = set()
    todo = ["main.js"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_IMPORT.findall(ASSETS.joinpath(name).read_text(encoding="utf-8")))
    return seen


def test_page__loads_main_as_a_module_and_allows_no_inline_script_but_its_hints(client: Any) -> None:
    r = client.get("/_mock/", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert '<script type="module" src="/_mock/assets/main.js"></script>' in r.text
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.DOTALL)
    assert [s.split("=")[0] for s in inline] == ["window.INSPECTOR_HINTS "]
    policy = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
    sources = policy["script-src"].split()
    assert sources[0] == "'self'" and len(sources) == 2 and sources[1].startswith("'sha256-"), sources


def test_modules__every_one_main_imports_is_served_as_javascript(client: Any) -> None:
    names = _imported_from_main()
    shipped = {p.name for p in ASSETS.iterdir() if p.name.endswith(".js")}
    assert names == shipped, "a module no page imports, or an import of one not shipped"
    assert {"main.js", "api.js", "requests.js", "coverage.js", "world.js", "chat.js", "faults.js"} <= names
    for name in sorted(names):
        r = client.get(f"/_mock/assets/{name}")
        assert r.status_code == 200, (name, r.text)
        assert r.headers["content-type"] == "text/javascript"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.text == ASSETS.joinpath(name).read_text(encoding="utf-8")


def test_modules__an_unknown_one_is_a_404(client: Any) -> None:
    assert_error(client.get("/_mock/assets/nothing.js"), 404, errors.NOT_FOUND)


@pytest.mark.parametrize("name", ["index.html", "inspector.css", "prompt.html", "Main.js", "..%2Fpage.py"])
def test_modules__only_script_names_are_served(client: Any, name: str) -> None:
    r = client.get(f"/_mock/assets/{name}")
    assert r.status_code in (400, 404), (name, r.status_code)
    assert "text/javascript" not in r.headers.get("content-type", "")


def test_modules__guarded_like_the_page() -> None:
    from mock_server.app import create_app

    guarded = create_app(admin_token="adm1n").test_client()
    assert guarded.get("/_mock/assets/main.js").status_code == 401
    assert guarded.get("/_mock/assets/main.js", headers={"Authorization": "Bearer adm1n"}).status_code == 200
    assert (
        guarded.get("/_mock/assets/main.js", headers={"Cookie": "flowdock_mock_admin=adm1n"}).status_code
        == 200
    )
