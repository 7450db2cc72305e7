"""BotiumScript conversations: ``*.convo.txt`` and ``*.utterances.txt`` read into runs to play.

A convo file (docs/conversations.md says it for users)::

    Deploy answers in the thread        <- the name line (the file name when the file starts with #)
    An optional description, up to the first section.

    #me
    @carol deploy api                   <- one message; several lines make one multi-line message

    #bot
    deploying api #deploy               <- the bot's next message must match

A ``#me`` header may name who speaks (``#me bob`` or ``#me @bob``), where (``#me #dev`` for a
flow of the bot's organization, ``#me #acme/dev``) and how: ``thread`` (in the thread of the
conversation's latest message) or ``private`` (a private message to the bot). A ``#bot`` header
takes the same place words as requirements on where the answer is. A ``#bot`` text is matched
whole, with ``*`` matching any text (``\\*`` a literal one), or as ``/regex/flags`` searched in the
answer; ``$name`` captures a word there and is replaced by it in later lines; a first line starting
with ``!`` negates the block. A ``#me`` text that is exactly an utterance's name expands the
conversation into one run per variant; in a ``#bot`` block it accepts any variant.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

ME, BOT = "me", "bot"
THREAD, PRIVATE = "thread", "private"
MAX_RUNS = 100
"""Runs one conversation may expand into (the product of its utterances' variants)."""
MAX_LINE = 8096
"""The longest text line accepted (Flowdock's message limit)."""

_CAPTURE = re.compile(r"(?<!\\)\$([A-Za-z_][A-Za-z0-9_]*)")
_REGEX = re.compile(r"^/(.*)/([ims]*)$", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ScriptError(ValueError):
    """A convo or utterances file that cannot be played; ``line`` is 1-based (0: the file)."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")
        self.source, self.line, self.message = source, line, message


@dataclass(frozen=True)
class Step:
    """One ``#me`` or ``#bot`` block."""

    kind: str
    line: int
    """The header's line number in the convo file."""
    text: str
    nick: str | None = None
    flow: str | None = None
    """A flow given as ``#name`` (the bot's organization) or ``#org/name``."""
    where: str | None = None
    """``thread``, ``private`` or None (the flow)."""
    negate: bool = False
    variants: tuple[str, ...] = ()
    """A ``#bot`` block naming an utterance: any of its variants matches."""

    @property
    def header(self) -> str:
        words = [f"#{self.kind}"]
        if self.nick:
            words.append(self.nick)
        if self.flow:
            words.append(f"#{self.flow}")
        if self.where:
            words.append(self.where)
        return " ".join(words)


@dataclass(frozen=True)
class Convo:
    name: str
    source: str
    description: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Run:
    """One playable conversation: a convo with each utterance replaced by one of its variants."""

    convo: Convo
    steps: tuple[Step, ...]
    variant: dict[str, str] = field(default_factory=dict)
    """utterance name -> the variant this run says."""

    @property
    def name(self) -> str:
        if not self.variant:
            return self.convo.name
        chosen = ", ".join(f"{k}={v!r}" for k, v in self.variant.items())
        return f"{self.convo.name} [{chosen}]"


def parse_utterances(text: str, source: str = "utterances") -> tuple[str, tuple[str, ...]]:
    """An ``*.utterances.txt`` file: its name line, then one variant per non-empty line."""
    lines = [line.strip() for line in _lines(text)]
    body = [(n, line) for n, line in enumerate(lines, 1) if line]
    if not body:
        raise ScriptError(
            source, 0, "is empty: the first line names the utterance, each next line is a variant"
        )
    (_, name), variants = body[0], tuple(line for _, line in body[1:])
    if not variants:
        raise ScriptError(
            source, body[0][0], f"utterance {name!r} has no variants (one per line after its name)"
        )
    for n, line in body:
        if len(line) > MAX_LINE:
            raise ScriptError(source, n, f"is longer than {MAX_LINE} characters")
    return name, variants


def _lines(text: str) -> list[str]:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _header(source: str, number: int, line: str) -> tuple[str, str | None, str | None, str | None]:
    """``#me bob #dev thread`` -> (kind, nick, flow, where)."""
    words = line.split()
    kind = words[0][1:].lower()
    if kind not in (ME, BOT):
        raise ScriptError(
            source,
            number,
            f"{words[0]} is not a section this player knows (#me and #bot are; see docs/conversations.md)",
        )
    nick = flow = where = None
    for word in words[1:]:
        lowered = word.lower()
        if lowered in (THREAD, PRIVATE):
            if where is not None:
                raise ScriptError(source, number, f"{line!r} names both {where} and {lowered}")
            where = lowered
        elif word.startswith("#") and len(word) > 1:
            if flow is not None:
                raise ScriptError(source, number, f"{line!r} names two flows")
            flow = word[1:]
        elif kind == ME and nick is None:
            nick = word.removeprefix("@")
        else:
            raise ScriptError(source, number, f"{word!r} is not understood in {line!r}")
    if where == PRIVATE and flow is not None:
        raise ScriptError(source, number, f"{line!r}: a private message has no flow")
    return kind, nick, flow, where


def parse_convo(text: str, source: str = "convo") -> Convo:
    """A ``*.convo.txt`` file; ScriptError (with the line) when it cannot be played."""
    lines = _lines(text)
    name = ""
    description: list[str] = []
    steps: list[Step] = []
    current: tuple[str, str | None, str | None, str | None, int] | None = None
    block: list[str] = []

    def close() -> None:
        if current is None:
            return
        kind, nick, flow, where, number = current
        while block and not block[-1].strip():
            block.pop()
        while block and not block[0].strip():
            block.pop(0)
        body = "\n".join(line.rstrip() for line in block)
        negate = False
        if kind == BOT and body.startswith("!"):
            negate, body = True, body[1:].lstrip()
        if kind == ME and not body:
            raise ScriptError(source, number, "#me has no text to say")
        for offset, line in enumerate(block):
            if len(line) > MAX_LINE:
                raise ScriptError(source, number + 1 + offset, f"is longer than {MAX_LINE} characters")
        if kind == BOT and _REGEX.match(body):
            try:
                Expectation(body, {})
            except re.error as exc:
                raise ScriptError(
                    source, number, f"{body} is not a valid regular expression: {exc}"
                ) from None
        steps.append(Step(kind, number, body, nick, flow, where, negate))

    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("#") and re.match(r"^#[A-Za-z]+(\s|$)", stripped):
            close()
            block = []
            kind, nick, flow, where = _header(source, number, stripped)
            current = (kind, nick, flow, where, number)
            continue
        if current is not None:
            block.append(line)
        elif not name and stripped:
            name = stripped
        elif stripped:
            description.append(stripped)
    close()
    if not steps:
        raise ScriptError(source, 0, "has no #me or #bot section")
    stem = source.rsplit("/", 1)[-1].removesuffix(".txt").removesuffix(".convo")
    return Convo(name or stem, source, "\n".join(description), tuple(steps))


def expand(convo: Convo, utterances: dict[str, tuple[str, ...]]) -> list[Run]:
    """One run per combination of the variants of the utterances its ``#me`` lines name."""
    used: list[str] = []
    steps: list[Step] = []
    for step in convo.steps:
        if step.text in utterances:
            if step.kind == BOT:
                step = replace(step, variants=utterances[step.text])
            elif step.text not in used:
                used.append(step.text)
        steps.append(step)
    total = 1
    for name in used:
        total *= len(utterances[name])
    if total > MAX_RUNS:
        raise ScriptError(
            convo.source,
            0,
            f"its utterances expand into {total} runs, more than {MAX_RUNS}; split the conversation",
        )
    runs = []
    for choice in itertools.product(*(utterances[name] for name in used)):
        variant = dict(zip(used, choice, strict=True))
        chosen = tuple(
            replace(s, text=variant[s.text]) if s.kind == ME and s.text in variant else s for s in steps
        )
        runs.append(Run(convo, chosen, variant))
    return runs


# --- matching a #bot block -------------------------------------------------------------------------
class Expectation:
    """What one ``#bot`` text accepts, with the captures known so far substituted.

    The pattern is built for any engine with Python's syntax and inline flags, and no
    backreferences: ``compile`` is ``re.compile`` by default, and the player's is RE2 (linear in
    the text: it runs on the server's event loop). A name captured twice in one text is two
    groups, compared after the match.
    """

    def __init__(
        self, text: str, captures: dict[str, str], compile: Callable[[str], Any] = re.compile
    ) -> None:
        self.text = text
        self.repeats: list[tuple[str, str]] = []
        regex = _REGEX.match(text)
        if regex:
            pattern, flags = regex.groups()
            self.kind = "regex"
            inline = f"(?{flags})" if flags else ""
            self.pattern = compile(inline + self._captures(pattern, captures, literal=False))
        else:
            self.kind = "wildcard" if _has_wildcard(text) else "exact"
            self.pattern = compile("(?s)^(?:" + self._captures(text.strip(), captures, literal=True) + ")$")

    def _captures(self, text: str, captures: dict[str, str], *, literal: bool) -> str:
        out: list[str] = []
        seen: set[str] = set()
        pos = 0
        for m in _CAPTURE.finditer(text):
            before = text[pos : m.start()]
            out.append(_wildcards(before) if literal else before)
            name = m.group(1)
            if name in captures:
                out.append(re.escape(captures[name]))
            elif name in seen:
                again = f"{name}__{len(self.repeats) + 1}"
                self.repeats.append((name, again))
                out.append(f"(?P<{again}>\\S+)")
            else:
                seen.add(name)
                out.append(f"(?P<{name}>\\S+)")
            pos = m.end()
        rest = text[pos:]
        out.append(_wildcards(rest) if literal else rest)
        return "".join(out)

    def match(self, said: str) -> dict[str, str] | None:
        """The new captures when ``said`` matches, else None."""
        found = self.pattern.search(said if self.kind == "regex" else said.strip())
        if found is None:
            return None
        groups = found.groupdict()
        if any(groups.get(name) != groups.get(again) for name, again in self.repeats):
            return None
        repeated = {again for _, again in self.repeats}
        return {k: v for k, v in groups.items() if v is not None and k not in repeated}

    def describe(self) -> str:
        if self.kind == "regex":
            return f"a match of {self.text}"
        if self.kind == "wildcard":
            return f"text like {self.text!r} (* matches anything)"
        return repr(self.text)


def _has_wildcard(text: str) -> bool:
    return re.search(r"(?<!\\)\*", text) is not None


def _wildcards(text: str) -> str:
    """Literal text with ``*`` as any text; ``\\*`` and ``\\$`` are a literal ``*`` and ``$``."""
    out = []
    for part in re.split(r"(\\\*|\\\$|\*)", text):
        if part == "*":
            out.append(".*")
        elif part in ("\\*", "\\$"):
            out.append(re.escape(part[1]))
        else:
            out.append(re.escape(part))
    return "".join(out)


def substitute(text: str, captures: dict[str, str]) -> tuple[str, list[str]]:
    """A ``#me`` text with ``$name`` replaced by its capture; the names not captured yet."""
    missing: list[str] = []

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in captures:
            return captures[name]
        missing.append(name)
        return m.group(0)

    return _CAPTURE.sub(one, text).replace("\\$", "$"), missing


def valid_name(name: str) -> bool:
    return _NAME.match(name) is not None
