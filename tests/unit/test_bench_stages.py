"""bench/stages.py (``make stages``): every stage timed, served and in-process, and nothing left patched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
STAGES_MET = ("journal", "input guard", "normalise", "route", "authenticate", "validate request", "handler")


@pytest.fixture
def stages(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(BENCH))
    import stages as module  # bench/stages.py, which imports bench/harness.py beside it

    return module


def test_in_process_times_each_stage_and_leaves_nothing_patched(stages: Any) -> None:
    from mock_server.binding.application import MockApp
    from mock_server.middleware.pipeline import Pipeline

    before = (Pipeline.__init__, MockApp.__call__)
    timings = stages.in_process("GET", "/flows", None, 30, "warning")
    assert (Pipeline.__init__, MockApp.__call__) == before
    assert timings.requests == 30
    per_request = timings.per_request(0.0)
    assert all(per_request[name] > 0 for name in STAGES_MET), per_request
    assert per_request[stages.APP] > sum(per_request[name] for name in STAGES_MET) * 0.9
    rows = [
        line.split(" | ")[0].removeprefix("| ")
        for line in stages.table(per_request, per_request, None).splitlines()[2:]
    ]
    assert [name for name in rows if name in STAGES_MET] == list(STAGES_MET)  # the order a request meets them
    assert rows[-2:] == [stages.SEND, stages.APP]


def test_the_served_counts_start_afresh_and_are_written_on_request(stages: Any, tmp_path: Path) -> None:
    port, out = stages.free_port(), tmp_path / "counts.json"
    argv = [
        sys.executable,
        str(BENCH / "stages.py"),
        "--serve",
        str(port),
        str(out),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(
        ["timeout", "--signal=KILL", "60", *argv], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:  # the banner is written once the server accepts; EOF if it died
            if line.startswith("flowdock-mock serving on"):
                break
        else:
            pytest.fail("the instrumented server never served")
        url = f"http://127.0.0.1:{port}/flows"
        auth = {"Authorization": stages.AUTH}
        assert httpx.get(url, headers=auth, timeout=5, trust_env=False).status_code == 200
        pid = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        os.kill(pid, signal.SIGUSR1)  # afresh: the request above is not counted
        for _ in range(5):
            assert httpx.get(url, headers=auth, timeout=5, trust_env=False).status_code == 200
        os.kill(pid, signal.SIGUSR2)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()
    counts = json.loads(out.read_text())
    assert counts["requests"] == 5
    assert all(counts["cpu"][name] > 0 for name in (*STAGES_MET, stages.SEND, stages.APP))
