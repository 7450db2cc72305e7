"""Every code block of the documentation runs, or says in its markup why it cannot.

One test per page (README.md, CONTRIBUTING.md, docs/*.md) runs its blocks in order against live
mocks on free 127.0.0.1 ports (tests/clients/conftest.py ``serve``), the default world reset at the
start of each page; tests/docs/blocks.py says what is done with each kind of block, and
CONTRIBUTING.md ("Code blocks in the documentation") is the convention for writers. A page's shell
blocks share one set of shell variables (``M=...`` in one block is there in the next), run in a
scratch directory, with ``flowdock-mock`` and ``python`` from this checkout's environment first on
``PATH`` and ``make`` run in the checkout. The documented address ``127.0.0.1:8080`` means the
test's mock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
import yaml

from mock_server.app import create_app
from tests.clients.conftest import LiveServer, serve
from tests.docs.blocks import JAVASCRIPT, ROOT, SHELL, Block, blocks, commands, documents
from tests.docs.stand_ins import running_bot
from tests.waiting import poll

COMMAND_TIMEOUT = 60.0
"""A hang detector for one block (the kit's waits in the docs take at most 10 s)."""
SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 15.0
DOCUMENTED = re.compile(r"\b(?:127\.0\.0\.1|localhost):8080\b")
STATUS = re.compile(r"__DOCS_TEST_HTTP (\d{3})")
BIN = str(Path(sys.executable).parent)
DEFAULT_WORLD = ROOT / "fixtures" / "default-world.json"


def token_of(nick: str) -> str:
    """The API token of the default world's user ``nick`` (the seeded world's tokens never change)."""
    users = json.loads(DEFAULT_WORLD.read_text(encoding="utf-8"))["users"]
    (token,) = [user["api_token"] for user in users if user["nick"] == nick]
    return str(token)


@dataclass
class Mocks:
    """The page's mocks: one in compatible mode for every block, one in strict mode made on demand."""

    stack: ExitStack
    compatible: LiveServer
    _strict: LiveServer | None = None

    @property
    def strict(self) -> LiveServer:
        if self._strict is None:
            self._strict = self.stack.enter_context(serve(create_app(strict=True)))
        return self._strict

    def reset(self) -> None:
        for server in (self.compatible, self._strict):
            if server is not None:
                server.app.runtime.reset_state()


@pytest.fixture(scope="module")
def mocks() -> Iterator[Mocks]:
    with ExitStack() as stack:
        yield Mocks(stack, stack.enter_context(serve(create_app())))


def localize(text: str, base_url: str) -> str:
    """The documented address ``127.0.0.1:8080`` replaced with the test's mock."""
    return DOCUMENTED.sub(base_url.removeprefix("http://"), text)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Page:
    """One page's run: its scratch directory, its shell variables, what failed."""

    path: Path
    mocks: Mocks
    scratch: Path
    pytest_outcomes: dict[str, str | None] = field(default_factory=dict)
    """Pytest examples already run (``run_pytest_examples``): where → None, or what failed."""
    failures: list[str] = field(default_factory=list)

    @property
    def state(self) -> Path:
        return self.scratch / ".docs-test-state.sh"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra)
        env["CURL_HOME"] = str(self.scratch)  # .curlrc: every curl reports its status (below)
        env["DOCS_TEST_REPO"] = str(ROOT)
        env.pop("PYTEST_ADDOPTS", None)
        env.pop("PYTEST_XDIST_WORKER", None)
        return env

    def fail(self, block: Block, what: str) -> None:
        self.failures.append(f"{block.where} [{block.lang}]: {what}")

    def run(self) -> list[str]:
        self.scratch.mkdir(parents=True, exist_ok=True)
        (self.scratch / ".curlrc").write_text('write-out = "%{stderr}\\n__DOCS_TEST_HTTP %{http_code}\\n"\n')
        self.mocks.reset()
        for block in blocks(self.path):
            run = getattr(self, f"_{block.kind}")
            if "bot" in block.directives and block.kind in ("shell", "python"):
                with running_bot(self.mocks.compatible.base_url, token_of(block.directives["bot"])):
                    run(block)
            else:
                run(block)
        return self.failures

    # --- what is not run ------------------------------------------------------------------------
    def _skip(self, block: Block) -> None:
        pass

    def _picture(self, block: Block) -> None:
        pass

    def _unmarked(self, block: Block) -> None:
        pass  # test_every_block_runs_or_says_why_not names it

    def _compile(self, block: Block) -> None:
        if block.lang in JAVASCRIPT:  # parsed as an ES module: top-level await and require() both parse
            script = self.scratch / f"example_{block.line}.mjs"
            script.write_text(block.text, encoding="utf-8")
            done = subprocess.run(
                ["node", "--check", script.name],
                cwd=self.scratch,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                self.fail(block, f"does not parse:\n{done.stderr[-3000:]}")
            return
        try:
            compile(block.text, block.where, "exec")
        except SyntaxError as error:
            self.fail(block, f"does not compile: {error}")

    def _data(self, block: Block) -> None:
        try:
            if block.lang == "json":
                json.loads(block.text)
            elif block.lang == "yaml":
                yaml.safe_load(block.text)
            else:
                tomllib.loads(block.text)
        except (ValueError, yaml.YAMLError) as error:
            self.fail(block, f"does not parse: {error}")

    # --- shell ----------------------------------------------------------------------------------
    def _shell(self, block: Block) -> None:
        server = self.mocks.strict if "strict" in block.directives else self.mocks.compatible
        steps = commands(block)
        out = self.scratch / ".docs-test-out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        script = [
            "set -o pipefail",
            "__before=$(compgen -v)",
            f'[ -f "{self.state}" ] && source "{self.state}"',
            'make() { command make -C "$DOCS_TEST_REPO" --no-print-directory --old-file=.venv/.installed "$@"; }',
        ]
        for n, (_, command) in enumerate(steps):
            script += [
                "{",
                localize(command, server.base_url),
                f'}} >"{out}/{n}.out" 2>&1 </dev/null',
                f'__rc=$?; echo $__rc >"{out}/{n}.rc"; [ $__rc -eq 0 ] || exit 0',
            ]
        script.append(
            'comm -13 <(echo "$__before" | sort) <(compgen -v | sort) | grep -v "^__" '
            f'| while read -r __v; do declare -p "$__v"; done >"{self.state}.new"; '
            f'mv "{self.state}.new" "{self.state}"'
        )
        shell = subprocess.Popen(
            ["bash", "-c", "\n".join(script)],
            cwd=self.scratch,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            shell.wait(COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(block, f"did not finish within {COMMAND_TIMEOUT:g} s")
            return
        finally:
            _end_group(shell)  # nothing a command left in the background outlives its block
        seen: set[int] = set()
        for n, (line, command) in enumerate(steps):
            rc_file = out / f"{n}.rc"
            if not rc_file.exists():
                return  # an earlier command failed and is reported
            output = (out / f"{n}.out").read_text(errors="replace")
            codes = {int(code) for code in STATUS.findall(output)}
            shown = STATUS.sub("", output).strip()
            errors = {code for code in codes if code >= 400}
            seen |= errors
            if int(rc_file.read_text()) != 0:
                self.fail(block, f"line {line}: `{command}` exited {rc_file.read_text().strip()}:\n{shown}")
                return
            if unexpected := errors - block.statuses:
                self.fail(block, f"line {line}: `{command}` answered HTTP {sorted(unexpected)}:\n{shown}")
                return
        if missing := block.statuses - seen:
            self.fail(
                block, f"expected HTTP {sorted(missing)} from its requests, got {sorted(seen) or 'none'}"
            )

    # --- servers --------------------------------------------------------------------------------
    def _server(self, block: Block) -> None:
        for line, command in commands(block):
            port = free_port()
            command = re.sub(
                r"--port[ =]\d+", f"--port {port}", localize(command, f"http://127.0.0.1:{port}")
            )
            log = self.scratch / ".docs-test-server.log"
            source = f'[ -f "{self.state}" ] && source "{self.state}"\n'
            make = 'make() { command make -C "$DOCS_TEST_REPO" --no-print-directory --old-file=.venv/.installed "$@"; }\n'
            with log.open("wb") as sink:
                process = subprocess.Popen(
                    ["bash", "-c", source + make + command],
                    cwd=self.scratch,
                    env=self.env(HOST="127.0.0.1", PORT=str(port)),
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            left: list[str] = []
            try:
                problem = _wait_healthy(process, f"http://127.0.0.1:{port}/_mock/health")
            finally:
                stopped = _stop(process, left)
            if problem or not stopped:
                why = (
                    problem
                    or f"did not stop within {SERVER_STOP_TIMEOUT:g} s of SIGTERM (still running: {left})"
                )
                self.fail(
                    block, f"line {line}: `{command}` {why}:\n{log.read_text(errors='replace')[-3000:]}"
                )
                return

    # --- Python ---------------------------------------------------------------------------------
    def _python(self, block: Block) -> None:
        script = self.scratch / f"example_{block.line}.py"
        script.write_text(localize(block.text, self.mocks.compatible.base_url))
        self._python_run(block, [sys.executable, script.name])

    def _pytest(self, block: Block) -> None:
        if block.where in self.pytest_outcomes:  # run with the other pages' pytest examples
            if outcome := self.pytest_outcomes[block.where]:
                self.fail(block, outcome)
            return
        name = write_pytest_example(block, self.scratch)
        self._python_run(block, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name])

    def _python_run(self, block: Block, argv: list[str]) -> None:
        try:
            done = subprocess.run(
                argv,
                cwd=self.scratch,
                env=self.env(),
                timeout=COMMAND_TIMEOUT * 2,
                capture_output=True,
                text=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.fail(block, f"did not finish within {COMMAND_TIMEOUT * 2:g} s")
            return
        if done.returncode != 0:
            self.fail(block, f"exited {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}")


def write_pytest_example(block: Block, folder: Path) -> str:
    """The example as a test module in ``folder`` (with the stand-ins beside it); its file name."""
    shutil.copy(Path(__file__).with_name("stand_ins.py"), folder / "stand_ins.py")
    name = "test_" + re.sub(r"\W", "_", block.where) + ".py"
    prelude = "from stand_ins import *  # noqa: F403\n"
    if "bot" in block.directives:  # the stand-in bot, on the fixture's own server, for the test
        prelude += (
            "import pytest as _pytest\n\n\n@_pytest.fixture(autouse=True)\n"
            "def _docs_test_bot(flowdock_mock):\n"
            f"    with running_bot(flowdock_mock.base_url, {token_of(block.directives['bot'])!r}):\n"
            "        yield\n\n\n"
        )
    (folder / name).write_text(prelude + block.text, encoding="utf-8")
    return name


def run_pytest_examples(folder: Path) -> dict[str, str | None]:
    """Every pytest example of the pages in one pytest run (one plugin server for all of them):
    each block's place → None when its tests passed, else what failed."""
    modules = {}
    for path in documents():
        for block in blocks(path):
            if block.kind == "pytest":
                modules[write_pytest_example(block, folder).removesuffix(".py")] = block.where
    if not modules:
        return {}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=report.xml"]
    try:
        done = subprocess.run(
            [*argv, *(f"{m}.py" for m in modules)],
            cwd=folder,
            env=env,
            timeout=COMMAND_TIMEOUT * 4,
            capture_output=True,
            text=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return dict.fromkeys(
            modules.values(), f"the pytest examples did not finish within {COMMAND_TIMEOUT * 4:g} s"
        )
    ran: set[str] = set()
    failed: dict[str, str] = {}
    for case in ElementTree.parse(folder / "report.xml").iter("testcase"):
        where = modules.get(case.get("classname", "").split(".")[0])
        if where is None:
            continue
        ran.add(where)
        problems = [f"{p.get('message', '')}\n{p.text or ''}" for p in case if p.tag in ("failure", "error")]
        if problems:
            failed.setdefault(where, f"{case.get('name')} failed:\n" + "\n".join(problems)[-3000:])
    nothing = f"no test of it ran:\n{(done.stdout + done.stderr)[-3000:]}"
    outcomes = {where: failed.get(where) if where in ran else nothing for where in modules.values()}
    return outcomes


@pytest.fixture(scope="module")
def pytest_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    return run_pytest_examples(tmp_path_factory.mktemp("pytest-examples"))


HEALTHY = "healthy"
"""What ``_wait_healthy``'s poll sees once the server answers."""


def _wait_healthy(process: subprocess.Popen[bytes], url: str) -> str | None:
    """None once ``url`` answers 200; what went wrong otherwise (the process ended, or time ran out)."""

    def outcome() -> str | None:
        if process.poll() is not None:
            return f"exited {process.returncode} before it was healthy"
        try:
            return HEALTHY if requests.get(url, timeout=2).status_code == 200 else None
        except requests.RequestException:
            return None

    seen = poll(outcome, SERVER_START_TIMEOUT, interval=0.1)  # a server offers nothing but its port
    if seen is None:
        return f"was not healthy within {SERVER_START_TIMEOUT:g} s"
    return None if seen == HEALTHY else seen


def _alive_in_group(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (a zombie waiting for its reaper does not)."""
    return bool(_members(pgid))


def _members(pgid: int) -> list[Path]:
    """The ``/proc`` directories of the processes of group ``pgid`` that still run (zombies left out)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(stat.parent)
    return found


def _running_in_group(pgid: int) -> list[str]:
    """``pid: command line`` of each process of group ``pgid`` that still runs."""
    found = []
    for process in _members(pgid):
        with suppress(OSError):
            cmdline = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{process.name}: {cmdline.strip()}")
    return found


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL whatever is left of the process group ``process`` leads, and reap ``process``."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(SERVER_STOP_TIMEOUT)


def _stop(process: subprocess.Popen[bytes], left: list[str] | None = None) -> bool:
    """SIGTERM to the command's process group (make, the shell and the server it started);
    whether every process of it ended within the bound (the rest is then killed, and named in
    ``left``)."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)

    def ended() -> bool:
        process.poll()  # reaps the leader, which would otherwise linger as a zombie
        return not _alive_in_group(process.pid)

    try:  # a process group offers nothing to wait on but its members' states
        stopped = bool(poll(ended, SERVER_STOP_TIMEOUT, interval=0.05))
        if not stopped and left is not None:
            left.extend(_running_in_group(process.pid))
        return stopped
    finally:
        _end_group(process)


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", documents(), ids=_page_id)
def test_page_examples_run(
    path: Path, mocks: Mocks, pytest_outcomes: dict[str, str | None], tmp_path: Path
) -> None:
    failures = Page(path, mocks, tmp_path, pytest_outcomes).run()
    assert not failures, "\n\n".join(failures)


def markup_problems(paths: list[Path]) -> list[str]:
    """What keeps a block of these pages from being run or knowingly skipped."""
    problems = []
    for path in paths:
        for block in blocks(path):
            problems += [f"{block.where}: {problem}" for problem in block.problems]
            if block.kind == "unmarked" and not block.problems:
                problems.append(
                    f"{block.where}: a '{block.lang or 'no language'}' block the test cannot run: give it a "
                    "language it runs, or <!-- docs-test: skip (why) --> before it"
                )
            misplaced = {"server", "strict", "status"} & set(block.directives)
            if misplaced and block.lang not in SHELL:
                problems.append(f"{block.where}: {sorted(misplaced)} apply to shell blocks only")
            if "bot" in block.directives and block.kind not in ("shell", "python", "pytest"):
                problems.append(f"{block.where}: 'bot' applies to a shell or Python block that runs")
    return problems


def test_every_block_runs_or_says_why_not() -> None:
    problems = markup_problems(documents())
    assert not problems, "\n".join(problems)


# --- the runner itself: a wrong example fails, a right one passes --------------------------------


def _page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def test_runner__a_request_answering_an_error_fails_its_example(mocks: Mocks, tmp_path: Path) -> None:
    page = _page(
        tmp_path,
        "```console\n$ curl -s -u a11ce0000000000000000000000000a1: http://127.0.0.1:8080/flows/acme/nope\n```\n",
    )
    (failure,) = Page(page, mocks, tmp_path / "run").run()
    assert "line 2" in failure and "answered HTTP [404]" in failure and "not found" in failure, failure


def test_runner__an_expected_error_status_passes_and_a_missing_one_fails(
    mocks: Mocks, tmp_path: Path
) -> None:
    ok = "<!-- docs-test: status 404 -->\n```sh\ncurl -s http://127.0.0.1:8080/flows/acme/nope -u a11ce0000000000000000000000000a1:\n```\n"
    assert Page(_page(tmp_path, ok), mocks, tmp_path / "a").run() == []
    missing = "<!-- docs-test: status 503 -->\n```sh\ncurl -s http://127.0.0.1:8080/_mock/health\n```\n"
    (failure,) = Page(_page(tmp_path, missing), mocks, tmp_path / "b").run()
    assert "expected HTTP [503]" in failure, failure


def test_runner__shell_variables_carry_from_block_to_block(mocks: Mocks, tmp_path: Path) -> None:
    text = '```console\n$ M=http://127.0.0.1:8080/_mock\n```\n\ntext\n\n```console\n$ test -n "$M" && curl -s $M/health\n```\n'
    assert Page(_page(tmp_path, text), mocks, tmp_path / "run").run() == []


def test_runner__a_failing_command_or_python_example_fails(mocks: Mocks, tmp_path: Path) -> None:
    text = "```sh\nfalse\necho never\n```\n\n```python\nimport requests\nrequests.get('http://127.0.0.1:8080/flows').raise_for_status()\n```\n"
    shell, python = Page(_page(tmp_path, text), mocks, tmp_path / "run").run()
    assert "`false` exited 1" in shell, shell
    assert "401 Client Error" in python, python


def test_runner__a_server_that_never_gets_healthy_fails(mocks: Mocks, tmp_path: Path) -> None:
    text = "<!-- docs-test: server -->\n```sh\nflowdock-mock serve --users 1\n```\n"
    (failure,) = Page(_page(tmp_path, text), mocks, tmp_path / "run").run()
    assert "exited 2 before it was healthy" in failure, failure


def test_markup__a_block_without_a_way_to_run_or_a_reason_is_named(tmp_path: Path) -> None:
    text = "```js\nx()\n```\n\n<!-- docs-test: skip -->\n```sh\nmake image\n```\n\n<!-- docs-test: skip (needs podman) -->\n```sh\nmake image\n```\n"
    problems = markup_problems([_page(tmp_path, text)])
    assert len(problems) == 2, problems
    assert "page.md:1: a 'js' block the test cannot run" in problems[0]
    assert "page.md:6: 'skip' needs its reason in parentheses" in problems[1]


def test_runner__a_compiled_block_that_does_not_parse_fails(mocks: Mocks, tmp_path: Path) -> None:
    text = (
        "<!-- docs-test: compile (a fragment) -->\n```python\ndef f(:\n```\n\n"
        "<!-- docs-test: compile (a fragment) -->\n```js\nconst x = await fetch(url)\nmodule.exports = (robot) => {\n```\n"
    )
    python, js = Page(_page(tmp_path, text), mocks, tmp_path / "run").run()
    assert "page.md:2 [python]: does not compile" in python, python
    assert "page.md:7 [js]: does not parse" in js and "SyntaxError" in js, js
