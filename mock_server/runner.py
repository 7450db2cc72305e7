"""``flowdock-mock run -- COMMAND``: the mock around a client's test run, and the verdict for CI.

The mock runs in this process (uvicorn in a thread, on a free 127.0.0.1 port unless ``--port``
says otherwise), so it cannot outlive the runner: it stops as soon as COMMAND ends, however it
ends. COMMAND runs as a child with the environment every Flowdock client reads (``CLIENT_ENV``)
pointing at the mock. SIGINT, SIGTERM and SIGHUP sent to the runner are passed on to COMMAND; a
Ctrl-C typed at a terminal already reaches COMMAND (same process group), so it is not sent twice.
When COMMAND has ended the reports are written (whatever its status), the gates are checked, and
the runner exits with COMMAND's status (128+N when a signal N ended it), 1 when it passed but a
gate failed, 127 when COMMAND was not found and 126 when it could not be executed, as a shell does.

``flowdock-mock report JOURNAL`` renders the same reports from a saved journal.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from mock_server.settings import OPTIONS, Option, Settings, UsageError, env_value

if TYPE_CHECKING:
    from mock_server.reporting import Outputs, RunData

STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 5.0
RUN_JOURNAL_SIZE = 10_000
"""The journal ring of ``run`` unless --journal-size says otherwise: a whole test suite's requests."""
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
NOT_FOUND, NOT_EXECUTABLE, GATE_FAILED, MOCK_FAILED = 127, 126, 1, 2

# --- the environment COMMAND gets ------------------------------------------------------------------
CLIENT_ENV: list[tuple[str, str, str]] = [
    (
        "FLOWDOCK_API_URL",
        "the mock's base URL",
        "node-flowdock, hubot-flowdock, aioflowdock, the example integration's OAuth app",
    ),
    (
        "FLOWDOCK_STREAM_URL",
        "the mock's base URL + /stream/flows",
        "node-flowdock, hubot-flowdock, aioflowdock (streaming)",
    ),
    ("FLOWDOCK_URL", "the mock's base URL", "flowdock-example-integration"),
    ("HUBOT_FLOWDOCK_API_TOKEN", "the main user's API token", "hubot-flowdock, aiohubot-flowdock"),
    ("HUBOT_FLOWDOCK_LOGIN_EMAIL", "the main user's email", "hubot-flowdock (email login)"),
    ("HUBOT_FLOWDOCK_LOGIN_PASSWORD", "the main user's password", "hubot-flowdock (email login)"),
    ("FLOWDOCK_MOCK_URL", "the mock's base URL", "your tests: the control API is FLOWDOCK_MOCK_URL/_mock"),
    ("FLOWDOCK_MOCK_API_TOKEN", "the main user's API token", "your tests: HTTP Basic username, any password"),
    (
        "FLOWDOCK_MOCK_ADMIN_TOKEN",
        "the control API's token, when --admin-token is set",
        "your tests: Authorization: Bearer for /_mock",
    ),
]
"""(variable, value, who reads it): the table in docs/ci.md."""


def client_environment(base_url: str, user: dict[str, Any], admin_token: str | None) -> dict[str, str]:
    """The variables of ``CLIENT_ENV`` for a mock at ``base_url`` whose main user is ``user``."""
    env = {
        "FLOWDOCK_API_URL": base_url,
        "FLOWDOCK_STREAM_URL": f"{base_url}/stream/flows",
        "FLOWDOCK_URL": base_url,
        "HUBOT_FLOWDOCK_API_TOKEN": str(user["api_token"]),
        "HUBOT_FLOWDOCK_LOGIN_EMAIL": str(user["email"]),
        "HUBOT_FLOWDOCK_LOGIN_PASSWORD": str(user["password"]),
        "FLOWDOCK_MOCK_URL": base_url,
        "FLOWDOCK_MOCK_API_TOKEN": str(user["api_token"]),
    }
    if admin_token:
        env["FLOWDOCK_MOCK_ADMIN_TOKEN"] = admin_token
    return env


def main_user(app: Any) -> dict[str, Any]:
    """The world's main user (the generator's alice, else the first user a fixtures file has)."""
    from mock_server.world import MAIN_USER

    users = app.store.users.by_id
    user = users.get(MAIN_USER["id"]) or (users[min(users)] if users else None)
    if user is None:
        return {"api_token": "", "email": "", "password": ""}
    return {"api_token": user.api_token, "email": user.email, "password": user.password}


# --- the mock in a thread ----------------------------------------------------------------------------
@dataclass
class Served:
    """A mock serving from a thread of this process."""

    base_url: str
    """What clients are told (``--public-url`` when given)."""
    local_url: str
    """Where this process reaches it (the bound address)."""
    port: int
    app: Any
    stop: Callable[[], None] = field(repr=False)


def serve_in_thread(settings: Settings) -> Served:
    """Start the mock on ``settings``' address in a daemon thread; returns once it accepts connections."""
    from mock_server.launch import base_url_for, bind_socket, build_app, make_server

    sock = bind_socket(settings.host, settings.port)
    try:
        base_url = base_url_for(settings, sock)
        local_url = base_url_for(dataclasses.replace(settings, public_url=None), sock)
        app = build_app(settings, base_url)
    except BaseException:
        sock.close()
        raise
    ready = threading.Event()
    server = make_server(app, settings.log_level, ready.set, settings.limits)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="flowdock-mock", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not ready.wait(0.05):
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("flowdock-mock did not start (see the log above)")

    def stop() -> None:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        sock.close()

    return Served(base_url, local_url, int(sock.getsockname()[1]), app, stop)


def wait_healthy(base_url: str, timeout: float = 5.0) -> None:
    """GET /_mock/health answers ``ok`` (the server is up and its app built), or RuntimeError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base_url + "/_mock/health", timeout=1) as response:
                if response.status == 200 and json.load(response).get("status") == "ok":
                    return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"flowdock-mock at {base_url} did not answer /_mock/health")


# --- running COMMAND -------------------------------------------------------------------------------
def _terminal_foreground() -> bool:
    """This process group owns a terminal: a Ctrl-C typed there reached COMMAND too."""
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return True
    return False


def cannot_start(prog: str, command: list[str], exc: OSError) -> int:
    """Say why COMMAND could not be started; the status a shell gives for it (127 or 126)."""
    if isinstance(exc, FileNotFoundError):
        sys.stderr.write(f"{prog}: {command[0]}: command not found\n")
        return NOT_FOUND
    sys.stderr.write(f"{prog}: {command[0]}: cannot execute: {exc.strerror or exc}\n")
    return NOT_EXECUTABLE


def run_command(command: list[str], env: dict[str, str]) -> int:
    """Run COMMAND to its end, passing signals on; its exit status as a shell reports it."""
    child: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and _terminal_foreground():
            return  # the terminal sent it to the whole foreground group, COMMAND included
        if not child:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            child[0].send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        try:
            child.append(subprocess.Popen(command, env=env))
        except OSError as exc:
            return cannot_start("flowdock-mock run", command, exc)
        for signum in pending:
            with contextlib.suppress(ProcessLookupError):
                child[0].send_signal(signum)
        status = child[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - status if status < 0 else status


# --- report options (run and report) -------------------------------------------------------------
class ReportOption(Option):
    """A report option of ``run`` and ``report``: read like a ``serve`` option, off by default and
    when empty (a CI template passes an unset input as an empty variable)."""

    __slots__ = ()

    def default(self) -> Any:
        return False if self.kind == "switch" else None

    def parse(self, source: str, raw: Any) -> Any:
        return self.default() if str(raw).strip() == "" else super().parse(source, raw)


REPORT_OPTIONS: list[ReportOption] = [
    ReportOption(
        "report-dir",
        ("FLOWDOCK_MOCK_REPORT_DIR",),
        "write every report into DIR: junit.xml, coverage.json, coverage.html, requests.har, journal.json",
        metavar="DIR",
    ),
    ReportOption(
        "junit", ("FLOWDOCK_MOCK_JUNIT",), "JUnit XML: one test case per contract operation", metavar="FILE"
    ),
    ReportOption(
        "coverage-json",
        ("FLOWDOCK_MOCK_COVERAGE_JSON",),
        "the coverage document (as GET /_mock/coverage)",
        metavar="FILE",
    ),
    ReportOption(
        "coverage-html",
        ("FLOWDOCK_MOCK_COVERAGE_HTML",),
        "the coverage page (as GET /_mock/report)",
        metavar="FILE",
    ),
    ReportOption(
        "har", ("FLOWDOCK_MOCK_HAR",), "the request journal as HAR 1.2, credentials redacted", metavar="FILE"
    ),
    ReportOption(
        "journal",
        ("FLOWDOCK_MOCK_JOURNAL",),
        "the request journal (as GET /_mock/requests), for `report`",
        metavar="FILE",
    ),
    ReportOption(
        "fail-on-violation",
        ("FLOWDOCK_MOCK_FAIL_ON_VIOLATION",),
        "exit non-zero when a request violated the contract (legacy forms count only in strict mode)",
        kind="switch",
    ),
    ReportOption(
        "min-coverage",
        ("FLOWDOCK_MOCK_MIN_COVERAGE",),
        "exit non-zero when under N percent of the operations were exercised",
        kind="int",
        high=100,
    ),
]


@dataclass
class ReportOptions:
    """Which reports to write and which gates to check."""

    outputs: Outputs
    fail_on_violation: bool = False
    min_coverage: int | None = None


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reports and gates (flag, else environment variable)")
    for option in REPORT_OPTIONS:
        option.add_to(group)


def report_options(args: argparse.Namespace) -> ReportOptions:
    """Flags, then environment variables; a bad value is a UsageError."""
    from mock_server.reporting import DIRECTORY_NAMES, Outputs

    values = {option.dest: option.read(args) for option in REPORT_OPTIONS}
    paths = {name: Path(values[name]) if values[name] else None for name in DIRECTORY_NAMES}
    explicit = Outputs(**paths)
    directory = values["report_dir"]
    outputs = explicit.over(Outputs.in_directory(Path(directory))) if directory else explicit
    return ReportOptions(outputs, values["fail_on_violation"], values["min_coverage"])


def run_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    """``serve``'s settings, with run's defaults: a free 127.0.0.1 port and a journal for a whole suite.

    Only ``--host``/``--port`` and the mock's own variables move the address: a ``HOST`` or ``PORT``
    that a CI job sets for something else must not.
    """
    if args.host is None and env_value(("FLOWDOCK_MOCK_HOST",)) is None:
        settings.host = "127.0.0.1"
    if args.port is None and env_value(("FLOWDOCK_MOCK_PORT",)) is None:
        settings.port = 0
    if args.journal_size is None and env_value(("FLOWDOCK_MOCK_JOURNAL_SIZE",)) is None:
        settings.journal_size = RUN_JOURNAL_SIZE
    if args.log_level is None and env_value(("FLOWDOCK_MOCK_LOG_LEVEL",)) is None:
        settings.log_level = "warning"  # COMMAND's output stays readable; the journal has every request
    return settings


# --- rendering, gates, summary --------------------------------------------------------------------
def finish(prog: str, data: RunData, options: ReportOptions, status: int) -> int:
    """Write the reports, check the gates, say what happened; the exit status."""
    from mock_server.contract import OperationIndex, load_spec
    from mock_server.reporting import Locator, gate_failures, write_reports

    locator = Locator(OperationIndex(load_spec()))
    try:
        written = write_reports(data, options.outputs, locator)
    except OSError as exc:
        sys.stderr.write(f"{prog}: cannot write a report: {exc}\n")
        return status or 2
    coverage = data.coverage
    line = (
        f"{prog}: {coverage['operations_exercised']} of {coverage['operations_total']} operations "
        f"exercised ({coverage['percent']}%) by {coverage['requests']} requests"
    )
    if written:
        line += "; reports: " + ", ".join(str(p) for p in written)
    sys.stderr.write(line + "\n")
    failures = gate_failures(
        data, locator, fail_on_violation=options.fail_on_violation, min_coverage=options.min_coverage
    )
    for failure in failures:
        sys.stderr.write(f"{prog}: gate failed: {failure}\n")
    if failures and status == 0:
        return GATE_FAILED
    return status


def start_logged(prog: str, settings: Settings) -> Served | None:
    """Logging configured and the mock started in a thread; None (said on stderr) when it cannot start."""
    from mock_server.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    try:
        return serve_in_thread(settings)
    except RuntimeError as exc:
        sys.stderr.write(f"{prog}: {exc}\n")
        return None


def run(settings: Settings, options: ReportOptions, command: list[str]) -> int:
    """Serve the mock, run COMMAND against it, stop the mock, report; the exit status."""
    from mock_server.reporting import RunData

    if not command:
        raise UsageError("run needs a command: flowdock-mock run [options] -- COMMAND [ARGS...]")
    served = start_logged("flowdock-mock run", settings)
    if served is None:
        return MOCK_FAILED
    journal = served.app.worlds.keep_journal()  # every world's requests, from before COMMAND starts
    started, clock = time.time(), time.perf_counter()
    try:
        try:
            wait_healthy(served.local_url)
        except RuntimeError as exc:
            sys.stderr.write(f"flowdock-mock run: {exc}; COMMAND was not run\n")
            return MOCK_FAILED
        env = {
            **os.environ,
            **client_environment(served.base_url, main_user(served.app), settings.admin_token),
        }
        status = run_command(command, env)
    finally:
        served.stop()
    data = RunData(
        coverage=journal.coverage(),
        entries=journal.list(),
        journal_size=journal.size,
        strict=settings.strict,
        base_url=served.base_url,
        started=started,
        seconds=time.perf_counter() - clock,
    )
    return finish("flowdock-mock run", data, options, status)


def read_journal(source: str) -> dict[str, Any]:
    """A saved journal: ``GET /_mock/requests`` output (or just its list of entries); UsageError if not."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"journal {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"journal {source}: not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"journal {source}: not JSON: {exc}") from None
    if isinstance(doc, list):
        doc = {"size": len(doc), "requests": doc}
    entries = doc.get("requests") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise UsageError(
            f"journal {source}: expected GET /_mock/requests output, an object with a requests list"
        )
    for i, entry in enumerate(entries):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("method"), str)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("status"), int)
            and isinstance(entry.get("time"), str)
        ):
            raise UsageError(
                f"journal {source}: requests[{i}] is not a journal entry (method, path, status, time)"
            )
    return {"size": doc.get("size"), "requests": entries}


def report(args: argparse.Namespace) -> int:
    """``flowdock-mock report JOURNAL``: the reports and gates of ``run``, from a saved journal."""
    from mock_server.contract import OperationIndex, load_spec
    from mock_server.reporting import RunData
    from mock_server.runtime.core import operation_table
    from mock_server.runtime.journal import coverage_of

    options = report_options(args)
    strict = bool(next(option for option in OPTIONS if option.flag == "strict").read(args))
    doc = read_journal(args.journal_file)
    entries: list[dict[str, Any]] = doc["requests"]
    data = RunData(
        coverage=coverage_of(entries, operation_table(OperationIndex(load_spec()))),
        entries=entries,
        journal_size=int(doc.get("size") or len(entries)),
        strict=strict,
        base_url=None,
    )
    return finish("flowdock-mock report", data, options, 0)
