"""The server's log: one line per record, as JSON or text, at the level the user chose.

What a busy server logs most is the access line, one per request (middleware/journal.py). It
costs nothing when its level is off: the journal stage asks ``isEnabledFor`` before building
anything. When it is on, it costs little: when the handler ``configure_logging`` installed is
the only one listening, the line is written straight through it with no record at all
(``write_access_line``); otherwise the journal makes the record directly (no search of the call
stack for the caller's file and line, which nobody reads in an access line). Records skip the
thread and process lookups no format shows, the formatters below render the time of day once per
second, not once per line, and the JSON line is written by orjson (compact, UTF-8). The access
lines of one turn of the event loop go out in one ``write`` (mock_server/turns.py).
"""

from __future__ import annotations

import logging
import sys
import time
from asyncio import get_running_loop
from typing import Any

import orjson

from mock_server.turns import TurnEnd


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
        line = self._fields(record.created, record.levelname, record.name, record.getMessage())
        http = getattr(record, "http", None)
        if http:
            line.update(http)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()

    def line(self, created: float, level: str, name: str, message: str, http: dict[str, Any]) -> str:
        """What ``format`` makes of a record of these, with no exception (``write_access_line``)."""
        line = self._fields(created, level, name, message)
        line.update(http)
        return orjson.dumps(line).decode()

    def _fields(self, created: float, level: str, name: str, message: str) -> dict[str, Any]:
        return {
            "time": f"{self._seconds(created)}.{_millis(created):03d}Z",
            "level": level.lower(),
            "logger": name,
            "message": message,
        }


class TextFormatter(logging.Formatter):
    """``time level logger: message``, the time of day rendered once per second."""

    FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

    def __init__(self) -> None:
        super().__init__(self.FORMAT)
        self._seconds = _Seconds(self.default_time_format, gmt=False)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt:
            return super().formatTime(record, datefmt)
        return f"{self._seconds(record.created)},{int(record.msecs):03d}"

    def line(self, created: float, level: str, name: str, message: str, http: dict[str, Any]) -> str:
        """What ``format`` makes of a record of these, with no exception (``write_access_line``):
        the same ``FORMAT``, the same time as ``formatTime``."""
        asctime = f"{self._seconds(created)},{_millis(created):03d}"
        return self.FORMAT % {"asctime": asctime, "levelname": level, "name": name, "message": message}


def _millis(created: float) -> int:
    """A record's ``msecs``, as ``LogRecord`` computes it from its ``created``."""
    return int((created - int(created)) * 1000)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when it was configured.

    A server run inside another program (the pytest plugin, the test suite) outlives the stderr it
    started with when that program swaps and closes its own (pytest's capture does, per test);
    logging's own last-resort handler resolves the stream the same way.

    Access lines written inside the event loop (``write_soon``) are gathered and written together
    at the end of the loop's turn (mock_server/turns.py): a server answering many requests in one
    turn makes one ``write`` system call for their lines, not one each. Every other record,
    ``flush`` and ``close`` write the gathered lines first, so the log keeps its order and nothing
    gathered is left behind at a normal exit (``logging.shutdown`` flushes every handler).
    """

    def __init__(self) -> None:
        super().__init__()
        self._gathered: list[str] = []

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass

    def write_soon(self, text: str) -> None:
        """``text`` (a whole line) written at the end of this turn of the running loop, with the
        lines of the turn's other requests; at once when no loop runs in this thread."""
        try:
            loop = get_running_loop()
        except RuntimeError:
            loop = None
        self.acquire()
        try:
            if loop is None:
                self._write_gathered()
                self.stream.write(text)
                super().flush()
                return
            self._gathered.append(text)
            if len(self._gathered) == 1:
                TurnEnd.for_loop(loop).soon(self.flush)
        finally:
            self.release()

    def _write_gathered(self) -> None:
        """Called with the handler's lock held."""
        if self._gathered:
            text = "".join(self._gathered)
            self._gathered.clear()
            self.stream.write(text)

    def flush(self) -> None:
        self.acquire()
        try:
            self._write_gathered()
        except Exception:  # noqa: BLE001 (a closed stderr: as the stock handler, report and go on)
            self._gathered.clear()
            self.handleError(logging.makeLogRecord({"msg": "access lines"}))
        finally:
            self.release()
        super().flush()

    def emit(self, record: logging.LogRecord) -> None:
        if self._gathered:
            self.flush()
        super().emit(record)


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
    _CONFIGURED[:] = [handler]
    root.setLevel(log_level.upper())
    # Connexion narrates its wiring at INFO ("Adding spec json", "Skipping validation"): only
    # worth a line when debugging the mock itself.
    logging.getLogger("connexion").setLevel("DEBUG" if log_level == "debug" else "WARNING")


_CONFIGURED: list[_StderrHandler] = []
"""The handler ``configure_logging`` put on the root logger, the last time it ran."""


def write_access_line(logger: logging.Logger, level: int, message: str, http: dict[str, Any]) -> bool:
    """Write an access line straight through the handler ``configure_logging`` installed, when
    that handler is the only one the line would reach; False otherwise (the caller then makes
    a record and hands it to ``logger``, as any other line).

    What the handler would write is written: its formatter's text (``line``: the same fields,
    time and escaping as ``format``), with the other access lines of the loop's turn
    (``_StderrHandler.write_soon``). What is skipped is the rest of a record's way, which a served
    request pays for every time: the ``LogRecord`` (twenty-odd attributes), the walk of the loggers
    and their filters, ``getMessage``. A test's or a program's own handler or filter anywhere on
    the way (pytest's ``caplog``, a ``logging`` configuration) sends the line the usual way again.
    """
    if not _CONFIGURED:
        return False
    handler = _CONFIGURED[0]
    node: logging.Logger | None = logger
    while node is not None:
        if node.disabled or node.filters:
            return False
        if node.parent is None:  # the root
            if node.handlers != _CONFIGURED:
                return False
        elif node.handlers:
            return False
        if not node.propagate:
            return False
        node = node.parent
    if handler.filters or level < handler.level:
        return False
    formatter = handler.formatter
    if not isinstance(formatter, JsonFormatter | TextFormatter):
        return False
    text = formatter.line(time.time(), logging.getLevelName(level), logger.name, message, http)
    try:
        handler.write_soon(text + handler.terminator)
    except Exception:  # noqa: BLE001 (the usual way reports it: handleError)
        return False
    return True
