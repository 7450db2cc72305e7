"""Reports of a client's test run for CI systems, and the gates that turn them into an exit status.

``flowdock-mock run`` (mock_server/runner.py) renders them from the live journal when its command
ends; ``flowdock-mock report JOURNAL`` from a saved ``GET /_mock/requests`` document. Each is
optional:

- JUnit XML, one test case per contract operation (``junit.py``), failures placed in the contract
  by JSON Pointer (``schema_path.py``);
- the coverage document as JSON and as the HTML page, exactly what ``/_mock/coverage`` and
  ``/_mock/report`` serve;
- the journal as HAR 1.2 (``har.py``), credentials redacted as in the journal;
- the journal itself, as ``GET /_mock/requests`` returns it, for ``flowdock-mock report`` later.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mock_server.reporting.har import write_har
from mock_server.reporting.junit import describe_request, failing_requests, findings, render_junit
from mock_server.reporting.schema_path import Locator

__all__ = ["Locator", "Outputs", "RunData", "gate_failures", "write_reports"]

DIRECTORY_NAMES = {
    "junit": "junit.xml",
    "coverage_json": "coverage.json",
    "coverage_html": "coverage.html",
    "har": "requests.har",
    "journal": "journal.json",
}
"""File names of the reports written into ``--report-dir``."""


@dataclass
class Outputs:
    """Where to write each report (None: not written)."""

    junit: Path | None = None
    coverage_json: Path | None = None
    coverage_html: Path | None = None
    har: Path | None = None
    journal: Path | None = None

    @classmethod
    def in_directory(cls, directory: Path) -> Outputs:
        return cls(**{name: directory / file for name, file in DIRECTORY_NAMES.items()})

    def over(self, base: Outputs) -> Outputs:
        """These paths, with ``base``'s where these have none."""
        return Outputs(**{f.name: getattr(self, f.name) or getattr(base, f.name) for f in fields(self)})


@dataclass
class RunData:
    """What a run left behind: the coverage document and the journal (``/_mock`` shapes)."""

    coverage: dict[str, Any]
    entries: list[dict[str, Any]]
    journal_size: int
    strict: bool = False
    base_url: str | None = None
    """The mock's base URL (HAR URLs); None: each request's ``Host`` header."""
    started: float = field(default_factory=time.time)
    seconds: float | None = None


def _timestamp(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))


def _har_comment(data: RunData) -> str:
    text = f"flowdock-mock request journal ({len(data.entries)} requests, credentials redacted)"
    first = data.entries[0]["id"] if data.entries else 1
    if int(first) > 1:
        text += f"; the {int(first) - 1} earlier requests are no longer in the journal (--journal-size)"
    return text


def write_reports(data: RunData, outputs: Outputs, locator: Locator) -> list[Path]:
    """Write every report ``outputs`` names; returns the files written."""
    from mock_server.runtime.report import render_report

    written: list[Path] = []

    def write(path: Path | None, text: str) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    write(
        outputs.junit,
        render_junit(
            data.coverage,
            data.entries,
            locator,
            strict=data.strict,
            timestamp=_timestamp(data.started),
            seconds=data.seconds,
        ),
    )
    write(outputs.coverage_json, json.dumps(data.coverage, indent=2) + "\n")
    write(outputs.coverage_html, render_report(data.coverage, _saved_links(outputs)))
    write(outputs.journal, json.dumps({"size": data.journal_size, "requests": data.entries}, indent=2) + "\n")
    if outputs.har is not None:
        outputs.har.parent.mkdir(parents=True, exist_ok=True)
        with outputs.har.open("w", encoding="utf-8") as fh:
            write_har(data.entries, data.base_url, fh, comment=_har_comment(data))
        written.append(outputs.har)
    return written


def _saved_links(outputs: Outputs) -> dict[str, tuple[str, str]]:
    """The saved coverage.html's links: the JSON reports written with it, relative to it (a page
    opened from disk or a CI artifact has no server to ask)."""
    if outputs.coverage_html is None:
        return {}
    here = outputs.coverage_html.parent
    links = {}
    for label, path in (("JSON", outputs.coverage_json), ("journal", outputs.journal)):
        if path is not None:
            href = Path(os.path.relpath(path, here)).as_posix()
            links[label] = (urllib.parse.quote(href), path.name)
    return links


def gate_failures(
    data: RunData, locator: Locator, *, fail_on_violation: bool, min_coverage: float | None
) -> list[str]:
    """One line per failed gate (empty: every gate passed)."""
    failed = []
    if fail_on_violation:
        bad = failing_requests(data.coverage, locator, strict=data.strict)
        if bad:
            first = next(f for f in findings(bad[0], locator) if data.strict or not f.legacy_rule)
            failed.append(
                f"--fail-on-violation: {len(bad)} request(s) violated the contract; first: "
                f"{describe_request(bad[0])}: {first.message} (at {first.schema_path})"
            )
    if min_coverage is not None:
        total = data.coverage["operations_total"]
        exercised = data.coverage["operations_exercised"]
        if total and 100 * exercised / total < min_coverage:
            failed.append(
                f"--min-coverage {min_coverage:g}: {data.coverage['percent']}% of the contract's "
                f"operations exercised ({exercised} of {total})"
            )
    return failed
