"""The layering rules of ARCHITECTURE.md, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mock_server"
WEB_FRAMEWORKS = ("connexion", "starlette", "flask", "werkzeug", "uvicorn")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    "path",
    sorted(
        [
            *PACKAGE.glob("store/*.py"),
            *PACKAGE.glob("handlers/*.py"),
            PACKAGE / "errors.py",
            *PACKAGE.glob("world/*.py"),
        ]
    ),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_store_handlers_and_errors_import_no_web_framework(path: Path) -> None:
    bad = {m for m in imported_modules(path) if m.split(".")[0] in WEB_FRAMEWORKS}
    assert not bad, f"{path.name} imports {bad}: the store and handlers must not know about HTTP"


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("store/*.py")), ids=lambda p: p.name)
def test_store_never_imports_handlers(path: Path) -> None:
    assert not {m for m in imported_modules(path) if m.startswith("mock_server.handlers")}
