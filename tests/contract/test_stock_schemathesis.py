"""A stock Schemathesis run against a live strict-mode server, as a new user would start one.

``st run <url>/openapi.json -a TOKEN: -c all`` from a folder without the project's
``schemathesis.toml``: every phase and every check, nothing narrowed, only bounded (few examples,
deterministic generation) so `make test` stays quick. The server is started as the README says
for such a run, with ``--stream-lifetime`` (here ``stream_lifetime``), so that a client reading a
stream to its end gets one.

The contract says what strict mode enforces, so the only operations left failing are those whose
schema-valid requests are refused for data the schema cannot know. README.md lists them, one row
each with the answer the server gives; the test reads that table and compares: an operation failing
that is not listed fails the test, and so does one listed that no longer fails (a fix left in the
docs), or a listed one failing for another reason, a network error included.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.contract import OperationIndex, load_spec
from mock_server.world import MAIN_USER
from tests.clients.conftest import serve

pytestmark = pytest.mark.contract

README = Path(__file__).resolve().parents[2] / "README.md"
STOCK_BOUNDS = ["--max-examples", "4", "--seed", "20230815", "--generation-deterministic", "--no-shrink"]
"""Bounded and seeded: the same cases every run, within a few minutes of CPU on 2 cores."""
STREAM_LIFETIME = 0.25
"""Seconds each stream lasts (``--stream-lifetime``): well inside Schemathesis's 10 s read timeout,
and short, as the run opens a stream for most of the streaming operations' cases."""
RUN_TIMEOUT = 900
"""Wall-clock bound for the whole run (it takes far less on an idle machine)."""
MAX_FAILING = 3
"""The most operations the stock run may fail on (each data-dependent, each listed in README.md)."""

BY_DESIGN: dict[str, tuple[str, str, re.Pattern[str]]] = {
    # (check code, status, response body): Flowdock's behaviour, which a stock check misreads.
    "a deleted chat message or comment is emptied, not removed (docs/flowdock.md §3.3 op 14)": (
        "ST301",
        "200",
        re.compile(r'"content":\s*""'),
    ),
}
"""Not failures of the contract: docs/development.md explains each."""

_TABLE = re.compile(r"<!-- stock-schemathesis -->\n(.*?)\n<!-- /stock-schemathesis -->", re.DOTALL)
_ROW = re.compile(
    r"^\| `(?P<operation>[A-Z]+ /[^`]*)` \| (?P<why>[^|]+) \| `(?P<answer>[^`]+)` \|$", re.MULTILINE
)
_BLOCK = re.compile(r"(?=\d+\. Test Case ID)")
_CODE = re.compile(r"^- (ST\d+) ", re.MULTILINE)
_RESPONSE = re.compile(r"^\[(\d{3})\][^\n]*\n\s*\n\s*`(.*?)`\s*$", re.MULTILINE | re.DOTALL)
_OPERATION = re.compile(r"^[A-Z]+ /")
_CURL = re.compile(r"^\s*curl -X ([A-Z]+) .*https?://[^/\s']+(/[^?\s']*)", re.MULTILINE)


def documented(readme: str) -> dict[str, str]:
    """README.md's table of the operations a stock run fails on: operation -> the server's answer."""
    table = _TABLE.search(readme)
    assert table is not None, "README.md has no <!-- stock-schemathesis --> table"
    rows = {m["operation"]: m["answer"] for m in _ROW.finditer(table.group(1))}
    assert rows, "the README's stock-schemathesis table has no rows"
    return rows


def _by_design(codes: set[str], response: re.Match[str] | None) -> bool:
    return response is not None and any(
        codes == {code} and response.group(1) == status and body.search(response.group(2))
        for code, status, body in BY_DESIGN.values()
    )


def failing(junit: str) -> dict[str, list[str]]:
    """Each operation of the JUnit report with a failure or an error: its problems, as reported."""
    found: dict[str, list[str]] = {}
    for case in ET.fromstring(junit).iter("testcase"):
        name = case.get("name") or "?"
        stateful = not _OPERATION.match(name)  # "Stateful tests": a chain of requests
        for problem in case:
            if problem.tag not in ("failure", "error"):
                continue
            text = problem.text or problem.get("message") or problem.tag
            blocks = [b for b in _BLOCK.split(text) if _CODE.search(b)] if problem.tag == "failure" else []
            for block in blocks or [text]:
                if _by_design(set(_CODE.findall(block)), _RESPONSE.search(block)):
                    continue
                found.setdefault(last_request(block) if stateful else name, []).append(block.strip())
    return found


def last_request(block: str) -> str:
    """The operation of a stateful failure: that of the last request it reproduces (the refused one)."""
    requests = _CURL.findall(block)
    if not requests:
        return "Stateful tests"
    method, path = requests[-1]
    entry = OperationIndex(load_spec()).match(path)
    return f"{method} {entry.template if entry is not None else path}"


def explained(block: str, answer: str) -> bool:
    """A schema-valid request refused (ST202) with a 400 whose body is the listed answer."""
    response = _RESPONSE.search(block)
    return (
        set(_CODE.findall(block)) == {"ST202"}
        and response is not None
        and response.group(1) == "400"
        and answer in response.group(2)
    )


def compare(junit: str, listed: dict[str, str]) -> list[str]:
    """What differs between the run's failing operations and the README's list."""
    problems = []
    found = failing(junit)
    for operation, blocks in sorted(found.items()):
        answer = listed.get(operation)
        if answer is None:
            problems.append(f"{operation} fails and README.md does not list it:\n{blocks[0][:1500]}")
            continue
        problems += [
            f"{operation} fails other than README.md says (`{answer}`):\n{block[:1500]}"
            for block in blocks
            if not explained(block, answer)
        ]
    problems += [
        f"{operation} is listed in README.md and no longer fails: remove its row"
        for operation in sorted(set(listed) - set(found))
    ]
    return problems


def _report(text: str, name: str = "GET /oauth/authorize", tag: str = "failure") -> str:
    body = text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return f'<testsuites><testsuite><testcase name="{name}"><{tag} message="x">{body}</{tag}></testcase></testsuite></testsuites>'


def _block(code: str, status: str, body: str) -> str:
    return f"1. Test Case ID: a\n\n- {code} Something\n\n[{status}] Status:\n\n    `{body}`\n"


def test_compare__the_run_and_the_list_must_agree() -> None:
    listed = {"GET /oauth/authorize": "redirect_uri does not match"}
    refused = _block(
        "ST202", "400", '{"error": "invalid_request", "error_description": "redirect_uri does not match"}'
    )
    assert compare(_report(refused), listed) == []
    # a new failing operation, or a listed one failing for another reason, or a network error
    assert len(compare(_report(refused, name="GET /flows"), listed)) == 2
    assert len(compare(_report(_block("ST202", "400", '{"error": "invalid_client"}')), listed)) == 1
    assert len(compare(_report(_block("ST001", "500", "{}") + refused), listed)) == 1
    assert len(compare(_report("Network Error\n\nRead timed out", tag="error"), listed)) == 1
    # a listed operation that passes: the row must go
    passed = '<testsuites><testsuite><testcase name="GET /oauth/authorize"/></testsuite></testsuites>'
    assert compare(passed, listed) == [
        "GET /oauth/authorize is listed in README.md and no longer fails: remove its row"
    ]
    # a stateful chain's failure is its last request's operation
    chain = (
        refused
        + "\nReproduce with:\n\n    curl -X GET http://127.0.0.1:1/users\n    curl -X GET 'http://127.0.0.1:1/oauth/authorize?client_id=x'\n"
    )
    assert compare(_report(chain, name="Stateful tests"), listed) == []
    assert failing(_report(chain.replace("/oauth/authorize", "/users/7"), name="Stateful tests")).keys() == {
        "GET /users/{id}"
    }
    # Flowdock's emptied deletes are not failures of the contract
    assert compare(_report(_block("ST301", "200", '{"id":7,"content":""}') + refused), listed) == []


def test_readme_lists_at_most_three_operations_each_with_its_reason() -> None:
    listed = documented(README.read_text(encoding="utf-8"))
    assert 0 < len(listed) <= MAX_FAILING, listed
    table = _TABLE.search(README.read_text(encoding="utf-8"))
    assert table is not None
    rows = [line for line in table.group(1).splitlines() if line.startswith("| `")]
    assert len(rows) == len(listed), "every row names one operation, its reason and the server's answer"


def test_stock_run_against_strict_mode__fails_only_where_the_readme_says(tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("schemathesis")
    junit = tmp_path / "junit.xml"
    with serve(create_app(strict=True, stream_lifetime=STREAM_LIFETIME)) as server:
        command = [
            str(st),
            "run",
            f"{server.base_url}/openapi.json",
            "-a",
            f"{MAIN_USER['api_token']}:",
            "-c",
            "all",
            *STOCK_BOUNDS,
            "--report",
            "junit",
            "--report-junit-path",
            str(junit),
        ]
        # tmp_path has no schemathesis.toml: the stock configuration, as a new user runs it
        done = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    assert junit.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    problems = compare(junit.read_text(encoding="utf-8"), documented(README.read_text(encoding="utf-8")))
    assert problems == [], "\n\n".join(problems)
