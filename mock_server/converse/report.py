"""A conversation verdict (what ``POST /_mock/converse`` answers) as people read it: the plain
transcript of a run, and the summary of the failures (the CLI's output, a pytest failure)."""

from __future__ import annotations

import re
from typing import Any


def transcript(run: dict[str, Any]) -> str:
    """One run's transcript: who said what where, then PASSED or the failing step."""
    return "\n".join(run["transcript"]) + "\n"


def failures(verdict: dict[str, Any]) -> str:
    """Every failed run: its name, the failing step, and its transcript indented."""
    out = []
    for run in verdict["runs"]:
        if run["passed"]:
            continue
        out.append(f"{run['name']} ({run['source']}): {run['failure']['message']}")
        out.extend(f"    {line}" for line in run["transcript"])
    return "\n".join(out)


def summary_line(run: dict[str, Any]) -> str:
    if run["passed"]:
        return f"PASS {run['name']} ({run['seconds']:.2f} s)"
    return f"FAIL {run['name']}: {run['failure']['message']}"


def file_name(run: dict[str, Any]) -> str:
    """A file name for the run's transcript: its name, reduced to safe characters."""
    return (re.sub(r"[^A-Za-z0-9._-]+", "-", run["name"]).strip("-") or "conversation")[:120] + ".txt"
