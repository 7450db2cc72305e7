"""The server's log: one line per record, as JSON or text, at the level the user chose.

What a busy server logs most is the access line, one per request (middleware/journal.py). It
costs nothing when its level is off: the journal stage asks ``isEnabledFor`` before building
anything. When it is on, it costs little: the journal makes the record directly (no search of
the call stack for the caller's file and line, which nobody reads in an access line), records
skip the thread and process lookups no format shows, the formatters below render the time of day
once per second, not once per line, and the JSON line is written by orjson (compact, UTF-8).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson


class _Seconds:
    """``strftime`` of a record's second, computed once per second (records arrive in order)."""

    __slots__ = ("_format", "_gmt", "_second", "_text")

    def __init__(self, fmt: str, *, gmt: bool) -> None:
        self._format = fmt
        self._gmt = gmt
        self._second = -1
        self._text = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            moment = time.gmtime(second) if self._gmt else time.localtime(second)
            self._text = time.strftime(self._format, moment)
            self._second = second
        return self._text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request fields when present."""

    def __init__(self) -> None:
        super().__init__()
        self._seconds = _Seconds("%Y-%m-%dT%H:%M:%S", gmt=True)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": f"{self._seconds(record.created)}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        http = getattr(record, "http", None)
        if http:
            line.update(http)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    """``time level logger: message``, the time of day rendered once per second."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._seconds = _Seconds(self.default_time_format, gmt=False)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt:
            return super().formatTime(record, datefmt)
        return f"{self._seconds(record.created)},{int(record.msecs):03d}"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when it was configured.

    A server run inside another program (the pytest plugin, the test suite) outlives the stderr it
    started with when that program swaps and closes its own (pytest's capture does, per test);
    logging's own last-resort handler resolves the stream the same way.
    """

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(log_format: str, log_level: str) -> None:
    """The serving process's logging: one handler on stderr, the format and level chosen.

    Neither format shows a record's thread or process, so records do not look them up (logging's
    own switches for that, ``logThreads`` and the like): a few µs of every access line.
    """
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level.upper())
    # Connexion narrates its wiring at INFO ("Adding spec json", "Skipping validation"): only
    # worth a line when debugging the mock itself.
    logging.getLogger("connexion").setLevel("DEBUG" if log_level == "debug" else "WARNING")
