"""The documentation site: the generated references say what the code says, the README stays a
front page, every page is in the navigation. ``make docs`` builds the site with warnings as errors."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from mock_server.contract import load_control_spec
from mock_server.pytest_plugin import OPTION_NAMES
from mock_server.settings import OPTIONS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS))

import reference

README_MAX_LINES = 250


def test_configuration_reference__names_every_option_and_its_variables() -> None:
    page = reference.configuration_page()
    for option in OPTIONS:
        assert f"`--{option.flag}" in page, option.flag
        for name in option.env:
            assert f"`{name}`" in page, name


def test_control_api_reference__names_every_operation_of_the_control_spec() -> None:
    page = reference.control_api_page()
    doc = load_control_spec()
    for path, item in doc["paths"].items():
        for method in reference.METHODS:
            if method in item:
                assert f"`{method.upper()} /_mock{path}`" in page
                assert f"`{item[method]['operationId']}`" in page


def test_readme_is_a_front_page() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, len(lines)
    text = "\n".join(lines)
    assert "make run" in text and "make test" in text


def _nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    return []


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = set(_nav_pages(config["nav"]))
    written = {p.name for p in DOCS.glob("*.md")}
    generated = set(reference.PAGES) | {"index.md", "contributing.md"}
    assert written - nav == set()
    assert nav - written - generated == set()


def test_repository_pages__links_into_docs_become_page_links(tmp_path: Path) -> None:
    page = tmp_path / "X.md"
    page.write_text("[a](docs/worlds.md#x) [b](ARCHITECTURE.md) ![i](docs/images/a.png) [c](https://e.org)")
    assert reference.repository_page(page) == "[a](worlds.md#x) b ![i](images/a.png) [c](https://e.org)"


def test_pytest_page__lists_the_options_the_plugin_takes() -> None:
    page = (DOCS / "pytest.md").read_text(encoding="utf-8")
    listed = page.split("(`seed`", 1)[1].split(".)", 1)[0]
    assert ["seed", *re.findall(r"`(\w+)`", listed)] == list(OPTION_NAMES)
