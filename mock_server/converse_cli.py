"""``flowdock-mock converse [options] CONVO_OR_DIR... -- BOT COMMAND``: conversation tests of any
bot (docs/conversations.md).

The mock runs in this process as for ``run`` (or ``--url`` names one already running). Each convo
file gets a fresh world (``POST /_mock/worlds``, deleted afterwards) and a fresh bot: COMMAND is
started with the client variables of ``run`` (runner.CLIENT_ENV) set for the bot user of that
world, plus ``FLOWDOCK_MOCK_WORLD``; ``POST /_mock/converse`` waits for the bot's stream and
plays the convo's runs; then the bot is stopped (SIGTERM, SIGKILL after 5 s). A bot that exits
first fails the convo at once. One line per run goes to standard output; ``--junit`` and
``--transcripts`` write the reports. Exit status: 0 when every run passed, 1 when one failed, 2
for a usage error or a file that cannot be played, 127 or 126 when COMMAND cannot be started.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_server.control_client import HTTP_TIMEOUT, ControlAPI
from mock_server.converse.report import file_name, summary_line, transcript
from mock_server.converse.script import BOT, ScriptError, expand, parse_convo, parse_utterances
from mock_server.runner import cannot_start, client_environment
from mock_server.settings import Settings, UsageError

PROG = "flowdock-mock converse"
STOP_TIMEOUT = 5.0
CONNECT_SLICE = 1.0
"""Seconds of each wait for the bot's stream, between which the CLI sees whether the bot exited."""
PASSED, FAILED, UNPLAYABLE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("conversations")
    group.add_argument(
        "--bot", metavar="USER", help="the bot's user: nick, email or id (default: the main user)"
    )
    group.add_argument(
        "--me",
        metavar="USER",
        help="who says #me lines naming no one (default: bob, else another member of the flow)",
    )
    group.add_argument(
        "--flow",
        metavar="FLOW",
        help="organization/flow, a flow name or id (default: the first flow the bot joined)",
    )
    group.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="seconds each #bot step waits (default 5)"
    )
    group.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds to wait for the bot's stream (default 30)",
    )
    group.add_argument("--url", help="play on the mock at URL (in fresh worlds) instead of starting one")
    group.add_argument("--junit", metavar="FILE", help="JUnit XML: one test case per run")
    group.add_argument("--transcripts", metavar="DIR", help="one plain transcript per run, DIR/<name>.txt")
    parser.add_argument(
        "argv",
        nargs=argparse.REMAINDER,
        metavar="CONVO_OR_DIR... -- COMMAND",
        help="convo files or folders, then the bot",
    )


@dataclass
class Convo:
    """A convo file and the utterances files sent with it (every one in its folder)."""

    path: Path
    text: str
    utterances: list[str]
    waits: int
    """``#bot`` steps over all its runs (bounds how long its request may take)."""


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" not in argv:
        raise UsageError(
            f"{PROG} needs the bot's command after --: {PROG} [options] CONVO_OR_DIR... -- COMMAND"
        )
    at = argv.index("--")
    paths, command = argv[:at], argv[at + 1 :]
    if not paths:
        raise UsageError(f"{PROG}: name at least one convo file or folder before --")
    if not command:
        raise UsageError(f"{PROG}: the bot's command is missing after --")
    return paths, command


def collect(paths: list[str]) -> list[Convo]:
    """Every ``*.convo.txt`` named or under a named folder (sorted), each read and checked."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.convo.txt")))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    if not found:
        raise UsageError(f"no *.convo.txt file in {', '.join(paths)}")
    convos = []
    for path in found:
        try:
            text = path.read_text(encoding="utf-8")
            utterances = [u.read_text(encoding="utf-8") for u in sorted(path.parent.glob("*.utterances.txt"))]
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: {exc}") from None
        try:
            named = dict(parse_utterances(u, str(path.parent)) for u in utterances)
            runs = expand(parse_convo(text, str(path)), named)
        except ScriptError as bad:
            raise UsageError(str(bad)) from None
        waits = sum(1 for run in runs for step in run.steps if step.kind == BOT)
        convos.append(Convo(path, text, utterances, waits))
    return convos


@dataclass
class Outcome:
    source: str
    verdict: dict[str, Any]
    bot_status: int | None = None
    notes: list[str] = field(default_factory=list)


class BotNotStarted(Exception):
    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class Bot:
    """COMMAND running for one convo, its output on standard error (stdout is for the verdicts)."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        out: Any = None
        with contextlib.suppress(AttributeError, OSError, ValueError):
            out = sys.stderr.fileno()
        try:
            self.proc = subprocess.Popen(command, env=env, stdout=out)
        except OSError as exc:
            raise BotNotStarted(exc) from exc

    @property
    def status(self) -> int | None:
        return self.proc.poll()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)


def _pick(users: list[dict[str, Any]], ref: str | None) -> dict[str, Any]:
    if ref is None:
        return min(users, key=lambda u: int(u["id"]))
    text = ref.strip().removeprefix("@").lower()
    for user in users:
        if text in (str(user["id"]), str(user.get("nick", "")).lower(), str(user["email"]).lower()):
            return user
    raise UsageError(f"--bot {ref}: no such user in the world (give a nick, an email or an id)")


def _failed_verdict(convo: Convo, message: str) -> dict[str, Any]:
    """Every run of ``convo`` failed before it started, for ``message``."""
    named = dict(parse_utterances(u) for u in convo.utterances)
    runs = expand(parse_convo(convo.text, convo.path.name), named)
    return {
        "passed": False,
        "runs": [
            {
                "name": run.name,
                "source": convo.path.name,
                "variant": run.variant,
                "passed": False,
                "failure": {"step": 0, "line": 0, "message": message},
                "seconds": 0.0,
                "captures": {},
                "transcript": [f"FAILED {message}"],
            }
            for run in runs
        ],
    }


def play(
    control: ControlAPI, base_url: str, convo: Convo, args: argparse.Namespace, command: list[str]
) -> Outcome:
    """One convo in a fresh world with a fresh bot. The world's own control token (a server with
    --admin-token answers one) plays and removes it, and is the bot's FLOWDOCK_MOCK_ADMIN_TOKEN."""
    created = control.call("POST", "/worlds", {})
    world = str(created["id"])
    control = ControlAPI(control.base_url, created.get("control_token") or control.admin_token)
    try:
        bot_user = _pick(list(created["credentials"]["users"]), args.bot)
        env = {
            **os.environ,
            **client_environment(base_url, bot_user, control.admin_token),
            "FLOWDOCK_MOCK_WORLD": world,
        }
        body: dict[str, Any] = {
            "convo": convo.text,
            "name": convo.path.name,
            "utterances": convo.utterances,
            "bot": int(bot_user["id"]),
            "timeout": args.timeout,
            "connect_timeout": args.connect_timeout,
        }
        body.update({k: v for k, v in (("me", args.me), ("flow", args.flow)) if v is not None})
        path = "/converse?" + urllib.parse.urlencode({"world": world})
        bot = Bot(command, env)
        try:
            verdict = _converse(control, path, body, convo, args, bot)
            exited = bot.status
        finally:
            bot.stop()
        if verdict is None:
            message = f"the bot exited with status {exited} before it opened a stream on the flow"
            return Outcome(str(convo.path), _failed_verdict(convo, message), exited)
        outcome = Outcome(str(convo.path), verdict, exited)
        if exited is not None and not verdict["passed"]:
            for run in verdict["runs"]:
                run["transcript"].append(f"(the bot exited with status {exited} during the conversation)")
        return outcome
    finally:
        control.exchange("DELETE", f"/worlds/{urllib.parse.quote(world)}")


def _converse(
    control: ControlAPI, path: str, body: dict[str, Any], convo: Convo, args: argparse.Namespace, bot: Bot
) -> dict[str, Any] | None:
    """POST /_mock/converse once the bot streams the flow: asked with a one-second wait for its
    stream (the server's wait, event-driven) until it connects, exits or ``--connect-timeout``
    passes; None when the bot exited first."""
    deadline = time.monotonic() + args.connect_timeout
    while True:
        remaining = max(0.0, deadline - time.monotonic())
        slice_s = min(CONNECT_SLICE, remaining)
        limit = slice_s + convo.waits * args.timeout + HTTP_TIMEOUT
        status, verdict, text = control.exchange("POST", path, {**body, "connect_timeout": slice_s}, limit)
        if status != 200:
            raise UsageError(f"{convo.path}: POST /_mock/converse answered {status}: {text}")
        if verdict["connected"] or remaining <= 0:
            return dict(verdict)
        if bot.status is not None:
            return None


def write_reports(outcomes: list[Outcome], args: argparse.Namespace) -> list[str]:
    written = []
    if args.transcripts:
        folder = Path(args.transcripts)
        folder.mkdir(parents=True, exist_ok=True)
        for outcome in outcomes:
            for run in outcome.verdict["runs"]:
                path = folder / file_name(run)
                path.write_text(transcript(run), encoding="utf-8")
        written.append(str(folder))
    if args.junit:
        from mock_server.reporting.conversations import render_conversations_junit

        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        path = Path(args.junit)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            render_conversations_junit([(o.source, o.verdict) for o in outcomes], timestamp=stamp),
            encoding="utf-8",
        )
        written.append(str(path))
    return written


def _token(args: argparse.Namespace) -> str | None:
    """``--admin-token``, else ``--create-token`` (flag or variable): what opens POST /worlds."""
    from mock_server.settings import OPTIONS

    for flag in ("admin-token", "create-token"):
        value = next(option for option in OPTIONS if option.flag == flag).read(args)
        if value:
            return str(value)
    return None


def converse(args: argparse.Namespace, settings_of: Callable[[], Settings]) -> int:
    """The command: play every convo, report, the exit status. ``settings_of`` reads the serve
    options (only for the mock this command starts: with ``--url`` only the tokens matter)."""
    paths, command = _split(list(args.argv))
    convos = collect(paths)
    served = None
    if args.url:
        base_url = args.url.rstrip("/")
        control = ControlAPI(base_url, _token(args))
    else:
        from mock_server.runner import run_settings, start_logged

        settings = run_settings(args, settings_of())
        served = start_logged(PROG, settings)
        if served is None:
            return UNPLAYABLE
        base_url = served.base_url
        control = ControlAPI(served.local_url, settings.admin_token or settings.create_token)
    outcomes: list[Outcome] = []
    try:
        for convo in convos:
            try:
                outcome = play(control, base_url, convo, args, command)
            except BotNotStarted as not_started:
                return cannot_start(PROG, command, not_started.error)
            except (OSError, RuntimeError) as exc:
                sys.stderr.write(f"{PROG}: {convo.path}: {exc}\n")
                return UNPLAYABLE
            outcomes.append(outcome)
            for run in outcome.verdict["runs"]:
                sys.stdout.write(summary_line(run) + "\n")
                if not run["passed"]:
                    sys.stdout.write("".join(f"    {line}\n" for line in run["transcript"]))
            sys.stdout.flush()
    finally:
        if served is not None:
            served.stop()
    written = write_reports(outcomes, args)
    runs = [run for o in outcomes for run in o.verdict["runs"]]
    failed = sum(1 for run in runs if not run["passed"])
    line = f"{PROG}: {len(runs) - failed} of {len(runs)} runs passed ({len(outcomes)} convo files)"
    if written:
        line += "; reports: " + ", ".join(written)
    sys.stderr.write(line + "\n")
    return FAILED if failed else PASSED
