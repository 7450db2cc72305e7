"""The options of ``serve`` (and of every command that serves the mock): one table, ``OPTIONS``, that
builds the parser, the help and the merged ``Settings``.

Every option has an environment variable (``FLOWDOCK_MOCK_*``; ``HOST`` and ``PORT`` too, as the
Makefile and container platforms use them). A flag beats its variable, which beats the default.
Importing this module is cheap: it imports nothing of the web stack.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mock_server.serving import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    HttpLimits,
)
from mock_server.world import DEFAULT_SEED, Sizes

ENV_PREFIX = "FLOWDOCK_MOCK_"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
MIN_SIZES = Sizes(organizations=2, users=8, flows=6, messages_per_flow=2)
"""The generator's anchors (alice, bob, acme, globex and their six flows) need at least this much."""
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
    max_streams: int = 0
    """Stream connections held at once; 0: below the file-descriptor limit (launch.py ``stream_limit``)."""
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
    stream_lifetime: float | None = None
    """Seconds after which the server ends each stream (clients reconnect); None: never."""
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
            found_list = env_value(self.env)
            return tuple(given) if given else tuple(split_env(found_list[1])) if found_list else ()
        if given is not None:
            return bool(given) if self.kind == "switch" else self.parse(f"--{self.flag}", given)
        found = env_value(self.env)
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
        "stream-lifetime",
        ("FLOWDOCK_MOCK_STREAM_LIFETIME",),
        "seconds after which the server ends each stream cleanly, as Flowdock's did for maintenance; "
        "clients reconnect (default: never; fractions allowed; for clients that read a response to "
        "its end, such as a stock Schemathesis run)",
        kind="seconds",
        metavar="SECONDS",
        high=86400,
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
        "max-streams",
        ("FLOWDOCK_MOCK_MAX_STREAMS",),
        "stream connections held at once, every world's together; one more is a 503 in Flowdock's "
        "error shape, logged (default 0: the file-descriptor limit, raised to its hard limit at start, "
        "less 256 for everything else, at most 10000)",
        kind="int",
        high=1_000_000,
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


def env_value(names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = os.environ.get(name)
        if value is not None:
            return name, value
    return None


def add_serve_arguments(parser: argparse.ArgumentParser | argparse._ActionsContainer) -> None:
    """Every option of ``OPTIONS`` on ``parser``."""
    for option in OPTIONS:
        option.add_to(parser)


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


def split_env(text: str) -> list[str]:
    """``FLOWDOCK_MOCK_HISTORY``: values separated by newlines or the path separator (``:``)."""
    return [part.strip() for line in text.splitlines() for part in line.split(os.pathsep) if part.strip()]
