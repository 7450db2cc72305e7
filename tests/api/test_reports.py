"""The CI reports rendered from real journals: JUnit XML, HAR, coverage of a saved journal, gates.

Requests go through the in-process app, so the journal holds the violations the validators and
the normaliser really produce; each report is then checked against its published schema and for
what it says about those requests.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.contract import OperationIndex, load_spec
from mock_server.reporting import Locator, RunData, gate_failures
from mock_server.reporting.har import write_har
from mock_server.reporting.junit import render_junit
from mock_server.runtime.journal import coverage_of
from mock_server.world import MAIN_USER
from tests.report_schemas import validate_har, validate_junit

MAIN = "/flows/acme/main"
MESSAGES = "#/paths/~1flows~1{organization}~1{flow}~1messages/post"


@pytest.fixture(scope="module")
def locator() -> Locator:
    return Locator(OperationIndex(load_spec()))


@pytest.fixture
def journal(app: Any, store: Any) -> Iterator[Any]:
    """The session app's journal, empty and with zero coverage."""
    app.runtime.journal.clear()
    app.runtime.journal.clear_coverage()
    yield app.runtime.journal


def resolve(spec: dict[str, Any], pointer: str) -> Any:
    """Follow a ``#/...`` JSON Pointer through the spec (KeyError when it points nowhere)."""
    node: Any = spec
    for token in pointer[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def run_data(journal: Any, *, strict: bool = False) -> RunData:
    return RunData(
        journal.coverage(), journal.list(), journal.size, strict=strict, base_url="http://127.0.0.1:9"
    )


def junit(journal: Any, locator: Locator, *, strict: bool = False) -> ET.Element:
    data = run_data(journal, strict=strict)
    text = render_junit(data.coverage, data.entries, locator, strict=strict, timestamp="2026-01-01T00:00:00")
    validate_junit(text)
    return ET.fromstring(text)


def case(root: ET.Element, operation_id: str) -> ET.Element:
    found = [c for c in root.iter("testcase") if c.get("name", "").startswith(f"{operation_id} (")]
    assert len(found) == 1, [c.get("name") for c in root.iter("testcase")]
    return found[0]


@pytest.mark.parametrize(
    ("send", "operation_id", "expected"),
    [
        (
            lambda c: c.get(f"{MAIN}/messages", params={"limit": 0}),
            "listFlowMessages",
            "#/components/parameters/Limit/schema/minimum",
        ),
        (
            lambda c: c.post(f"{MAIN}/messages", json={"content": "x"}),
            "sendFlowMessage",
            # one shape per event (oneOf): without an event, the body as a whole is at fault
            "#/components/schemas/MessageInput",
        ),
        (
            lambda c: c.post(f"{MAIN}/messages", json={"event": "message", "content": "hi", "tags": [1]}),
            "sendFlowMessage",
            "#/components/schemas/Tags/items/type",
        ),
        (
            lambda c: c.post(f"{MAIN}/messages", content="x", headers={"content-type": "text/plain"}),
            "sendFlowMessage",
            f"{MESSAGES}/requestBody/content",
        ),
        (
            lambda c: c.put(MAIN, json={"name": ""}),
            "updateFlow",
            "#/paths/~1flows~1{organization}~1{flow}/put/requestBody/content/application~1json/schema/properties/name/minLength",
        ),
        (lambda c: c.get("/v1/flows"), "listFlows", "#/paths/~1flows/get"),
        (
            lambda c: c.get("/stream/flows", params={"user": 2}),
            "streamFlows",
            # `user` is a property of `selection`, an object sent as its properties
            "#/components/parameters/StreamSelection/schema/properties/user/enum",
        ),
    ],
    ids=[
        "parameter-minimum",
        "body-required",
        "nested-item-type",
        "content-type",
        "inline-body-minLength",
        "legacy-form",
        "exploded-object-property",
    ],
)
def test_locator__places_each_real_violation_at_an_existing_place_in_the_contract(
    alice: Any, journal: Any, locator: Locator, send: Any, operation_id: str, expected: str
) -> None:
    send(alice)

    (entry,) = journal.list()
    assert entry["operationId"] == operation_id and entry["violations"]
    located = locator.locate(operation_id, entry["violations"][0], entry["headers"].get("content-type", ""))
    assert located.schema_path == expected
    resolve(locator.spec, located.schema_path)  # a real location, not just a plausible string


def test_junit__conforming_calls_pass_and_unexercised_operations_are_skipped(
    alice: Any, journal: Any, locator: Locator
) -> None:
    assert alice.get("/flows").status_code == 200
    assert alice.get(MAIN).status_code == 200
    assert alice.post(f"{MAIN}/messages", json={"event": "message", "content": "hello"}).status_code == 201

    root = junit(journal, locator)

    for op in ("listFlows", "getFlow", "sendFlowMessage"):
        element = case(root, op)
        assert element.find("failure") is None and element.find("skipped") is None
    skipped = case(root, "deleteMessage").find("skipped")
    assert skipped is not None and "not exercised" in skipped.get("message", "")
    operations = len(locator.operations)
    assert root.get("tests") == str(operations) and root.get("failures") == "0"
    assert sum(int(s.get("skipped", "0")) for s in root.iter("testsuite")) == operations - 3


def test_junit__a_violating_request_fails_its_operation_with_request_schema_path_and_message(
    alice: Any, journal: Any, locator: Locator
) -> None:
    alice.post(f"{MAIN}/messages", json={"event": "message", "content": "fine"})
    alice.post(f"{MAIN}/messages", json={"content": "no event"})

    root = junit(journal, locator)

    failure = case(root, "sendFlowMessage").find("failure")
    assert failure is not None and failure.get("type") == "contract violation"
    assert failure.text is not None
    assert f"POST {MAIN}/messages -> 400" in failure.text
    assert "schema path: #/components/schemas/MessageInput\n" in failure.text + "\n"  # oneOf: the body
    assert "message: 'event' is a required property" in failure.text
    assert root.get("failures") == "1"


def test_junit__legacy_forms_pass_in_compatible_mode_and_fail_in_strict_mode(
    alice: Any, journal: Any, locator: Locator
) -> None:
    assert alice.get("/v1/flows").status_code == 200

    compatible = case(junit(journal, locator), "listFlows")
    assert compatible.find("failure") is None
    out = compatible.find("system-out")
    assert out is not None and out.text is not None and "legacy form: version-prefix" in out.text

    failure = case(junit(journal, locator, strict=True), "listFlows").find("failure")
    assert failure is not None and failure.get("type") == "legacy form"
    assert failure.text is not None and "legacy form: version-prefix" in failure.text


def test_strict_mode__a_refused_legacy_request_is_journaled_under_its_operation(locator: Locator) -> None:
    app = create_app(strict=True)
    client = app.test_client()
    client.auth = (MAIN_USER["api_token"], "")

    assert client.get("/v1/flows").status_code == 400

    (entry,) = app.runtime.journal.list()
    assert entry["operationId"] == "listFlows"
    failure = case(junit(app.runtime.journal, locator, strict=True), "listFlows").find("failure")
    assert failure is not None and "GET /v1/flows -> 400" in (failure.text or "")


def test_junit__characters_xml_cannot_carry_are_escaped(client: Any, journal: Any, locator: Locator) -> None:
    assert client.get("/nowhere%01%1b").status_code == 404

    root = junit(journal, locator)  # validates, so it parsed

    unmatched = [c for c in root.iter("testcase") if c.get("classname") == "flowdock.unmatched"]
    assert len(unmatched) == 1
    out = unmatched[0].find("system-out")
    assert out is not None and "/nowhere\\u0001\\u001b -> 404" in (out.text or "")


def test_har__is_har_1_2_with_the_journal_redaction(client: Any, alice: Any, journal: Any) -> None:
    alice.get("/flows", params={"users": 1})
    client.get("/flows?access_token=s3cret&users=1")
    client.post("/oauth/token", data={"grant_type": "password", "username": "a", "password": "hunter2"})

    out = io.StringIO()
    write_har(journal.list(), "http://127.0.0.1:9", out, comment="test")
    doc = json.loads(out.getvalue())

    validate_har(doc)
    entries = doc["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["GET", "GET", "POST"]
    assert entries[0]["request"]["url"] == "http://127.0.0.1:9/flows?users=1"
    assert {"name": "authorization", "value": "Basic [redacted]"} in entries[0]["request"]["headers"]
    assert {"name": "access_token", "value": "[redacted]"} in entries[1]["request"]["queryString"]
    assert "s3cret" not in out.getvalue() and "hunter2" not in out.getvalue()
    assert MAIN_USER["api_token"] not in out.getvalue()
    assert entries[2]["request"]["postData"]["mimeType"].startswith("application/x-www-form-urlencoded")
    response = entries[0]["response"]
    assert response["status"] == 200 and response["statusText"] == "OK"
    assert response["content"]["mimeType"].startswith("application/json") and response["content"]["size"] > 2
    assert response["bodySize"] == response["content"]["size"]
    assert "operationId: listFlows" in entries[0]["comment"]


def test_har__a_saved_journal_uses_each_request_host(alice: Any, journal: Any) -> None:
    alice.get("/flows")

    out = io.StringIO()
    write_har(journal.list(), None, out)

    (entry,) = json.loads(out.getvalue())["log"]["entries"]
    assert entry["request"]["url"] == "http://testserver/flows"


def test_coverage_of__a_saved_journal_counts_as_the_live_journal(
    alice: Any, journal: Any, locator: Locator
) -> None:
    alice.get("/flows")
    alice.get(MAIN)
    alice.get("/v1/flows")
    alice.post(f"{MAIN}/messages", json={"content": "no event"})
    alice.get("/no/such/path")

    saved = json.loads(json.dumps(journal.list()))  # what GET /_mock/requests gives, through JSON

    assert coverage_of(saved, journal.operations) == journal.coverage()


def test_gates__say_in_one_line_what_failed(alice: Any, journal: Any, locator: Locator) -> None:
    alice.get("/v1/flows")  # a legacy form: tolerated unless strict
    assert gate_failures(run_data(journal), locator, fail_on_violation=True, min_coverage=1) == []

    (strict_line,) = gate_failures(
        run_data(journal, strict=True), locator, fail_on_violation=True, min_coverage=None
    )
    assert strict_line.startswith(
        "--fail-on-violation: 1 request(s) violated the contract; first: GET /v1/flows -> 200"
    )

    alice.post(f"{MAIN}/messages", json={"content": "no event"})
    violation, coverage = gate_failures(run_data(journal), locator, fail_on_violation=True, min_coverage=50)
    assert "(at #/components/schemas/MessageInput)" in violation and "\n" not in violation
    assert (
        coverage
        == f"--min-coverage 50: {round(200 / len(locator.operations), 1)}% of the contract's operations exercised "
        f"(2 of {len(locator.operations)})"
    )


def _hrefs(page: str) -> list[str]:
    import re

    return re.findall(r'href="([^"]*)"', page)


@pytest.mark.parametrize("layout", ["report-dir", "separate", "html-only"])
def test_coverage_html__every_link_of_a_saved_page_opens_from_disk(
    alice: Any, journal: Any, locator: Locator, tmp_path: Any, layout: str
) -> None:
    from urllib.parse import unquote

    from mock_server.reporting import Outputs, write_reports

    alice.get("/flows")
    if layout == "report-dir":
        outputs = Outputs.in_directory(tmp_path / "reports")
    elif layout == "separate":
        outputs = Outputs(
            coverage_html=tmp_path / "html" / "coverage.html",
            coverage_json=tmp_path / "json files" / "coverage.json",
            journal=tmp_path / "journal.json",
        )
    else:
        outputs = Outputs(coverage_html=tmp_path / "coverage.html")
    write_reports(run_data(journal), outputs, locator)
    assert outputs.coverage_html is not None
    page = outputs.coverage_html.read_text(encoding="utf-8")
    hrefs = _hrefs(page)
    assert len(hrefs) == {"report-dir": 2, "separate": 2, "html-only": 0}[layout]
    for href in hrefs:
        assert (outputs.coverage_html.parent / unquote(href)).is_file(), href


def test_report__the_live_page_links_the_live_documents(alice: Any, client: Any, journal: Any) -> None:
    assert _hrefs(client.get("/_mock/report").text) == ["coverage", "requests"]
