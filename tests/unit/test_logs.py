"""The log formatters (mock_server/logs.py): the time rendered once per second stays each record's own."""

from __future__ import annotations

import json
import logging
import time

from mock_server.logs import JsonFormatter, TextFormatter


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
