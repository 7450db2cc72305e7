"""A stock Schemathesis run against a live strict-mode server, as a new user would start one.

``st run <url>/openapi.json -a TOKEN: -c all`` from a folder without the project's
``schemathesis.toml``: every phase and every check, nothing narrowed, only bounded (few examples,
deterministic generation) so `make test` stays quick. The contract says what strict mode enforces,
so the only failures left are schema-valid requests refused for data the schema cannot know
(``DATA_DEPENDENT``, listed with their reasons in docs/development.md); anything else fails this test.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.world import MAIN_USER
from tests.clients.conftest import serve

pytestmark = pytest.mark.contract

STOCK_BOUNDS = ["--max-examples", "4", "--seed", "20230815", "--generation-deterministic", "--no-shrink"]
"""Bounded and seeded: the same cases every run, within a minute or two of CPU on 2 cores."""
RUN_TIMEOUT = 900
"""Wall-clock bound for the whole run (it takes far less on an idle machine)."""

DATA_DEPENDENT: dict[str, re.Pattern[str]] = {
    # Each: a 400 for a schema-valid request, because of data only the server holds.
    "a name or email already taken": re.compile(r"has already been taken"),
    "a user outside the flow's organization": re.compile(r"is not a member of the organization"),
    "a thread id that no thread of the flow has": re.compile(r'"thread_id": \["is invalid"\]'),
    "a comment on a comment": re.compile(r"can't be a comment"),
    # Not data, but rules OpenAPI 3.0 cannot state: a requirement across two query parameters, and
    # a bound on numbers inside the objects the contract leaves open (attachments, author, actions).
    "a stream with neither `filter` nor `user=1`": re.compile(r"must name at least one flow unless user=1"),
    "a number beyond 64 bits inside an open object": re.compile(r"is outside the 64-bit integer range"),
    "an invitation that is no longer pending": re.compile(r"is not pending"),
    "an OAuth client_id or redirect_uri the server has not registered": re.compile(
        r'"error": "(invalid_client|invalid_request)".*(client_id|redirect_uri)'
    ),
}
"""Failure kinds the schema cannot prevent; docs/development.md lists them with the same reasons."""
BY_DESIGN: dict[str, tuple[str, str, re.Pattern[str]]] = {
    # (check code, status, response body): Flowdock's behaviour, which a stock check misreads.
    "a deleted chat message or comment is emptied, not removed (docs/flowdock.md §3.3 op 14)": (
        "ST301",
        "200",
        re.compile(r'"content":\s*""'),
    ),
}

_BLOCK = re.compile(r"(?=\d+\. Test Case ID)")
_CODE = re.compile(r"^- (ST\d+) ", re.MULTILINE)
_RESPONSE = re.compile(r"^\[(\d{3})\][^\n]*\n\s*\n\s*`(.*?)`\s*$", re.MULTILINE | re.DOTALL)


def unexplained(junit: str) -> list[str]:
    """Each failure of the JUnit report that no ``DATA_DEPENDENT`` kind explains."""
    found = []
    for case in ET.fromstring(junit).iter("testcase"):
        for failure in case.iter("failure"):
            text = failure.text or failure.get("message") or ""
            for block in _BLOCK.split(text) or [text]:
                codes = set(_CODE.findall(block))
                if not codes:
                    continue
                response = _RESPONSE.search(block)
                explained = response is not None and (
                    (
                        codes == {"ST202"}
                        and response.group(1) == "400"
                        and any(kind.search(response.group(2)) for kind in DATA_DEPENDENT.values())
                    )
                    or any(
                        codes == {code} and response.group(1) == status and body.search(response.group(2))
                        for code, status, body in BY_DESIGN.values()
                    )
                )
                if not explained:
                    found.append(f"{case.get('name')}: {sorted(codes)}\n{block.strip()[:1500]}")
    return found


def test_unexplained__keeps_data_dependent_failures_and_reports_the_rest() -> None:
    data = '1. Test Case ID: a\n\n- ST202 Schema-valid request rejected\n\n[400] Bad Request:\n\n    `{"message": "Validation error", "errors": {"id": ["is not a member of the organization"]}}`\n'
    other = '1. Test Case ID: b\n\n- ST202 Schema-valid request rejected\n\n[400] Bad Request:\n\n    `{"message": "Validation error", "errors": {"content": ["can\'t be blank"]}}`\n'
    wrong = "1. Test Case ID: c\n\n- ST204 Wrong response to undeclared method\n\n[400] Bad Request:\n\n    `{}`\n"

    def report(text: str) -> str:
        body = text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
        return f'<testsuites><testsuite><testcase name="op"><failure message="x">{body}</failure></testcase></testsuite></testsuites>'

    emptied = '1. Test Case ID: d\n\n- ST301 Deleted resource still available\n\n[200] OK:\n\n    `{"id":7,"content":""}`\n'
    assert unexplained(report(data)) == []
    assert unexplained(report(emptied)) == []
    assert len(unexplained(report(other))) == 1
    assert len(unexplained(report(wrong + data))) == 1


def test_stock_run_against_strict_mode__only_data_dependent_failures(tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("schemathesis")
    junit = tmp_path / "junit.xml"
    with serve(create_app(strict=True)) as server:
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
    problems = unexplained(junit.read_text(encoding="utf-8"))
    assert problems == [], "\n\n".join(problems)
