"""The log formatters (mock_server/logs.py): the time rendered once per second stays each record's own."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from collections.abc import Iterator

import pytest

from mock_server.logs import JsonFormatter, TextFormatter, configure_logging


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, its handlers and level put back after the test (``configure_logging``
    replaces them)."""
    logger = logging.getLogger()
    handlers, level = logger.handlers[:], logger.level
    try:
        yield logger
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)


def record(created: float, msg: str = "hello") -> logging.LogRecord:
    r = logging.LogRecord("flowdock_mock.access", logging.INFO, __file__, 1, msg, (), None)
    r.created = created
    r.msecs = (created - int(created)) * 1000
    return r


def test_json_time_follows_each_record_across_seconds() -> None:
    formatter = JsonFormatter()
    times = [1_700_000_000.125, 1_700_000_000.75, 1_700_000_001.0, 1_700_000_061.5]
    lines = [json.loads(formatter.format(record(t))) for t in times]
    assert [line["time"] for line in lines] == [
        "2023-11-14T22:13:20.125Z",
        "2023-11-14T22:13:20.750Z",
        "2023-11-14T22:13:21.000Z",
        "2023-11-14T22:14:21.500Z",
    ]
    assert set(lines[0]) == {"time", "level", "logger", "message"}


def test_text_time_is_the_stock_formatters() -> None:
    ours, stock = TextFormatter(), logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for created in (time.time(), time.time() + 1.5, 1_700_000_000.25):
        assert ours.format(record(created)) == stock.format(record(created))


def test_the_handler_writes_to_the_stderr_of_the_moment(
    monkeypatch: pytest.MonkeyPatch, root: logging.Logger
) -> None:
    # A server inside pytest outlives the stderr it was configured with (capture swaps and closes
    # it per test): records go to the current one, and a closed earlier one raises nothing.
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("text", "info")
    logging.getLogger("flowdock_mock.test").info("one")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    monkeypatch.setattr(logging, "raiseExceptions", True)
    logging.getLogger("flowdock_mock.test").info("two")
    assert second.getvalue().rstrip().endswith("INFO flowdock_mock.test: two")


def test_json_line_is_one_line_of_json_whatever_the_path_holds() -> None:
    r = record(1_700_000_000.5, "GET %s 200")
    r.args = ("/flows/caf\u00e9/\u2603",)
    r.http = {"method": "GET", "path": "/flows/caf\u00e9/\u2603", "status": 200, "duration_ms": 1.5}
    line = JsonFormatter().format(r)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "GET /flows/caf\u00e9/\u2603 200"
    assert parsed["path"] == "/flows/caf\u00e9/\u2603" and parsed["duration_ms"] == 1.5


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_an_access_line_written_directly_is_the_line_its_record_makes(
    monkeypatch: pytest.MonkeyPatch, root: logging.Logger, log_format: str
) -> None:
    from mock_server.middleware import journal

    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.987)
    configure_logging(log_format, "info")
    journal._log_request(logging.INFO, "GET", "/flows/a\nb", "listFlows", 200, 0.00125, 2)
    direct = out.getvalue()
    out.truncate(0)
    out.seek(0)
    journal.access_log.addFilter(lambda record: True)  # a filter on the way: the record's way
    try:
        journal._log_request(logging.INFO, "GET", "/flows/a\nb", "listFlows", 200, 0.00125, 2)
    finally:
        journal.access_log.filters.clear()
    by_record = out.getvalue()
    assert direct == by_record and direct.count("\n") == 1
    assert "2023-11-14" in direct and "200 listFlows 1.2ms" in direct


def test_an_access_line_goes_the_usual_way_when_another_handler_listens(
    monkeypatch: pytest.MonkeyPatch, root: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    from mock_server.middleware import journal

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    configure_logging("json", "info")
    root.addHandler(caplog.handler)
    journal._log_request(logging.INFO, "POST", "/flows", "createFlow", 201, 0.002, 1)
    [record] = [r for r in caplog.records if r.name == "flowdock_mock.access"]
    assert record.getMessage() == "POST /flows 201 createFlow 2.0ms"
    assert record.http["operationId"] == "createFlow"  # type: ignore[attr-defined]


class _Writes(io.StringIO):
    """A stderr that remembers each ``write``: one system call each on a real one."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_access_lines_of_one_turn_of_the_loop_are_written_together_and_in_order(
    monkeypatch: pytest.MonkeyPatch, root: logging.Logger
) -> None:
    import asyncio

    from mock_server.middleware import journal

    out = _Writes()
    monkeypatch.setattr(sys, "stderr", out)
    seen: dict[str, list[str]] = {}

    async def one_turn() -> None:
        for n in range(3):
            journal._log_request(logging.INFO, "GET", f"/flows/{n}", "listFlows", 200, 0.001, 1)
        seen["in the turn"] = list(out.writes)
        # A record of another kind in the same turn: the gathered lines go out before it.
        logging.getLogger("flowdock_mock.test").warning("after three requests")
        journal._log_request(logging.INFO, "GET", "/flows/3", "listFlows", 200, 0.001, 1)
        seen["after the warning"] = list(out.writes)
        turn_over = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(turn_over.set_result, None)  # after the flush, FIFO
        await turn_over

    configure_logging("text", "info")
    asyncio.run(one_turn())
    outside = len(out.writes)
    journal._log_request(logging.INFO, "GET", "/flows/4", "listFlows", 200, 0.001, 1)
    assert seen["in the turn"] == []
    gathered, warning = seen["after the warning"]
    assert [line.split(" ")[5] for line in gathered.splitlines()] == ["/flows/0", "/flows/1", "/flows/2"]
    assert warning.rstrip().endswith("WARNING flowdock_mock.test: after three requests")
    assert "/flows/3" in out.writes[outside - 1] and out.writes[outside - 1].count("\n") == 1
    assert len(out.writes) == outside + 1 and "/flows/4" in out.writes[-1]  # no loop: at once
    assert [line.split(" ")[5] for line in out.getvalue().splitlines() if "access" in line] == [
        f"/flows/{n}" for n in range(5)
    ]


def test_access_lines_gathered_when_the_loop_stops_are_written_at_the_handlers_flush(
    monkeypatch: pytest.MonkeyPatch, root: logging.Logger
) -> None:
    import asyncio

    from mock_server.middleware import journal

    out = _Writes()
    monkeypatch.setattr(sys, "stderr", out)

    async def last_turn() -> None:
        journal._log_request(logging.INFO, "DELETE", "/flows/acme/main", "deleteFlow", 204, 0.001, 1)
        asyncio.get_running_loop().stop()  # the server stops in the turn that answered

    configure_logging("json", "info")
    loop = asyncio.new_event_loop()
    loop.run_until_complete(last_turn())  # the flush it scheduled never runs: the loop closes
    loop.close()
    assert out.writes == []
    for handler in root.handlers:
        handler.flush()  # what logging.shutdown does at exit
    [line] = out.writes
    assert json.loads(line)["path"] == "/flows/acme/main"
