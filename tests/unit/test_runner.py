"""The pieces of ``flowdock-mock run``/``report`` that need no server: options, settings, journals, statuses."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from mock_server.cli import parse_args
from mock_server.reporting import Outputs
from mock_server.runner import read_journal, report_options, run_command, run_settings
from mock_server.settings import UsageError, settings_from_args


@pytest.fixture(autouse=True)
def no_mock_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FLOWDOCK_MOCK_") or name in ("HOST", "PORT"):
            monkeypatch.delenv(name)


def test_report_options__a_file_flag_beats_the_report_directory(tmp_path: Path) -> None:
    args = parse_args(["run", "--report-dir", str(tmp_path), "--junit", "elsewhere.xml", "--", "true"])

    outputs = report_options(args).outputs

    assert outputs.junit == Path("elsewhere.xml")
    assert outputs.har == tmp_path / "requests.har" and outputs.journal == tmp_path / "journal.json"


def test_report_options__read_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDOCK_MOCK_HAR", "out.har")
    monkeypatch.setenv("FLOWDOCK_MOCK_FAIL_ON_VIOLATION", "yes")
    monkeypatch.setenv("FLOWDOCK_MOCK_MIN_COVERAGE", "42")

    options = report_options(parse_args(["run", "--", "true"]))

    assert options.outputs == Outputs(har=Path("out.har"))
    assert options.fail_on_violation is True and options.min_coverage == 42
    assert (
        report_options(parse_args(["run", "--no-fail-on-violation", "--", "true"])).fail_on_violation is False
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "FLOWDOCK_MOCK_MIN_COVERAGE",
            "lots",
            "FLOWDOCK_MOCK_MIN_COVERAGE='lots': expected an integer from 0 to 100",
        ),
        ("FLOWDOCK_MOCK_MIN_COVERAGE", "101", "expected an integer from 0 to 100"),
        ("FLOWDOCK_MOCK_FAIL_ON_VIOLATION", "maybe", "expected 1/true/yes/on or 0/false/no/off"),
    ],
)
def test_report_options__a_bad_value_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        report_options(parse_args(["run", "--", "true"]))


def test_run_settings__a_free_local_port_unless_the_mocks_own_options_say_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "8080")  # a CI job's own PORT
    monkeypatch.setenv("HOST", "0.0.0.0")
    args = parse_args(["run", "--", "true"])
    settings = run_settings(args, settings_from_args(args))
    assert (settings.host, settings.port, settings.journal_size, settings.log_level) == (
        "127.0.0.1",
        0,
        10_000,
        "warning",
    )

    monkeypatch.setenv("FLOWDOCK_MOCK_PORT", "9123")
    args = parse_args(["run", "--journal-size", "5", "--", "true"])
    settings = run_settings(args, settings_from_args(args))
    assert (settings.port, settings.journal_size) == (9123, 5)


def test_parse_args__everything_after_the_double_dash_is_the_command() -> None:
    args = parse_args(["run", "--strict", "--", "pytest", "--strict", "-x"])

    assert args.strict is True and args.argv == ["--", "pytest", "--strict", "-x"]


def test_read_journal__takes_the_control_api_document_or_its_list(tmp_path: Path) -> None:
    entry = {"id": 1, "time": "2026-01-01T00:00:00.000Z", "method": "GET", "path": "/flows", "status": 200}
    saved = tmp_path / "journal.json"
    saved.write_text(json.dumps([entry]))

    assert read_journal(str(saved)) == {"size": 1, "requests": [entry]}

    saved.write_text("not json")
    with pytest.raises(UsageError, match="not JSON"):
        read_journal(str(saved))
    with pytest.raises(UsageError, match="No such file"):
        read_journal(str(tmp_path / "missing.json"))


def test_run_command__reports_statuses_as_a_shell_does(tmp_path: Path) -> None:
    env = dict(os.environ)

    assert run_command([sys.executable, "-c", "raise SystemExit(5)"], env) == 5
    assert run_command(["sh", "-c", "kill -TERM $$"], env) == 128 + 15
    assert run_command([str(tmp_path / "nothing-here")], env) == 127
    data = tmp_path / "data.txt"
    data.write_text("text")
    assert run_command([str(data)], env) == 126


def test_read_journal__a_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {"id": 7, "time": "2026-01-01T00:00:00.000Z", "method": "GET", "path": "/flows", "status": 200}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"size": 50, "requests": [entry]})))

    assert read_journal("-") == {"size": 50, "requests": [entry]}


def test_the_server_runs_on_asyncios_own_event_loop() -> None:
    # uvicorn picks uvloop when it is installed (connexion[uvicorn] installs it); the mock asks for
    # asyncio's loop, which serves 32 busy connections fairly (mock_server/launch.py EVENT_LOOP).
    import asyncio

    from mock_server.launch import make_server

    loop = make_server(object(), "warning", lambda: None).config.get_loop_factory()()
    try:
        assert type(loop).__module__.startswith("asyncio."), type(loop)
        assert isinstance(loop, asyncio.BaseEventLoop)
    finally:
        loop.close()
