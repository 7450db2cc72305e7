"""The repository explains itself: what it cites is inside it.

Behaviour the code relies on is documented in ``docs/flowdock.md``, whose sections are numbered
(§1.1 ... §11, with the seed's problems as §9.1 ... §9.27). Every "§" in the repository's code,
tests and documents must therefore be a citation of that file that names an existing section, or
a section of a published standard ("RFC 6749 §5.2", "OpenAPI 3.0 §4.7.20"). Nothing may point at files outside the repository or at
issue numbers a reader of the repository cannot open. The seed contract
(``spec/flowdock-rest-api-openapi.yml``) is the user's document, kept byte-identical, and is not
checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOWDOCK_DOC = ROOT / "docs" / "flowdock.md"
SEED = ROOT / "spec" / "flowdock-rest-api-openapi.yml"

TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".lua", ".txt", ".cfg", ".json", ".sh"}
TOP_LEVEL_FILES = ("Makefile", "Dockerfile", ".ci/run")
"""Files without a telling suffix that still hold prose or comments."""
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    ".prism",
    ".bench",
    "reports",
    "build",
    "dist",
}
SKIPPED_DIR_SUFFIXES = (".egg-info", "_cache")

SECTION_SIGN = re.compile(r"§\s*(\d+(?:\.\d+)*)")
STANDARD = r"\bRFC\s*\d+|\bOpenAPI\s*\d+(?:\.\d+)*|\bECMA-\d+"
"""Published standards whose sections may be cited as such: RFC 6749 §5.2, OpenAPI 3.0 §4.7.20."""
CITATION_ANCHOR = re.compile(r"flowdock\.md|" + STANDARD)
"""What a "§" must follow on its line: the behaviour document, or a standard."""
STANDARD_CITATION = re.compile(f"(?:{STANDARD})[^§\\n]*§\\s*\\d+(?:\\.\\d+)*")

OUTSIDE_PATHS = re.compile(
    r"shared/(?:reference|seed)|flowdock-behavior\.md|model-codebases\.md|\.\./shared|/work/|STYLE\.md"
)
"""The notes this project was built from live outside the repository; cite docs/ instead."""
ISSUE_NUMBERS = re.compile(r"(?i)\bissues?\s*#?\d+\b|\(#\d+\)|\bGH-\d+\b")


def repository_files() -> list[Path]:
    """Every text file of the repository, except the byte-identical seed and this test's needles."""
    found = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        dirs = relative.parts[:-1]
        if any(d in SKIPPED_DIRS or d.endswith(SKIPPED_DIR_SUFFIXES) for d in dirs):
            continue
        if not path.is_file() or path in (SEED, Path(__file__).resolve()):
            continue
        if path.suffix in TEXT_SUFFIXES or str(relative) in TOP_LEVEL_FILES:
            found.append(path)
    return sorted(found)


def documented_sections() -> set[str]:
    """The section numbers docs/flowdock.md defines: its headings and the numbered §9 items."""
    text = FLOWDOCK_DOC.read_text(encoding="utf-8")
    headings = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", text, flags=re.MULTILINE)
    items = re.findall(r"^- \*\*(\d+\.\d+)\*\* ", text, flags=re.MULTILINE)
    return set(headings) | set(items)


def problems_in(path: Path, sections: set[str]) -> list[str]:
    relative = path.relative_to(ROOT)
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        where = f"{relative}:{number}"
        if path != FLOWDOCK_DOC:
            for match in SECTION_SIGN.finditer(line):
                before = line[: match.start()]
                if not CITATION_ANCHOR.search(before):
                    out.append(f"{where}: '§{match.group(1)}' does not cite docs/flowdock.md (or a standard)")
        cites_the_document = path == FLOWDOCK_DOC or "flowdock.md" in line
        for match in SECTION_SIGN.finditer(STANDARD_CITATION.sub("", line)):
            if cites_the_document and match.group(1) not in sections:
                out.append(f"{where}: docs/flowdock.md has no section {match.group(1)}")
        for match in OUTSIDE_PATHS.finditer(line):
            out.append(f"{where}: '{match.group(0)}' points outside the repository")
        for match in ISSUE_NUMBERS.finditer(line):
            out.append(f"{where}: '{match.group(0)}' cites an issue number; say what the thing is")
    return out


def test_the_behaviour_document_numbers_every_section_it_promises() -> None:
    sections = documented_sections()
    expected = {"1.1", "1.5", "2.4", "3.1", "3.9", "4.1", "4.6", "5", "6", "7", "8.1", "8.7", "9", "10", "11"}
    assert expected <= sections, sorted(expected - sections)
    assert {f"9.{n}" for n in range(1, 28)} <= sections


def test_the_scan_sees_code_tests_and_documents() -> None:
    names = {str(p.relative_to(ROOT)) for p in repository_files()}
    for expected in (
        "README.md",
        "Makefile",
        "spec/CORRECTIONS.md",
        "mock_server/errors.py",
        "bench/bench.py",
    ):
        assert expected in names
    assert "spec/flowdock-rest-api-openapi.yml" not in names


@pytest.mark.parametrize(
    "line",
    [
        "# the Push API (§8.2)",
        "(reference §1.3)",
        "see ../shared/reference/flowdock-behavior.md §4",
        "# --- messaging (issue 3) ---",
        "Fixes (#7)",
        "docs/flowdock.md §12.4",
    ],
)
def test_a_bad_citation_is_reported(tmp_path: Path, line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    bad = tmp_path / "example.py"
    bad.write_text(line + "\n", encoding="utf-8")
    assert problems_in(bad, documented_sections())


@pytest.mark.parametrize(
    "line",
    [
        "# the Push API (docs/flowdock.md §8.2, §9.26)",
        "Failures are RFC 6749 §5.2 errors.",
        "| OpenAPI 3.0 §4.7.20 (Link Object) | ECMA-262 §22.2.2.9 |",
        "see flowdock.md §3.2 ops 4 and 7",
        '"title": "opened pull request #36"',
    ],
)
def test_a_good_citation_passes(tmp_path: Path, line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    good = tmp_path / "example.py"
    good.write_text(line + "\n", encoding="utf-8")
    assert problems_in(good, documented_sections()) == []


def test_every_citation_points_inside_the_repository() -> None:
    sections = documented_sections()
    problems = [p for path in repository_files() for p in problems_in(path, sections)]
    assert not problems, "\n".join(problems)
