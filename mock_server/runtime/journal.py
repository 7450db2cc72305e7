"""The request journal and contract coverage: a bounded ring of entries and per-operation counters.

Every request to a Flowdock path leaves one ``Entry`` in a bounded ring (``deque(maxlen=N)``:
memory stays flat however long the server runs) and bumps the coverage counters of its operation
(one counter per operation and status, so they are bounded by the contract's size). What a client
sent is kept raw and cheap to record; credentials are redacted only when the journal is read
(redaction.py). The journal middleware (mock_server/middleware/journal.py) records the entries.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server.runtime.redaction import Credentials, printable


@dataclass(slots=True)
class Entry:
    """One journaled request, as recorded (raw; ``to_dict`` redacts)."""

    id: int
    time: float
    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    body_size: int
    operation_id: str | None
    status: int
    duration: float
    user_id: int | None
    normalizations: list[str]
    violations: list[str]
    forced: str | None
    response_type: bytes = b""
    """The response's Content-Type (the body itself is not kept: memory stays flat)."""
    response_size: int = 0
    """Bytes of response body sent."""
    webhook: dict[str, Any] | None = None
    """An outgoing webhook delivery (runtime/webhooks.py): its webhook, attempt and event ids."""

    def copy(self) -> Entry:
        """The same entry, to be recorded in another journal (which gives it its own id);
        ``dataclasses.replace`` and ``copy.copy`` take ten times longer on a slotted dataclass."""
        return Entry(*[getattr(self, name) for name in _ENTRY_FIELDS])

    def to_dict(self, credentials: Credentials) -> dict[str, Any]:
        """The entry as /_mock/requests shows it: what the contract marks as a credential redacted."""
        secrets = credentials.path_secrets(self.path)
        raw = {
            "id": self.id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.time))
            + f".{int(self.time % 1 * 1000):03d}Z",
            "method": self.method,
            "path": credentials.redact_path(self.path),
            "query": credentials.query(self.query, secrets),
            "operationId": self.operation_id,
            "status": self.status,
            "duration_ms": round(self.duration * 1000, 3),
            "user_id": self.user_id,
            "headers": credentials.header_values(self.headers, secrets),
            "body": credentials.body(self.body, self.body_size, self.headers, secrets),
            "normalizations": list(self.normalizations),
            "violations": printable(list(self.violations)),
            "forced": self.forced,
            "response": {"content_type": self.response_type.decode("latin-1"), "size": self.response_size},
            **({"webhook": dict(self.webhook)} if self.webhook is not None else {}),
        }
        return credentials.entry(raw, secrets)


_ENTRY_FIELDS = tuple(field.name for field in dataclasses.fields(Entry))


def _by_id(entry: Entry) -> int:
    return entry.id


class Journal:
    """A bounded ring of entries plus per-operation counters; one short lock around each update."""

    def __init__(
        self, size: int, operations: dict[str, tuple[str, str]], credentials: Credentials | None = None
    ) -> None:
        self.size = size
        self.credentials = credentials or Credentials()
        self.operations = operations  # operationId -> (METHOD, path template), in spec order
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.entries: deque[Entry] = deque(maxlen=size)
        self.notes: deque[Entry] = deque(maxlen=size)
        """What the mock did rather than received (outgoing webhook deliveries): a ring of its own,
        so however many there are, they never push a client's request out of ``entries``."""
        self.violating: deque[Entry] = deque(maxlen=size)
        self.calls: dict[str | None, dict[int, int]] = {}
        self.violation_counts: dict[str | None, int] = {}
        self.last_id = 0
        self.listeners: list[Callable[[Entry | None], None]] = []
        """Called after each record with the entry, and with None when the journal is emptied."""

    def record(self, entry: Entry) -> None:
        with self.lock:
            entry.id = self.last_id = next(self.ids)
            self.entries.append(entry)
            statuses = self.calls.get(entry.operation_id)
            if statuses is None:
                statuses = self.calls[entry.operation_id] = {}
            statuses[entry.status] = statuses.get(entry.status, 0) + 1
            if entry.violations:
                self.violating.append(entry)
                self.violation_counts[entry.operation_id] = (
                    self.violation_counts.get(entry.operation_id, 0) + 1
                )
        for listener in self.listeners:
            listener(entry)

    def note(self, entry: Entry) -> None:
        """Keep an entry that is not a request to the mock (an outgoing webhook delivery): in the
        ring of notes and the live feed, not among the requests nor in the coverage counters."""
        with self.lock:
            entry.id = self.last_id = next(self.ids)
            self.notes.append(entry)
        for listener in self.listeners:
            listener(entry)

    def list(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The most recent entries, oldest first."""
        with self.lock:
            entries = list(heapq.merge(self.entries, self.notes, key=_by_id))
        if limit is not None:
            entries = entries[-limit:] if limit else []
        return [e.to_dict(self.credentials) for e in entries]

    def entries_after(self, entry_id: int) -> tuple[Entry, ...]:
        """The entries the ring still holds with an id greater than ``entry_id``, oldest first."""
        with self.lock:
            return tuple(e for e in heapq.merge(self.entries, self.notes, key=_by_id) if e.id > entry_id)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.notes.clear()
        for listener in self.listeners:
            listener(None)

    def clear_coverage(self) -> None:
        with self.lock:
            self.calls.clear()
            self.violating.clear()
            self.violation_counts.clear()

    def coverage(self) -> dict[str, Any]:
        """Which operations were exercised, how often, with which statuses; which requests broke the contract."""
        with self.lock:
            calls = {op: dict(statuses) for op, statuses in self.calls.items()}
            counts = dict(self.violation_counts)
            violating = list(self.violating)
        return coverage_document(
            self.operations, calls, counts, [e.to_dict(self.credentials) for e in violating]
        )


def coverage_document(
    operations: dict[str, tuple[str, str]],
    calls: dict[str | None, dict[int, int]],
    violation_counts: dict[str | None, int],
    violating: list[dict[str, Any]],
) -> dict[str, Any]:
    """The coverage document (``GET /_mock/coverage``) from the counters and the violating entries."""
    rows = []
    for op_id, (method, path) in operations.items():
        statuses = calls.get(op_id, {})
        rows.append(
            {
                "operationId": op_id,
                "method": method,
                "path": path,
                "calls": sum(statuses.values()),
                "statuses": {str(s): n for s, n in sorted(statuses.items())},
                "violations": violation_counts.get(op_id, 0),
            }
        )
    exercised = sum(1 for op in rows if op["calls"])
    unmatched = calls.get(None, {})
    return {
        "operations_total": len(rows),
        "operations_exercised": exercised,
        "percent": round(100 * exercised / len(rows), 1) if rows else 0.0,
        "requests": sum(sum(s.values()) for s in calls.values()),
        "unmatched_requests": sum(unmatched.values()),
        "operations": rows,
        "violations": violating,
    }


def coverage_of(entries: list[dict[str, Any]], operations: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The coverage document of a saved journal (``GET /_mock/requests`` entries), counted as ``Journal`` counts."""
    calls: dict[str | None, dict[int, int]] = {}
    counts: dict[str | None, int] = {}
    for entry in entries:
        op_id = entry.get("operationId")
        statuses = calls.setdefault(op_id, {})
        statuses[int(entry["status"])] = statuses.get(int(entry["status"]), 0) + 1
        if entry.get("violations"):
            counts[op_id] = counts.get(op_id, 0) + 1
    return coverage_document(operations, calls, counts, [e for e in entries if e.get("violations")])
