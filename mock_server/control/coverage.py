"""Coverage tag: which Flowdock operations were exercised, as JSON and as an HTML page."""

from __future__ import annotations

from typing import Any

from mock_server.runtime import Runtime
from mock_server.runtime.report import render_report

__all__ = ["clear_coverage", "get_coverage", "get_coverage_report"]


def get_coverage(runtime: Runtime) -> Any:
    return runtime.journal.coverage(), 200


def get_coverage_report(runtime: Runtime) -> Any:
    return render_report(runtime.journal.coverage()), 200, {"Content-Type": "text/html"}


def clear_coverage(runtime: Runtime) -> Any:
    runtime.journal.clear_coverage()
    return None, 204
