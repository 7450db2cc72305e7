"""Command line: ``flowdock-mock serve`` (also ``python -m mock_server``), ``health``, ``run``, ``report``
and ``cluster`` (mock_server/cluster/: worlds sharded over several processes behind HAProxy).

``run`` and ``report`` (mock_server/runner.py) serve the mock around a client's test command and
render the CI reports; they take ``serve``'s options plus their own report options.

Every option has an environment variable (``FLOWDOCK_MOCK_*``; ``HOST`` and ``PORT`` too, as the
Makefile and container platforms use them). A flag beats its variable, which beats the default.
The server binds its socket before building the app, so ``--port 0`` works and the banner, the
`url` fields and the pytest plugin all know the real port; the banner is printed once the server
accepts connections. SIGTERM and SIGINT stop it within a second and exit 0.

Importing this module is cheap (the pytest plugin imports it lazily): Connexion, uvicorn and
Faker are imported only when a server is built.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mock_server.logs import JsonFormatter, configure_logging  # noqa: F401 (JsonFormatter: cli's API)
from mock_server.serving import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    HttpLimits,
)
from mock_server.world import DEFAULT_SEED, MAIN_USER, Sizes

ENV_PREFIX = "FLOWDOCK_MOCK_"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
MIN_SIZES = Sizes(organizations=2, users=8, flows=6, messages_per_flow=2)
"""The generator's anchors (alice, bob, acme, globex and their six flows) need at least this much."""
IMPORT_WARNINGS = (
    "Using `httpx` with `starlette.testclient` is deprecated",
    "jsonschema.RefResolver is deprecated",
    "jsonschema.exceptions.RefResolutionError is deprecated",
)
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


class UsageError(Exception):
    """A bad option, environment variable or fixtures file: printed as one clear line, exit 2."""


@dataclass
class Settings:
    """Everything ``serve`` needs, after flags and environment are merged (defaults here)."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    seed: int = DEFAULT_SEED
    fixtures: str | None = None
    sizes: Sizes = field(default_factory=Sizes)
    strict: bool = False
    latency_ms: int = 0
    journal_size: int = 1000
    log_format: str = "text"
    log_level: str = "info"
    admin_token: str | None = None
    create_token: str | None = None
    """With an admin token: what ``POST /_mock/worlds`` needs (None: nothing; middleware/admin_gate.py)."""
    max_worlds: int = 1000
    world_memory_mb: int = 512
    """Memory one world may take when built (runtime/worlds.py ``Limits.world_memory_mb``)."""
    world_idle_timeout: int = 3600
    clock_start: int | None = None
    """Epoch milliseconds the worlds' clock starts at (store/clock.py); None: real time."""
    webhook_any_host: bool = False
    """Webhooks may be registered on any host, not only loopback ones (runtime/webhooks.py)."""
    webhook_timeout: float = 5.0
    """Seconds one webhook delivery attempt may take in all (runtime/webhooks.py)."""
    max_webhooks: int = 20
    """Webhooks one world may hold (429 beyond)."""
    shard: str | None = None
    """This server's name as one shard of several: created worlds' ids and credentials start with it."""
    event_log_size: int = 10_000
    stream_keepalive: float = 30.0
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    header_timeout: int = int(DEFAULT_HEADER_TIMEOUT)
    keep_alive_timeout: int = int(DEFAULT_KEEP_ALIVE_TIMEOUT)
    history: tuple[str, ...] = ()
    """Flowdock flow exports to load, each ``ORG/FLOW=PATH``, ``FLOW=PATH`` or ``PATH`` (docs/history.md)."""
    history_users: str | None = None
    """The users of the exports, as ``GET /organizations/:org/users`` answered (a JSON file)."""
    history_loaded: list[Any] = field(default_factory=list)
    """What each export became, once ``load_world`` loaded them (for the banner)."""

    @property
    def limits(self) -> HttpLimits:
        """What a client may do before its request is in flight (serving.py)."""
        return HttpLimits(
            self.max_header_bytes, self.max_headers, self.header_timeout, self.keep_alive_timeout
        )


# --- the options: one table, for the parser, the help and the merging --------------------------------
@dataclass(frozen=True, slots=True)
class Option:
    """One option of ``serve`` (and ``run``): its flag, variables, help, and how its value is read.

    ``kind`` is ``list`` (a repeatable flag; the variable holds values separated by newlines or
    ``:``), ``int`` (between ``low`` and ``high``), ``seconds`` (a number above 0, at most
    ``high``), ``choice`` (one of ``choices``), ``shard`` (a shard name, store/keys.py), ``text``
    (an empty value means the default), ``url`` (text without a trailing slash) or ``switch``
    (``--x``/``--no-x``; the variable takes 1/true/yes/on or 0/false/no/off), ``instant`` (an
    ISO 8601 time with its offset, or epoch milliseconds; read as epoch milliseconds). The default is the
    field's default in ``Settings`` (or ``Sizes``, for a dataset size).
    """

    flag: str
    env: tuple[str, ...]
    help: str
    kind: str = "text"
    metavar: str = "N"
    low: int = 0
    high: int | None = None
    choices: tuple[str, ...] = ()
    size: bool = False  # a field of Settings.sizes

    @property
    def dest(self) -> str:
        return self.flag.replace("-", "_")

    def default(self) -> Any:
        return getattr(Sizes() if self.size else Settings(), self.dest)

    def add_to(self, parser: argparse._ActionsContainer) -> None:  # a parser or an argument group
        text = f"{self.help} [env {' or '.join(self.env)}]"
        if self.kind == "switch":
            parser.add_argument(
                f"--{self.flag}", action=argparse.BooleanOptionalAction, default=None, help=text
            )
        elif self.kind == "list":
            parser.add_argument(
                f"--{self.flag}", metavar=self.metavar, action="append", default=None, help=text
            )
        else:
            parser.add_argument(f"--{self.flag}", metavar=self.metavar, default=None, help=text)

    def read(self, args: argparse.Namespace) -> Any:
        """The flag, else the first variable set, else the default; a bad value is a UsageError."""
        given = getattr(args, self.dest, None)
        if self.kind == "list":
            from mock_server.history_cli import split_env

            found_list = _env(self.env)
            return tuple(given) if given else tuple(split_env(found_list[1])) if found_list else ()
        if given is not None:
            return bool(given) if self.kind == "switch" else self.parse(f"--{self.flag}", given)
        found = _env(self.env)
        return self.default() if found is None else self.parse(*found)

    def parse(self, source: str, raw: Any) -> Any:
        text = str(raw).strip()
        if self.kind == "int":
            try:
                # ASCII only: "²" is a digit, and int() also reads other scripts' digits.
                value: int | None = int(text) if text.isascii() else None
            except ValueError:
                value = None
            if value is None or value < self.low or (self.high is not None and value > self.high):
                bound = (
                    f"an integer from {self.low} to {self.high}"
                    if self.high is not None
                    else f"an integer >= {self.low}"
                )
                raise UsageError(f"{source}={raw!r}: expected {bound}")
            return value
        if self.kind == "seconds":  # more than 0, at most ``high``; fractions allowed
            try:
                seconds: float | None = float(text)
            except ValueError:
                seconds = None
            if seconds is None or not 0 < seconds <= (self.high or float("inf")):
                raise UsageError(f"{source}={raw!r}: expected seconds, more than 0 and at most {self.high}")
            return seconds
        if self.kind == "choice":
            if text.lower() not in self.choices:
                raise UsageError(f"{source}={raw!r}: expected one of {', '.join(self.choices)}")
            return text.lower()
        if self.kind == "switch":
            if text.lower() not in TRUE + FALSE:
                raise UsageError(f"{source}={raw!r}: expected 1/true/yes/on or 0/false/no/off")
            return text.lower() in TRUE
        if self.kind == "instant":
            return parse_instant(source, text) if text else self.default()
        if self.kind == "shard":
            from mock_server.store.keys import shard_problem

            problem = shard_problem(text) if text else None
            if problem is not None:
                raise UsageError(f"{source}={raw!r}: {problem}")
            return text or self.default()
        if self.kind == "url":
            return str(raw).rstrip("/") or self.default()
        return str(raw) if raw != "" else self.default()


OPTIONS: list[Option] = [
    Option(
        "host",
        ("FLOWDOCK_MOCK_HOST", "HOST"),
        "address to bind (default 127.0.0.1; 0.0.0.0 in the container)",
        metavar="HOST",
    ),
    Option(
        "port",
        ("FLOWDOCK_MOCK_PORT", "PORT"),
        "port to listen on; 0 picks a free one (default 8080)",
        kind="int",
        metavar="PORT",
        high=65535,
    ),
    Option(
        "public-url",
        ("FLOWDOCK_MOCK_PUBLIC_URL",),
        "base URL clients use to reach the server, for `url` fields and file redirects "
        "(default http://HOST:PORT, with 127.0.0.1 for a wildcard HOST)",
        kind="url",
        metavar="URL",
    ),
    Option(
        "seed",
        ("FLOWDOCK_MOCK_SEED",),
        f"seed of the Faker world (default {DEFAULT_SEED}: the committed fixtures/default-world.json)",
        kind="int",
        high=2**63 - 1,
    ),
    Option(
        "fixtures",
        ("FLOWDOCK_MOCK_FIXTURES",),
        "load this world document (JSON or YAML, schema fixtures/world.schema.json) instead of generating one",
        metavar="FILE",
    ),
    Option(
        "organizations",
        ("FLOWDOCK_MOCK_ORGANIZATIONS",),
        f"organizations in a generated world (default {Sizes.organizations}, minimum {MIN_SIZES.organizations})",
        kind="int",
        low=MIN_SIZES.organizations,
        high=1000,
        size=True,
    ),
    Option(
        "users",
        ("FLOWDOCK_MOCK_USERS",),
        f"users in a generated world (default {Sizes.users}, minimum {MIN_SIZES.users})",
        kind="int",
        low=MIN_SIZES.users,
        high=100_000,
        size=True,
    ),
    Option(
        "flows",
        ("FLOWDOCK_MOCK_FLOWS",),
        f"flows in a generated world (default {Sizes.flows}, minimum {MIN_SIZES.flows})",
        kind="int",
        low=MIN_SIZES.flows,
        high=10_000,
        size=True,
    ),
    Option(
        "messages-per-flow",
        ("FLOWDOCK_MOCK_MESSAGES_PER_FLOW",),
        f"messages per flow in a generated world (default {Sizes.messages_per_flow}, "
        f"minimum {MIN_SIZES.messages_per_flow})",
        kind="int",
        low=MIN_SIZES.messages_per_flow,
        high=100_000,
        size=True,
    ),
    Option(
        "strict",
        ("FLOWDOCK_MOCK_STRICT",),
        "refuse what the contract does not declare (undeclared parameters, legacy request forms) "
        "with 400 instead of accepting and journaling it (env: 1/true/yes/on or 0/false/no/off)",
        kind="switch",
    ),
    Option(
        "latency-ms",
        ("FLOWDOCK_MOCK_LATENCY_MS",),
        "milliseconds added to every Flowdock request (default 0)",
        kind="int",
        high=60_000,
    ),
    Option(
        "journal-size",
        ("FLOWDOCK_MOCK_JOURNAL_SIZE",),
        "requests kept by the journal at /_mock/requests, a ring (default 1000; 0 keeps none)",
        kind="int",
        high=1_000_000,
    ),
    Option(
        "log-format",
        ("FLOWDOCK_MOCK_LOG_FORMAT",),
        "text or json: one line per request on stderr (default text)",
        kind="choice",
        metavar="{text,json}",
        choices=LOG_FORMATS,
    ),
    Option(
        "log-level",
        ("FLOWDOCK_MOCK_LOG_LEVEL",),
        "debug, info, warning or error (default info)",
        kind="choice",
        metavar="LEVEL",
        choices=LOG_LEVELS,
    ),
    Option(
        "event-log-size",
        ("FLOWDOCK_MOCK_EVENT_LOG_SIZE",),
        "recent events kept for stream replay (Last-Event-ID), a ring emptied by a reset (default 10000)",
        kind="int",
        high=10_000_000,
    ),
    Option(
        "stream-keepalive",
        ("FLOWDOCK_MOCK_STREAM_KEEPALIVE",),
        "seconds between keep-alives on a quiet stream (default 30; fractions allowed)",
        kind="seconds",
        metavar="SECONDS",
        high=3600,
    ),
    Option(
        "admin-token",
        ("FLOWDOCK_MOCK_ADMIN_TOKEN",),
        "when set (a shared service), /_mock/* (except /_mock/health) needs Authorization: Bearer TOKEN, "
        "or a world's own control token for that world's routes (default: unset)",
        metavar="TOKEN",
    ),
    Option(
        "create-token",
        ("FLOWDOCK_MOCK_CREATE_TOKEN",),
        "with --admin-token: creating a world (POST /_mock/worlds) needs this token or the admin one "
        "(default: unset, any job may create a world)",
        metavar="TOKEN",
    ),
    Option(
        "max-header-bytes",
        ("FLOWDOCK_MOCK_MAX_HEADER_BYTES",),
        f"largest request head (request line and headers) accepted; 431 above it (default {DEFAULT_MAX_HEADER_BYTES})",
        kind="int",
        low=1024,
        high=16 * 1024 * 1024,
    ),
    Option(
        "max-headers",
        ("FLOWDOCK_MOCK_MAX_HEADERS",),
        f"most header fields in one request; 431 above it (default {DEFAULT_MAX_HEADERS})",
        kind="int",
        low=8,
        high=10_000,
    ),
    Option(
        "header-timeout",
        ("FLOWDOCK_MOCK_HEADER_TIMEOUT",),
        "seconds a request head may take to arrive once it starts; 408 after it "
        f"(default {DEFAULT_HEADER_TIMEOUT:g})",
        kind="int",
        metavar="SECONDS",
        low=1,
        high=3600,
    ),
    Option(
        "keep-alive-timeout",
        ("FLOWDOCK_MOCK_KEEP_ALIVE_TIMEOUT",),
        "seconds a connection may stay open with no request in flight (new or after a response); "
        f"responses in progress, such as streams, are never cut (default {DEFAULT_KEEP_ALIVE_TIMEOUT:g})",
        kind="int",
        metavar="SECONDS",
        low=1,
        high=3600,
    ),
    Option(
        "max-worlds",
        ("FLOWDOCK_MOCK_MAX_WORLDS",),
        "worlds POST /_mock/worlds may hold besides the default one; one more is a 429 (default 1000)",
        kind="int",
        high=100_000,
    ),
    Option(
        "world-memory-mb",
        ("FLOWDOCK_MOCK_WORLD_MEMORY_MB",),
        "memory one world may take when it is built, estimated from its document (about 6 bytes per "
        "byte of JSON): a larger POST /_mock/worlds is a 400, a larger PUT of a world's state a 413 "
        "(default 512: documents up to about 85 MiB)",
        kind="int",
        metavar="MB",
        low=1,
        high=1_000_000,
    ),
    Option(
        "world-idle-timeout",
        ("FLOWDOCK_MOCK_WORLD_IDLE_TIMEOUT",),
        "seconds without a request after which a created world is removed; 0: never (default 3600)",
        kind="int",
        metavar="SECONDS",
        high=30 * 86400,
    ),
    Option(
        "clock-start",
        ("FLOWDOCK_MOCK_CLOCK_START",),
        "start the mock's clock at this instant (ISO 8601 with an offset, e.g. 2024-01-01T00:00:00Z, "
        "or epoch milliseconds); it runs from there and /_mock/clock moves it (default: real time)",
        kind="instant",
        metavar="TIME",
    ),
    Option(
        "history",
        ("FLOWDOCK_MOCK_HISTORY",),
        "load a Flowdock flow export (zip or folder) as the flow ORG/FLOW; repeatable; without ORG/ the "
        "organization is 'history', without FLOW= the flow is the archive's name <flow>-<YYYY-MM-DD> "
        "(docs/history.md)",
        kind="list",
        metavar="ORG/FLOW=PATH",
    ),
    Option(
        "history-users",
        ("FLOWDOCK_MOCK_HISTORY_USERS",),
        "name the exports' users from this JSON file, as GET /organizations/:org/users answered "
        "(default: 'User <id>')",
        metavar="FILE",
    ),
    Option(
        "webhook-any-host",
        ("FLOWDOCK_MOCK_WEBHOOK_ANY_HOST",),
        "let /_mock/webhooks register URLs on any host; by default only loopback ones "
        "(127.0.0.1, ::1, localhost), so nothing can make the mock call elsewhere",
        kind="switch",
    ),
    Option(
        "webhook-timeout",
        ("FLOWDOCK_MOCK_WEBHOOK_TIMEOUT",),
        "seconds one webhook delivery attempt may take in all: connecting, sending, the response "
        "(default 5; fractions allowed)",
        kind="seconds",
        metavar="SECONDS",
        high=300,
    ),
    Option(
        "max-webhooks",
        ("FLOWDOCK_MOCK_MAX_WEBHOOKS",),
        "webhooks one world may hold; registering one more answers 429 (default 20)",
        kind="int",
        low=1,
        high=10_000,
    ),
    Option(
        "shard",
        ("FLOWDOCK_MOCK_SHARD",),
        "serve as one shard of several behind a router (flowdock-mock cluster): every world created "
        "here gets an id, and credentials, starting with NAME. (lower-case letters, digits, inner "
        "hyphens; default: none)",
        kind="shard",
        metavar="NAME",
    ),
]
"""Every option of ``serve``, in the order of ``--help``."""


def parse_instant(source: str, text: str) -> int:
    """Epoch milliseconds of ``text``: digits as milliseconds, else ISO 8601 with an offset."""
    from mock_server.store.clock import OUT_OF_RANGE, in_range
    from mock_server.store.timefmt import parse_iso_ms

    if text.isascii() and text.isdigit():  # "²" is a digit too
        value = int(text) if len(text) <= 16 else -1
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise UsageError(
                f"{source}={text!r}: expected an ISO 8601 time with an offset or epoch milliseconds"
            )
        value = parse_iso_ms(text)
    try:
        return in_range(value)
    except ValueError:
        raise UsageError(f"{source}={text!r}: {OUT_OF_RANGE}") from None


def _env(names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            return name, value
    return None


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    for option in OPTIONS:
        option.add_to(parser)


def build_parser() -> argparse.ArgumentParser:
    serve = argparse.ArgumentParser(prog="flowdock-mock serve", add_help=False, usage=argparse.SUPPRESS)
    _serve_arguments(serve)
    options_help = serve.format_help().split("\n", 1)[-1]  # drop the "options:" heading
    parser = argparse.ArgumentParser(
        prog="flowdock-mock",
        description="A stateful mock of the Flowdock REST API, faithful to its contract. "
        "With no command, `serve` is assumed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="serve options (flag, else environment variable, else default):\n"
        + options_help
        + "\nexamples:\n"
        "  flowdock-mock serve --port 9000\n"
        "  FLOWDOCK_MOCK_SEED=7 FLOWDOCK_MOCK_USERS=50 flowdock-mock serve\n"
        "  flowdock-mock serve --fixtures my-world.yaml --strict --log-format json\n"
        "  flowdock-mock health --url http://127.0.0.1:9000\n"
        "  flowdock-mock run --strict --report-dir reports --fail-on-violation -- pytest tests/\n"
        "  flowdock-mock report journal.json --junit junit.xml\n"
        "  flowdock-mock serve --history acme/eng=engineering-2023-08-01.zip\n"
        "  flowdock-mock history export acme/main main.zip\n"
        "  flowdock-mock cluster --processes 3 --port 9000\n",
    )
    sub = parser.add_subparsers(dest="command", metavar="{serve,health,run,report,history,cluster,converse}")
    serve_cmd = sub.add_parser(
        "serve",
        help="serve the mock over HTTP (the default command)",
        description="Serve the mock over HTTP. Every option also reads an environment variable.",
    )
    _serve_arguments(serve_cmd)
    health = sub.add_parser(
        "health",
        help="exit 0 when the server answers GET /_mock/health (the container's HEALTHCHECK)",
        description="Exit 0 when the server answers GET /_mock/health, 1 otherwise.",
    )
    health.add_argument(
        "--url",
        default=None,
        help="the server's base URL (default http://127.0.0.1:PORT, PORT from FLOWDOCK_MOCK_PORT or PORT, else 8080)",
    )
    health.add_argument(
        "--timeout", type=float, default=2.0, help="seconds to wait for the answer (default 2)"
    )
    from mock_server.runner import add_report_arguments

    run_cmd = sub.add_parser(
        "run",
        help="serve the mock around COMMAND, then write contract reports (JUnit, coverage, HAR)",
        description="Serve the mock on a free 127.0.0.1 port, run COMMAND with FLOWDOCK_API_URL and the "
        "other client variables pointing at it, stop the mock when COMMAND ends, write the reports, and "
        "exit with COMMAND's status (1 when it passed but a gate failed; 127 when it cannot be found).",
        usage="flowdock-mock run [serve options] [report options] -- COMMAND [ARGS...]",
        epilog="run's own defaults: a free port on 127.0.0.1 (only --host/--port and "
        "FLOWDOCK_MOCK_HOST/FLOWDOCK_MOCK_PORT move it, not HOST/PORT), --log-level warning, "
        "--journal-size 10000. COMMAND gets FLOWDOCK_API_URL, FLOWDOCK_STREAM_URL, "
        "HUBOT_FLOWDOCK_API_TOKEN, FLOWDOCK_MOCK_URL, FLOWDOCK_MOCK_API_TOKEN and more (README).",
    )
    _serve_arguments(run_cmd)
    add_report_arguments(run_cmd)
    run_cmd.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND", help="the command to run")
    report = sub.add_parser(
        "report",
        help="render the reports of `run` from a saved journal (GET /_mock/requests output)",
        description="Render JUnit XML, coverage JSON/HTML and HAR from a saved journal, and check the gates.",
    )
    report.add_argument(
        "journal_file", metavar="JOURNAL", help="the saved journal, JSON; - reads standard input"
    )
    report.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="judge legacy request forms as failures, as a strict-mode run does [env FLOWDOCK_MOCK_STRICT]",
    )
    add_report_arguments(report)
    history = sub.add_parser(
        "history",
        help="Flowdock flow exports: `history export ORG/FLOW OUT.zip` writes a flow of a world as one",
        description="Flowdock flow exports (docs/history.md).",
    )
    history_sub = history.add_subparsers(dest="history_command", metavar="{export}", required=True)
    export = history_sub.add_parser(
        "export",
        help="write a flow of the world the serve options describe as a Flowdock flow export",
        description="Write the flow ORG/FLOW of the world the serve options describe (the default world, "
        "--seed, --fixtures, --history) as a Flowdock flow export: messages.json and the flow's files, zipped.",
    )
    export.add_argument(
        "flow", metavar="ORG/FLOW", help="the flow, by its organization's and its own parameterized name"
    )
    export.add_argument("out", metavar="OUT.zip", help="the archive to write")
    _serve_arguments(export)
    from mock_server.cluster.command import add_arguments as add_cluster_arguments

    cluster = sub.add_parser(
        "cluster",
        help="serve worlds sharded over several mock processes behind HAProxy on one port",
        description="Start N mock processes (shards s0..sN-1) on private 127.0.0.1 ports and HAProxy in "
        "front on --host:--port, routing each request to the shard its credential names "
        "(docs/scaling-worlds.md). The serve options given are passed to every process.",
    )
    _serve_arguments(cluster)
    add_cluster_arguments(cluster)
    from mock_server.converse_cli import add_arguments as add_converse_arguments

    converse = sub.add_parser(
        "converse",
        help="play BotiumScript conversations (*.convo.txt) against a bot COMMAND",
        description="Start the mock (or use --url), and for each convo file: a fresh world, COMMAND started "
        "with run's client variables for the bot user, the conversation played once the bot streams the "
        "flow (docs/conversations.md). Exit 0 only when every run passed.",
        usage="flowdock-mock converse [serve options] [options] CONVO_OR_DIR... -- COMMAND [ARGS...]",
    )
    _serve_arguments(converse)
    add_converse_arguments(converse)
    return parser


# --- merging flags and environment -----------------------------------------------------------------
def settings_from_args(args: argparse.Namespace) -> Settings:
    """Flags, then environment variables, then defaults; every bad value is a UsageError."""
    values = {option.dest: option.read(args) for option in OPTIONS}
    sizes = Sizes(**{option.dest: values.pop(option.dest) for option in OPTIONS if option.size})
    settings = Settings(sizes=sizes, **values)
    generated = settings.seed != DEFAULT_SEED or settings.sizes != Sizes()
    if settings.fixtures and generated:
        raise UsageError(
            "--fixtures loads a world as it is: it cannot be combined with --seed or dataset sizes"
        )
    if settings.history_users and not settings.history:
        raise UsageError("--history-users names the users of --history archives: give one")
    if settings.create_token and not settings.admin_token:
        raise UsageError(
            "--create-token needs --admin-token (without an admin token, creating a world is open)"
        )
    return settings


# --- the world ---------------------------------------------------------------------------------------
def read_document(path: str) -> Any:
    """A JSON or YAML file (by extension; anything else is tried as JSON, then YAML)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"fixtures file {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"fixtures file {path!r}: not UTF-8 text") from None
    except (UnicodeEncodeError, ValueError):  # a name no file system takes: a lone surrogate, NUL
        raise UsageError(f"fixtures file {path!r}: no such file") from None
    suffix = Path(path).suffix.lower()
    if suffix != ".json":
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            if suffix in (".yaml", ".yml"):
                raise UsageError(f"fixtures file {path}: not valid YAML: {exc}") from None
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError as exc:
        raise UsageError(f"fixtures file {path}: not valid JSON: {exc}") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def load_world(settings: Settings) -> dict[str, Any] | None:
    """The world to serve, with the ``--history`` exports; None means the committed default world
    (the generator's default output)."""
    doc = _base_world(settings)
    if settings.history:
        from mock_server.contract import load_default_world
        from mock_server.history_cli import with_archives

        doc, settings.history_loaded = with_archives(
            doc if doc is not None else load_default_world(), list(settings.history), settings.history_users
        )
    return doc


def _base_world(settings: Settings) -> dict[str, Any] | None:
    if settings.fixtures:
        from mock_server.world.documents import world_problems

        doc = read_document(settings.fixtures)
        problems = (
            world_problems(doc) if isinstance(doc, dict) else {"base": ["the document must be an object"]}
        )
        if problems:
            lines = [f"  {where}: {text}" for where, texts in problems.items() for text in texts]
            more = f"\n  ... and {len(lines) - 10} more" if len(lines) > 10 else ""
            raise UsageError(
                f"fixtures file {settings.fixtures} is not a valid world document "
                f"(schema: fixtures/world.schema.json):\n" + "\n".join(lines[:10]) + more
            )
        return dict(doc)
    if settings.seed == DEFAULT_SEED and settings.sizes == Sizes():
        return None
    from mock_server.world import generate

    return generate(settings.seed, settings.sizes)


# --- the server ----------------------------------------------------------------------------------------
def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port (port 0: a free one), bound before the app is built."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError, ValueError) as exc:  # UnicodeError: a host name IDNA cannot encode
        raise UsageError(f"cannot bind {host!r}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from None
    return sock


def base_url_for(settings: Settings, sock: socket.socket) -> str:
    if settings.public_url:
        return settings.public_url
    port = sock.getsockname()[1]
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def build_app(settings: Settings, base_url: str, *, validate_responses: bool = True) -> Any:
    with warnings.catch_warnings():
        # Import-time deprecations inside connexion that no user of the mock can act on (see the
        # filterwarnings notes in pyproject.toml); kept out of the CLI's output and out of test
        # suites that run the pytest plugin with warnings as errors.
        for text in IMPORT_WARNINGS:
            warnings.filterwarnings("ignore", message=text)
        from mock_server.app import create_app
        from mock_server.history import gc_paused
        from mock_server.runtime.worlds import Limits
        from mock_server.store import StoreConfig

    world = load_world(settings)
    with gc_paused():  # a large world (a history export) becomes objects faster without it
        app = create_app(
            world=world,
            config=StoreConfig(
                base_url=base_url, clock_start_ms=settings.clock_start, event_log_size=settings.event_log_size
            ),
            validate_responses=validate_responses,
            strict=settings.strict,
            journal_size=settings.journal_size,
            latency_ms=settings.latency_ms,
            admin_token=settings.admin_token,
            create_token=settings.create_token,
            webhook_any_host=settings.webhook_any_host,
            webhook_timeout=settings.webhook_timeout,
            max_webhooks=settings.max_webhooks,
            limits=Limits(
                max_worlds=settings.max_worlds,
                idle_timeout_s=settings.world_idle_timeout,
                world_memory_mb=settings.world_memory_mb,
            ),
            stream_keepalive=settings.stream_keepalive,
            shard=settings.shard,
        )
    return app


def make_server(app: Any, log_level: str, on_ready: Any, limits: HttpLimits | None = None) -> Any:
    """A uvicorn server that calls ``on_ready()`` once it accepts connections (serving.py: limits)."""
    import uvicorn

    from mock_server.serving import uvicorn_options

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            runtime = getattr(app, "runtime", None)
            if runtime is not None:  # webhooks refuse these addresses (runtime/webhooks.py)
                runtime.webhooks.policy.listen_on(
                    sock.getsockname() for server in self.servers for sock in server.sockets
                )
            if not self.should_exit:
                on_ready()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Open streams never end on their own, and uvicorn waits for open responses: end them
            # first, so SIGTERM still exits at once (mock_server/stream/hub.py).
            close_streams = getattr(app, "close_streams", None)
            if close_streams is not None:
                close_streams()
            await super().shutdown(sockets=sockets)

    config = uvicorn.Config(
        app,
        log_config=None,  # configure_logging() owns the format
        log_level=log_level,
        access_log=False,  # journal.py logs one line per request instead
        timeout_graceful_shutdown=1,  # SIGTERM/SIGINT: open requests get one second, then the server is gone
        lifespan="on",
        **uvicorn_options(limits or HttpLimits()),
    )
    return Server(config)


def banner(base_url: str, settings: Settings | None = None, history: list[str] | None = None) -> str:
    settings = settings or Settings()
    if settings.fixtures:
        world = f"fixtures file {settings.fixtures}"
    elif settings.seed == DEFAULT_SEED and settings.sizes == Sizes():
        world = f"default world (seed {DEFAULT_SEED})"
    else:
        s = settings.sizes
        world = (
            f"generated world: seed {settings.seed}, {s.organizations} organizations, {s.users} users, "
            f"{s.flows} flows, {s.messages_per_flow} messages per flow"
        )
    lines = [
        f"flowdock-mock serving on {base_url}",
        f"  {world}{', strict' if settings.strict else ''}",
        f"  main user: {MAIN_USER['email']} / password {MAIN_USER['password']}",
        f"  API token: {MAIN_USER['api_token']}",
        f"  try: curl -u {MAIN_USER['api_token']}: {base_url}/flows",
        f"  control API: {base_url}/_mock/openapi.json"
        + (" (admin token required)" if settings.admin_token else "")
        + f", coverage report: {base_url}/_mock/report",
        *(history or []),
    ]
    return "\n".join(lines) + "\n"


def serve(settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level)
    sock = bind_socket(settings.host, settings.port)
    try:
        base_url = base_url_for(settings, sock)
        app = build_app(settings, base_url)
        if settings.history:
            import gc

            gc.freeze()  # the loaded history stays: later collections need not walk it again

        history = None
        if settings.history_loaded:
            from mock_server.history_cli import banner_lines

            history = banner_lines(settings.history_loaded, app.store)

        def ready() -> None:
            sys.stdout.write(banner(base_url, settings, history))
            sys.stdout.flush()

        server = make_server(app, settings.log_level, ready, settings.limits)
        # uvicorn stops gracefully on SIGTERM/SIGINT, restores the previous handlers and raises the
        # signal again; these no-op handlers make that a clean exit 0 (no traceback, no kill).
        previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        sock.close()
    return 0


def health(url: str | None, timeout: float) -> int:
    if url is None:
        port = (_env(("FLOWDOCK_MOCK_PORT", "PORT")) or ("", "8080"))[1]
        url = f"http://127.0.0.1:{port}"
    target = url.rstrip("/") + "/_mock/health"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as response:
            ok = response.status == 200 and json.load(response).get("status") == "ok"
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"flowdock-mock health: {target}: {exc}\n")
        return 1
    if not ok:
        sys.stderr.write(f"flowdock-mock health: {target}: not ready\n")
    return 0 if ok else 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line, with ``serve`` assumed when no command is given."""
    if not argv or argv[0] not in (
        "serve",
        "health",
        "run",
        "report",
        "history",
        "cluster",
        "converse",
        "-h",
        "--help",
    ):
        argv = ["serve", *argv]
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        if args.command == "health":
            return health(args.url, args.timeout)
        if args.command == "history":
            from mock_server.history_cli import export

            return export(settings_from_args(args), args.flow, args.out)
        if args.command == "converse":
            from mock_server import converse_cli

            return converse_cli.converse(args, lambda: settings_from_args(args))
        if args.command == "cluster":
            from mock_server.cluster import command as cluster_command

            return cluster_command.run(args, settings_from_args(args), OPTIONS)
        if args.command in ("run", "report"):
            from mock_server import runner

            if args.command == "report":
                return runner.report(args)
            command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            return runner.run(
                runner.run_settings(args, settings_from_args(args)), runner.report_options(args), command
            )
        return serve(settings_from_args(args))
    except UsageError as exc:
        sys.stderr.write(f"flowdock-mock: error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
