"""The documentation's code blocks, and what the docs test does with each (tests/docs/test_examples.py).

Every fenced block of README.md, CONTRIBUTING.md, ARCHITECTURE.md and docs/*.md is found with its language and the
``<!-- docs-test: ... -->`` comment right before it (blank lines between are allowed). The comment is
invisible on the site and on GitHub; CONTRIBUTING.md ("Code blocks in the documentation") is the
convention's reference. In short:

- a shell block (``console``, ``sh``, ``bash``, ``shell``) runs against the test's live mock, each
  command checked: exit status 0 and no HTTP status of 400 or more from ``curl``;
- a Python block runs: a script with ``python``, a block with ``def test_`` with ``pytest``;
- a data block (``json``, ``yaml``, ``toml``) must parse;
- a ``text`` or ``mermaid`` block is prose or a picture and is not run;
- any other language (``js``, ``ini``...) needs a directive.

Directives (several separated by ``;``): ``skip (why)`` and ``compile (why)`` (Python: checked for
syntax only; JavaScript too, with ``node --check``) need their reason in parentheses; ``server`` starts each command as a long-running
server, waits for its health and stops it; ``strict`` runs the block against a mock in strict mode;
``status 400 503`` names the HTTP error statuses the block's requests must answer; ``bot austin``
runs the stand-in bot (tests/docs/stand_ins.py) as that user of the default world during the block.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SHELL = frozenset({"console", "sh", "bash", "shell"})
PYTHON = frozenset({"python", "py"})
DATA = frozenset({"json", "yaml", "toml"})
PICTURES = frozenset({"text", "mermaid"})
JAVASCRIPT = frozenset({"js", "javascript"})

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*-->\s*$")
WORD = re.compile(r"^(?P<word>[a-z-]+)(?P<args>(?:\s+[\w-]+)*)\s*(?:\((?P<reason>.*)\))?$")
KNOWN = {"skip", "compile", "server", "strict", "status", "bot"}
NEEDS_REASON = {"skip", "compile"}


def documents() -> list[Path]:
    """The pages whose blocks are checked, in a stable order."""
    return [ROOT / name for name in ("README.md", "CONTRIBUTING.md", "ARCHITECTURE.md")] + sorted(
        (ROOT / "docs").glob("*.md")
    )


@dataclass
class Block:
    """One fenced code block: where it is, its language, its text and its directives."""

    path: Path
    line: int
    lang: str
    text: str
    directives: dict[str, str] = field(default_factory=dict)
    """Directive word → its reason (or, for ``status``, the statuses separated by spaces)."""
    problems: list[str] = field(default_factory=list)
    """What is wrong with the block's markup (an unknown directive, a skip without reason...)."""

    @property
    def where(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path.name
        return f"{shown}:{self.line}"

    @property
    def kind(self) -> str:
        """What the test does with it: skip, compile, server, shell, python, pytest, data, picture;
        ``unmarked`` when it can neither run nor says why not (a broken directive runs nothing)."""
        if self.problems:
            return "unmarked"
        if "skip" in self.directives:
            return "skip"
        if "compile" in self.directives:
            return "compile" if self.lang in PYTHON | JAVASCRIPT else "unmarked"
        if self.lang in SHELL:
            return "server" if "server" in self.directives else "shell"
        if self.lang in PYTHON:
            return "pytest" if re.search(r"^\s*def test_", self.text, re.MULTILINE) else "python"
        if self.lang in DATA:
            return "data"
        if self.lang in PICTURES:
            return "picture"
        return "unmarked"

    @property
    def statuses(self) -> set[int]:
        """The HTTP error statuses the block expects its requests to answer."""
        return {int(code) for code in self.directives.get("status", "").split()}


def parse_directive(body: str) -> tuple[dict[str, str], list[str]]:
    """``skip (needs podman); strict`` → ({"skip": "needs podman", "strict": ""}, problems)."""
    found: dict[str, str] = {}
    problems = []
    for part in filter(None, (p.strip() for p in re.split(r";(?![^(]*\))", body))):
        m = WORD.match(part)
        if m is None or m["word"] not in KNOWN:
            problems.append(f"unknown directive {part!r} (known: {', '.join(sorted(KNOWN))})")
            continue
        word, reason = m["word"], (m["reason"] or "").strip()
        if word in NEEDS_REASON and not reason:
            problems.append(f"'{word}' needs its reason in parentheses: {word} (why)")
        args = m["args"].split()
        if word == "status":
            if not args or not all(re.fullmatch(r"[45]\d\d", a) for a in args):
                problems.append("'status' needs the HTTP error statuses expected: status 400")
            reason = " ".join(args)
        elif word == "bot":
            if len(args) != 1:
                problems.append("'bot' needs the nick of the default world's user it runs as: bot austin")
            reason = " ".join(args)
        elif args:
            problems.append(f"'{word}' takes no arguments; a reason goes in parentheses")
        found[word] = reason
    return found, problems


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of one Markdown page."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        start, fence, indent = i, m["fence"], len(m["indent"])
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        block = Block(path, start + 1, m["lang"].lower(), "\n".join(body) + "\n")
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        if before >= 0 and (d := DIRECTIVE.match(lines[before])):
            block.directives, block.problems = parse_directive(d["body"])
        elif before >= 0 and "docs-test" in lines[before]:
            block.problems.append(f"malformed directive: {lines[before].strip()!r}")
        found.append(block)
        i += 1
    return found


def _complete(command: str) -> bool:
    """Whether bash reads ``command`` as whole (no open quote, no trailing backslash)."""
    if command.rstrip().endswith("\\"):
        return False
    done = subprocess.run(["bash", "-n"], input=command, capture_output=True, text=True, check=False)
    return done.returncode == 0


def commands(block: Block) -> list[tuple[int, str]]:
    """The commands of a shell block with their line in the page. In a block with ``$`` prompts,
    a command starts at a prompt and the lines that follow it are its output (unless a quote or a
    trailing backslash is still open); without prompts, every line is a command. Comments and
    blank lines between commands are dropped."""
    lines = block.text.splitlines()
    prompted = any(line.startswith("$ ") for line in lines)
    found: list[tuple[int, str]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=block.line + 1):
        if current:
            current.append(line)
            if _complete("\n".join(current)):
                found.append((first, "\n".join(current)))
                current = []
            continue
        if prompted:
            if not line.startswith("$ "):
                continue  # output shown in the page
            line = line[2:]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        first, current = number, [line]
        if _complete(line):
            found.append((first, line))
            current = []
    if current:
        found.append((first, "\n".join(current)))
    return found
