"""The repository describes itself truly: its map, license, type marker and pre-commit hooks.

The the repository map (docs/development.md) and ARCHITECTURE.md must tell the same story as the folders; the
license file must be the one pyproject.toml declares; the package must ship its ``py.typed``; the
pre-commit hooks must run what ``make lint`` runs.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mock_server"


def section(text: str, heading: str) -> str:
    return text.split(heading + "\n", 1)[1].split("\n#", 1)[0]


def readme_map() -> dict[str, str]:
    """First column (a backticked path) -> second column, from the repository map (docs/development.md)."""
    rows = section((ROOT / "docs" / "development.md").read_text(encoding="utf-8"), "## Repository map")
    return dict(re.findall(r"^\| `([^`]+)` \| (.+) \|$", rows, flags=re.MULTILINE))


def ignored_names() -> set[str]:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return {line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#")}


def top_level_dirs() -> set[str]:
    ignored = ignored_names()
    return {
        p.name + "/"
        for p in ROOT.iterdir()
        if p.is_dir()
        and p.name != ".git"
        and p.name not in ignored
        and not p.name.endswith(".egg-info")
        and any(f.is_file() for f in p.rglob("*"))
    }


def subpackages() -> set[str]:
    return {f"mock_server/{p.parent.name}/" for p in PACKAGE.glob("*/__init__.py")}


def test_the_readme_map_names_every_folder_and_package() -> None:
    listed = set(readme_map())
    assert top_level_dirs() <= listed, sorted(top_level_dirs() - listed)
    assert subpackages() <= listed, sorted(subpackages() - listed)


def test_every_path_in_the_readme_map_exists() -> None:
    missing = [path for path in readme_map() if not (ROOT / path).exists()]
    assert missing == []


def test_architecture_names_every_package() -> None:
    architecture = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [package for package in sorted(subpackages()) if f"`{package}" not in architecture]
    assert missing == [], "ARCHITECTURE.md does not name these packages"


def test_license_is_the_one_pyproject_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["license"] == "MIT"  # an SPDX expression (PEP 639)
    assert license_text.startswith("MIT License\n")
    assert "flowdock-mock contributors" in license_text


def test_py_typed_is_shipped_as_package_data() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert (PACKAGE / "py.typed").is_file()
    assert "py.typed" in setuptools["package-data"]["mock_server"]


def test_pre_commit_runs_what_make_lint_runs() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint_recipe = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    make_commands = {line.strip().replace("$(BIN)/", "").replace(" $(LINTED)", "") for line in
                     lint_recipe.splitlines()[1:] if line.startswith("\t")}  # fmt: skip
    linted = re.search(r"^LINTED := (.+)$", makefile, flags=re.MULTILINE)
    assert linted is not None

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"]), "hooks must need no download"
    assert all(hook["language"] == "system" for hook in hooks)
    hook_commands = {hook["entry"].removeprefix(".venv/bin/") for hook in hooks}
    assert hook_commands == make_commands

    linted_dirs = linted.group(1).split()
    for hook in hooks:
        if hook.get("pass_filenames", True):
            assert hook["files"] == "^(" + "|".join(linted_dirs) + ")/", hook["id"]
