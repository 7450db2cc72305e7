"""The contract verdict as JUnit XML, the format every CI system reads and annotates.

One ``<testsuite>`` per tag of the contract, one ``<testcase>`` per operation:

- **passed** when the run exercised the operation and none of its requests violated the contract;
- **failed** when any did: one ``<failure>`` listing each violation as request, schema path (a
  JSON Pointer into spec/openapi.yaml, ``schema_path.py``) and message. A legacy request form
  (``/v1/...``, form-encoded bodies, ...) fails the case only in strict mode; otherwise it is
  listed in the case's ``<system-out>`` as accepted;
- **skipped** when the run never called it.

Requests that matched no operation get one extra case, listing them. The output validates
against the common JUnit XSD (Jenkins' junit-10.xsd), which tests/schemas holds.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from mock_server.reporting.schema_path import Locator

SUITE_NAME = "flowdock-mock contract"
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot carry (a client can put them in a path): written as \\uXXXX."""


@dataclass
class Finding:
    """One violation of one request, placed in the contract."""

    request: str
    schema_path: str
    message: str
    legacy_rule: str | None = None

    def text(self) -> str:
        lines = [self.request, f"  schema path: {self.schema_path}", f"  message: {self.message}"]
        if self.legacy_rule:
            lines.insert(2, f"  legacy form: {self.legacy_rule}")
        return "\n".join(lines)


@dataclass
class Verdict:
    """What the run did to one operation."""

    operation_id: str
    method: str
    path: str
    calls: int
    statuses: dict[str, int]
    seconds: float = 0.0
    failures: list[Finding] = field(default_factory=list)
    tolerated: list[Finding] = field(default_factory=list)
    unlisted: int = 0
    """Violating requests counted but no longer in the journal (its ring is bounded)."""

    @property
    def name(self) -> str:
        return f"{self.operation_id} ({self.method} {self.path})"


def describe_request(entry: dict[str, Any]) -> str:
    query = f"?{entry['query']}" if entry.get("query") else ""
    return f"{entry['method']} {entry['path']}{query} -> {entry['status']}"


def findings(entry: dict[str, Any], locator: Locator) -> list[Finding]:
    """Each violation of one journaled request, placed in the contract."""
    content_type = (entry.get("headers") or {}).get("content-type", "")
    out = []
    for violation in entry.get("violations") or []:
        located = locator.locate(entry.get("operationId"), violation, content_type)
        out.append(Finding(describe_request(entry), located.schema_path, violation, located.legacy_rule))
    return out


def verdicts(
    coverage: dict[str, Any], entries: list[dict[str, Any]], locator: Locator, *, strict: bool
) -> list[Verdict]:
    """One verdict per operation of the coverage document, in the contract's order."""
    seconds: dict[str | None, float] = defaultdict(float)
    for entry in entries:
        seconds[entry.get("operationId")] += float(entry.get("duration_ms") or 0) / 1000
    by_op: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for entry in coverage.get("violations", []):
        by_op[entry.get("operationId")].append(entry)
    out = []
    for op in coverage["operations"]:
        verdict = Verdict(
            op["operationId"],
            op["method"],
            op["path"],
            op["calls"],
            dict(op["statuses"]),
            seconds[op["operationId"]],
        )
        listed = by_op.get(op["operationId"], [])
        for entry in listed:
            for finding in findings(entry, locator):
                (verdict.tolerated if finding.legacy_rule and not strict else verdict.failures).append(
                    finding
                )
        verdict.unlisted = max(0, int(op.get("violations", 0)) - len(listed))
        out.append(verdict)
    return out


def failing_requests(coverage: dict[str, Any], locator: Locator, *, strict: bool) -> list[dict[str, Any]]:
    """The journaled requests that fail the verdict (legacy forms only in strict mode)."""
    return [
        entry
        for entry in coverage.get("violations", [])
        if any(strict or not f.legacy_rule for f in findings(entry, locator))
    ]


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _case(parent: ET.Element, classname: str, verdict: Verdict) -> str:
    """Append the test case; returns its outcome: passed, failed or skipped."""
    case = ET.SubElement(
        parent, "testcase", name=verdict.name, classname=classname, time=_seconds(verdict.seconds)
    )
    out: list[str] = []
    if verdict.calls:
        statuses = ", ".join(f"{s}x{n}" for s, n in verdict.statuses.items())
        out.append(f"{verdict.calls} request(s): {statuses}")
    if verdict.unlisted:
        out.append(
            f"{verdict.unlisted} more violating request(s) were counted but are no longer in the "
            "journal (raise --journal-size to keep them)"
        )
    outcome = "passed"
    if not verdict.calls:
        ET.SubElement(case, "skipped", message="not exercised by this run")
        outcome = "skipped"
    elif verdict.failures:
        kinds = {"legacy form" if f.legacy_rule else "contract violation" for f in verdict.failures}
        first = verdict.failures[0]
        failure = ET.SubElement(
            case,
            "failure",
            type=" and ".join(sorted(kinds)),
            message=f"{len(verdict.failures)} violation(s): {first.message} (at {first.schema_path})",
        )
        failure.text = "\n\n".join(f.text() for f in verdict.failures)
        outcome = "failed"
    if verdict.tolerated:
        out.append("legacy request forms accepted (they fail in strict mode):")
        out.extend(f.text() for f in verdict.tolerated)
    if out:
        ET.SubElement(case, "system-out").text = "\n".join(out)
    return outcome


def render_junit(
    coverage: dict[str, Any],
    entries: list[dict[str, Any]],
    locator: Locator,
    *,
    strict: bool,
    timestamp: str | None = None,
    seconds: float | None = None,
) -> str:
    """The JUnit XML document for one run."""
    suites: dict[str, list[Verdict]] = {}
    for verdict in verdicts(coverage, entries, locator, strict=strict):
        suites.setdefault(locator.tag(verdict.operation_id), []).append(verdict)
    unmatched = [e for e in entries if e.get("operationId") is None]

    root = ET.Element("testsuites", name=SUITE_NAME)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    total_seconds = 0.0
    hostname = socket.gethostname()

    def suite(name: str) -> ET.Element:
        element = ET.SubElement(root, "testsuite", name=f"{SUITE_NAME}: {name}", hostname=hostname)
        if timestamp:
            element.set("timestamp", timestamp)
        return element

    def close(element: ET.Element, outcomes: list[str], time: float) -> None:
        nonlocal total_seconds
        counts = {
            "tests": len(outcomes),
            "failures": outcomes.count("failed"),
            "skipped": outcomes.count("skipped"),
        }
        for key, value in counts.items():
            element.set(key, str(value))
            totals[key] += value
        element.set("errors", "0")
        element.set("time", _seconds(time))
        total_seconds += time

    for tag, items in suites.items():
        element = suite(tag)
        outcomes = [_case(element, f"flowdock.{tag}", v) for v in items]
        close(element, outcomes, sum(v.seconds for v in items))
    if unmatched or coverage.get("unmatched_requests"):
        element = suite("unmatched requests")
        violating = [e for e in unmatched if e.get("violations")]
        case = ET.SubElement(
            element,
            "testcase",
            name="requests that matched no operation of the contract",
            classname="flowdock.unmatched",
            time=_seconds(sum(float(e.get("duration_ms") or 0) for e in unmatched) / 1000),
        )
        outcome = "passed"
        if violating:
            failure = ET.SubElement(
                case, "failure", type="contract violation", message=f"{len(violating)} request(s) refused"
            )
            failure.text = "\n\n".join(f.text() for e in violating for f in findings(e, locator))
            outcome = "failed"
        listed = "\n".join(describe_request(e) for e in unmatched)
        ET.SubElement(case, "system-out").text = (
            f"{coverage.get('unmatched_requests', len(unmatched))} request(s) matched no operation"
            + (f":\n{listed}" if listed else "")
        )
        close(element, [outcome], float(case.get("time") or 0))

    for key, value in totals.items():
        if key != "skipped":  # testsuites has no skipped attribute in the schema
            root.set(key, str(value))
    root.set("errors", "0")
    root.set("time", _seconds(seconds if seconds is not None else total_seconds))
    return document(root)


def document(root: ET.Element) -> str:
    """The XML text of a finished ``<testsuites>``: every character XML cannot carry escaped."""
    for element in root.iter():
        if element.text:
            element.text = _xml_safe(element.text)
        for name, text in list(element.attrib.items()):
            element.set(name, _xml_safe(text))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
