"""Conversation verdicts (``POST /_mock/converse`` answers) as JUnit XML, with the conventions of
junit.py: one ``<testsuite>`` per convo file, one ``<testcase>`` per run (a run per utterance
variant), the failing step as the ``<failure>`` message and the run's transcript as its text
(``<system-out>`` for a run that passed); characters XML cannot carry written as ``\\uXXXX``."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from typing import Any

from mock_server.reporting.junit import _seconds, document

SUITE_NAME = "flowdock-mock conversations"


def render_conversations_junit(
    verdicts: list[tuple[str, dict[str, Any]]], *, timestamp: str | None = None
) -> str:
    """``verdicts``: (convo file, its verdict) in the order played."""
    root = ET.Element("testsuites", name=SUITE_NAME)
    totals: dict[str, int] = {"tests": 0, "failures": 0}
    total_seconds = 0.0
    hostname = socket.gethostname()
    for source, verdict in verdicts:
        suite = ET.SubElement(root, "testsuite", name=f"{SUITE_NAME}: {source}", hostname=hostname)
        if timestamp:
            suite.set("timestamp", timestamp)
        runs = verdict["runs"]
        seconds = sum(float(run["seconds"]) for run in runs)
        failed = 0
        classname = "conversations." + source.rsplit("/", 1)[-1].removesuffix(".txt").removesuffix(".convo")
        for run in runs:
            case = ET.SubElement(
                suite, "testcase", name=run["name"], classname=classname, time=_seconds(float(run["seconds"]))
            )
            text = "\n".join(run["transcript"])
            if run["passed"]:
                ET.SubElement(case, "system-out").text = text
            else:
                failed += 1
                failure = ET.SubElement(
                    case, "failure", type="conversation failed", message=run["failure"]["message"]
                )
                failure.text = text
        for key, value in (("tests", len(runs)), ("failures", failed), ("errors", 0), ("skipped", 0)):
            suite.set(key, str(value))
        suite.set("time", _seconds(seconds))
        totals["tests"] += len(runs)
        totals["failures"] += failed
        total_seconds += seconds
    for key, count in totals.items():
        root.set(key, str(count))
    root.set("errors", "0")
    root.set("time", _seconds(total_seconds))
    return document(root)
