"""``flowdock-mock run -- COMMAND`` and ``flowdock-mock report`` as real processes around real commands.

The commands are the client scripts in tests/clients/scripts (conforming calls, one contract
violation, one that waits for a signal) and shell one-liners. Every process is bounded by a
timeout and killed if a test fails; "nothing left behind" is checked by pid and by the port.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server.runner import CLIENT_ENV
from tests.clients.test_lifecycle import clean_env
from tests.report_schemas import validate_har, validate_junit

pytestmark = pytest.mark.client

ROOT = Path(__file__).resolve().parents[2]
MOCK = str(Path(sys.executable).parent / "flowdock-mock")
SCRIPTS = Path(__file__).resolve().parent / "scripts"
TIMEOUT = 120


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MOCK, *args],
        check=False,
        env=env or clean_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def script(name: str) -> list[str]:
    return [sys.executable, str(SCRIPTS / name)]


def cases(junit_file: Path) -> dict[str, ET.Element]:
    text = junit_file.read_text(encoding="utf-8")
    validate_junit(text)
    return {c.get("name", "").split(" ")[0]: c for c in ET.fromstring(text).iter("testcase")}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_run__conforming_client_exits_0_with_passing_cases_and_valid_reports(tmp_path: Path) -> None:
    result = run(
        "run", "--report-dir", str(tmp_path), "--fail-on-violation", "--", *script("conforming_client.py")
    )

    assert result.returncode == 0, result.stderr
    assert "conforming client: 3 calls made" in result.stdout
    by_op = cases(tmp_path / "junit.xml")
    for op in ("listFlows", "getFlow", "sendFlowMessage"):
        assert by_op[op].find("failure") is None and by_op[op].find("skipped") is None
    assert by_op["deleteMessage"].find("skipped") is not None
    har = json.loads((tmp_path / "requests.har").read_text(encoding="utf-8"))
    validate_har(har)
    assert [e["request"]["method"] for e in har["log"]["entries"]] == ["GET", "GET", "POST"]
    assert "Basic [redacted]" in json.dumps(har) and "a11ce0000" not in json.dumps(har)
    coverage = json.loads((tmp_path / "coverage.json").read_text(encoding="utf-8"))
    assert coverage["operations_exercised"] == 3 and coverage["violations"] == []
    assert "contract coverage" in (tmp_path / "coverage.html").read_text(encoding="utf-8")
    assert "3 of " in result.stderr and "gate failed" not in result.stderr


def test_run__a_contract_violation_fails_the_gate_and_names_the_schema_path(tmp_path: Path) -> None:
    junit = tmp_path / "out" / "junit.xml"

    result = run("run", "--junit", str(junit), "--fail-on-violation", "--", *script("violating_client.py"))

    assert result.returncode == 1, result.stderr
    gate = [line for line in result.stderr.splitlines() if "gate failed" in line]
    assert len(gate) == 1 and "--fail-on-violation: 1 request(s) violated the contract" in gate[0]
    failure = cases(junit)["sendFlowMessage"].find("failure")
    assert failure is not None
    assert "schema path: #/components/schemas/MessageInput\n" in (failure.text or "")
    assert cases(junit)["listFlows"].find("failure") is None


def test_run__without_the_gate_the_commands_status_stands(tmp_path: Path) -> None:
    env = clean_env(FLOWDOCK_MOCK_JUNIT=str(tmp_path / "junit.xml"))

    result = run("run", "--", *script("violating_client.py"), env=env)

    assert result.returncode == 0, result.stderr
    assert cases(tmp_path / "junit.xml")["sendFlowMessage"].find("failure") is not None


def test_run__the_gates_read_their_environment_variables(tmp_path: Path) -> None:
    env = clean_env(FLOWDOCK_MOCK_FAIL_ON_VIOLATION="1", FLOWDOCK_MOCK_MIN_COVERAGE="90")

    result = run("run", "--", *script("violating_client.py"), env=env)

    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "gate failed" in line]
    assert [line.split(": ")[2].split(" ")[0] for line in lines] == ["--fail-on-violation", "--min-coverage"]


def test_run__exits_with_the_commands_status_and_still_writes_the_reports(tmp_path: Path) -> None:
    result = run(
        "run",
        "--report-dir",
        str(tmp_path),
        "--",
        "sh",
        "-c",
        'curl -s "$FLOWDOCK_MOCK_URL/flows" >/dev/null; exit 3',
    )

    assert result.returncode == 3
    assert (tmp_path / "junit.xml").is_file() and (tmp_path / "requests.har").is_file()
    validate_junit((tmp_path / "junit.xml").read_text(encoding="utf-8"))


def test_run__a_public_url_is_what_the_command_is_told_while_the_runner_checks_the_bound_port() -> None:
    check = 'test "$FLOWDOCK_API_URL" = http://flowdock.invalid:8080 && test "$FLOWDOCK_MOCK_URL" = "$FLOWDOCK_API_URL"'

    result = run("run", "--public-url", "http://flowdock.invalid:8080", "--", "sh", "-c", check)

    assert result.returncode == 0, result.stderr


def test_run__a_missing_command_is_127_with_a_clear_message(tmp_path: Path) -> None:
    result = run(
        "run", "--junit", str(tmp_path / "junit.xml"), "--", "no-such-command-for-flowdock-mock", "x"
    )

    assert result.returncode == 127
    assert "flowdock-mock run: no-such-command-for-flowdock-mock: command not found" in result.stderr
    assert (tmp_path / "junit.xml").is_file()


def test_run__a_file_that_cannot_be_executed_is_126(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("not a program\n")
    data.chmod(0o644)

    result = run("run", "--", str(data))

    assert result.returncode == 126
    assert f"flowdock-mock run: {data}: cannot execute" in result.stderr


def test_run__the_command_gets_every_documented_client_variable(tmp_path: Path) -> None:
    dump = tmp_path / "env.json"
    code = f"import json, os; json.dump(dict(os.environ), open({str(dump)!r}, 'w'))"

    result = run("run", "--admin-token", "adm1n", "--", sys.executable, "-c", code)

    assert result.returncode == 0, result.stderr
    env = json.loads(dump.read_text())
    documented = [name for name, _, _ in CLIENT_ENV]
    assert set(documented) <= set(env)
    base = env["FLOWDOCK_API_URL"]
    assert base.startswith("http://127.0.0.1:") and env["FLOWDOCK_STREAM_URL"] == base + "/stream/flows"
    assert (
        env["HUBOT_FLOWDOCK_LOGIN_EMAIL"] == "alice@example.com"
        and env["FLOWDOCK_MOCK_ADMIN_TOKEN"] == "adm1n"
    )
    page = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in page for name in documented)  # the docs' table lists each one
    assert not listening(base)  # the mock stopped with the command


@pytest.fixture
def waiting(tmp_path: Path) -> Iterator[Any]:
    """``flowdock-mock run`` around the waiting client; yields (runner, client pid, mock url)."""
    runner = subprocess.Popen(
        [MOCK, "run", "--report-dir", str(tmp_path), "--", *script("waiting_client.py")],
        env=clean_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:
        assert runner.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(runner.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 60
            line = ""
            while not line.startswith("ready") and time.monotonic() < deadline:
                if selector.select(timeout=deadline - time.monotonic()):
                    line = runner.stdout.readline()
                    if not line:
                        break
        assert line.startswith("ready"), (
            runner.stderr.read() if runner.poll() is not None else "no ready line"
        )
        _, pid, url = line.split()
        pids.append(int(pid))
        yield runner, int(pid), url
    finally:
        if runner.poll() is None:
            runner.kill()
        for pid in pids:  # a broken runner must not leave the client behind either
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        runner.wait(timeout=10)
        runner.stdout.close()  # type: ignore[union-attr]
        runner.stderr.close()  # type: ignore[union-attr]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run__a_signal_reaches_the_command_and_nothing_is_left_behind(
    waiting: Any, tmp_path: Path, sig: signal.Signals
) -> None:
    runner, pid, url = waiting
    assert alive(pid) and listening(url)

    runner.send_signal(sig)
    status = runner.wait(timeout=30)

    assert status == 128 + sig  # the command died of the signal, as a shell reports it
    assert not alive(pid)
    assert not listening(url)
    cases(tmp_path / "junit.xml")  # reports written, and valid
    assert json.loads((tmp_path / "coverage.json").read_text())["operations_exercised"] == 1


def test_report__renders_the_same_verdict_from_a_saved_journal(tmp_path: Path) -> None:
    live = tmp_path / "live"
    first = run("run", "--report-dir", str(live), "--", *script("violating_client.py"))
    assert first.returncode == 0, first.stderr

    later = tmp_path / "later"
    result = run("report", str(live / "journal.json"), "--report-dir", str(later), "--fail-on-violation")

    assert result.returncode == 1
    assert "gate failed: --fail-on-violation: 1 request(s)" in result.stderr
    verdict = {
        name: [child.tag for child in case if child.tag != "system-out"]
        for name, case in cases(live / "junit.xml").items()
    }
    assert verdict == {
        name: [child.tag for child in case if child.tag != "system-out"]
        for name, case in cases(later / "junit.xml").items()
    }
    assert json.loads((later / "coverage.json").read_text()) == json.loads(
        (live / "coverage.json").read_text()
    )
    validate_har(json.loads((later / "requests.har").read_text()))


def test_report__a_file_that_is_not_a_journal_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"requests": [{"method": "GET"}]}')

    result = run("report", str(bad))

    assert result.returncode == 2
    assert "requests[0] is not a journal entry" in result.stderr


def action_step_env(step: dict[str, Any], inputs: dict[str, str]) -> dict[str, str]:
    """A step's ``env:``, with each ``${{ inputs.NAME }}`` replaced as GitHub would."""
    env = {}
    for name, value in step.get("env", {}).items():
        match = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", str(value))
        env[name] = inputs[match.group(1)] if match else str(value)
    return env


def test_action__the_composite_action_runs_the_command_under_flowdock_mock_run(tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    steps = {step.get("id") or step["name"]: step for step in action["runs"]["steps"]}
    upload = steps["Upload the flowdock-mock reports"]
    assert upload["uses"].startswith("actions/upload-artifact@") and "always()" in upload["if"]
    assert upload["with"]["path"] == "${{ inputs.report-dir }}"
    install = steps["Install flowdock-mock"]["run"]
    assert "constraints.txt" in install and "$ACTION_PATH" in install
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update(
        command=f"{sys.executable} {SCRIPTS / 'violating_client.py'}",
        args="--strict --seed 20230815",
        **{"report-dir": str(tmp_path / "reports")},
    )
    step = steps["run"]
    env = clean_env(**action_step_env(step, inputs), FLOWDOCK_MOCK_BIN=MOCK)

    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        check=False,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )

    assert result.returncode == 1, result.stderr  # fail-on-violation defaults to true
    assert "gate failed: --fail-on-violation" in result.stderr
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "coverage.html",
        "coverage.json",
        "journal.json",
        "junit.xml",
        "requests.har",
    ]
