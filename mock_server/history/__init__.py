"""Your own history: Flowdock flow exports loaded into a world, and a world's flow written as one.

- ``archive.py``: opening an export (zip or folder) safely, finding messages.json and the files;
- ``messages.py``: its records checked and turned into the world document's messages, threads
  rebuilt from the messages, the users they name, the files they reference;
- ``merge.py``: the exports added to a world document (organizations, users, flows);
- ``export.py``: the reverse, a flow of a store written in the same format;
- ``synthetic.py``: made-up exports in the exact format, with every quirk (tests, benchmark).

``load_history`` is the one entry point the CLI and the control API use: every archive is read
and checked, and the world document is only returned when all of them are fine, so a world holds
all of its exports or none (docs/history.md).
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson

from mock_server.history.archive import Archive, ArchiveError, Limits, slug_of
from mock_server.history.merge import (
    DEFAULT_ORGANIZATION,
    Loaded,
    Placement,
    check_slug,
    read_users_file,
    with_history,
)
from mock_server.history.messages import HistoryFlow, read_flow

__all__ = [
    "DEFAULT_ORGANIZATION",
    "ArchiveError",
    "HistorySource",
    "Limits",
    "Loaded",
    "gc_paused",
    "load_history",
    "parse_source",
    "read_archive",
    "read_users",
]

ENV = "FLOWDOCK_MOCK_HISTORY"
_PLACEMENT = re.compile(r"^(?:(?P<org>[^/=\s]+)/)?(?P<flow>[^/=\s]+)=(?P<path>.+)$")


@dataclass(frozen=True, slots=True)
class HistorySource:
    """One ``--history`` value: an archive (path or bytes) and where it goes (None: from its name)."""

    archive: str | bytes
    organization: str | None = None
    flow: str | None = None
    name: str | None = None
    """What error messages call an archive given as bytes."""

    def placement(self) -> Placement:
        label = self.label
        flow = self.flow or slug_of(self.name or str(self.archive))
        return Placement(
            check_slug(self.organization or DEFAULT_ORGANIZATION, "organization", label),
            check_slug(flow, "flow", label),
        )

    @property
    def label(self) -> str:
        return self.name or (os.path.basename(self.archive) if isinstance(self.archive, str) else "archive")


@contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """The cyclic garbage collector off while a large export becomes objects: each of its full
    collections would walk every object made so far, and the records hold no cycles (a third of
    the loading time of a 200k-message export otherwise). Nested, only the outermost turns it on.

    ``freeze``: what exists when it is turned on again is frozen first (``gc.freeze``), for what
    lives as long as the process (the world ``serve`` starts with): otherwise the first
    collections after it walk every object made meanwhile, a second of CPU for a large export."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if freeze:
                gc.freeze()
            gc.enable()


def parse_source(text: str) -> HistorySource:
    """``ORG/FLOW=PATH``, ``FLOW=PATH`` or ``PATH`` (the flow then comes from the archive's name)."""
    m = _PLACEMENT.match(text)
    if m is not None and not os.path.exists(text):
        return HistorySource(m.group("path"), m.group("org"), m.group("flow"))
    return HistorySource(text)


def decode_json(data: bytes, archive: str, where: str) -> Any:
    """JSON text as Python data; a clear ``ArchiveError`` when it is not UTF-8 or not JSON."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise ArchiveError(archive, f"is not UTF-8 text (byte {bad.start})", where) from None
        raise ArchiveError(archive, f"is not valid JSON: {exc}", where) from None


_SPACE = re.compile(r"[ \t\n\r]*")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


_BOUNDARY = re.compile(rb"\}[ \t\n\r]*,[ \t\n\r]*\{")
"""Where one record may end and the next begin (also inside a record, in a list of objects)."""
CHUNK_BYTES = 1 << 20
"""About how much of messages.json one compiled parse takes (a few thousand records)."""
_SPLIT_TRIES = 8


def decode_records(data: bytes, archive: str, where: str) -> Iterator[Any]:
    """The records of a JSON array, a slice at a time: each slice of about ``CHUNK_BYTES`` is cut
    where one record ends and the next begins and parsed at once (``_parsed``), and the caller
    turns its records into its own before the next slice is parsed, so a large export's stale
    snapshots never all exist at once (a third of its memory otherwise).

    A cut inside a record (a list of objects in it) leaves both sides unbalanced, which no parser
    takes: the slice is then cut at the next candidate. When no cut parses (a broken record, text
    that is not UTF-8, ...), ``_records_one_by_one`` reads the array again, one record at a time,
    and says exactly what is wrong and where.
    """
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    at = _SPACE_B.match(data, start).end()  # type: ignore[union-attr]
    end = len(data.rstrip(b" \t\n\r"))
    if data[at : at + 1] != b"[" or data[end - 1 : end] != b"]":
        yield from _records_one_by_one(data, archive, where, 0)
        return
    at = _SPACE_B.match(data, at + 1).end()  # type: ignore[union-attr]
    end -= 1  # the closing ]
    done = 0
    while at < end:
        stop = end
        records: list[Any] | None = None
        cut = _BOUNDARY.search(data, at + CHUNK_BYTES, end)
        for _ in range(_SPLIT_TRIES):
            stop = cut.start() + 1 if cut is not None else end
            records = _parsed(b"[" + data[at:stop] + b"]")
            if records is not None or cut is None:
                break
            cut = _BOUNDARY.search(data, cut.end() - 1, end)
        if records is None:
            yield from _records_one_by_one(data, archive, where, done)
            return
        done += len(records)
        yield from records
        del records
        at = _SPACE_B.match(data, stop).end() + 1 if stop < end else end  # type: ignore[union-attr]


_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19
"""A run of digits orjson may read as a float (an integer beyond 64 bits), once every digit is a
0 (``_DIGITS``: a translation and a substring search, where a regular expression took a second
for 130 MB); the json module keeps such an integer an integer."""


def _parsed(piece: bytes) -> list[Any] | None:
    """A JSON array's elements, or None when it is not one. orjson reads it, unless it holds what
    orjson reads differently from the json module (an integer beyond 64 bits becomes a float) or
    refuses where the json module reads (a lone surrogate, which the world's checks then name)."""
    if _NINETEEN_DIGITS not in piece.translate(_DIGITS):
        try:
            parsed = orjson.loads(piece)
        except orjson.JSONDecodeError:
            pass
        else:
            return parsed if type(parsed) is list else None
    try:
        parsed = json.loads(piece.decode("utf-8"), parse_constant=_not_json)
    except ValueError:
        return None
    return parsed if type(parsed) is list else None


_SPACE_B = re.compile(rb"[ \t\n\r]*")


def _records_one_by_one(data: bytes, archive: str, where: str, skip: int) -> Iterator[Any]:
    """The records of a JSON array decoded one at a time by the json module's scanner, which
    names the first problem exactly; the first ``skip`` records were already handed out."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as bad:
        raise ArchiveError(archive, f"is not UTF-8 text (byte {bad.start + start})", where) from None
    del data
    decoder = json.JSONDecoder(parse_constant=_not_json)
    at = _SPACE.match(text).end()  # type: ignore[union-attr]
    if text[at : at + 1] != "[":
        parsed = decode_json(text.encode(), archive, where)
        raise ArchiveError(archive, f"is not a JSON array but {type(parsed).__name__}", where)
    at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    index = 0
    if text[at : at + 1] == "]":
        at += 1
    else:
        while True:
            try:
                record, at = decoder.raw_decode(text, at)
            except ValueError as exc:
                raise ArchiveError(archive, f"is not valid JSON: {exc}", where) from None
            if index >= skip:
                yield record
            index += 1
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            if text[at : at + 1] == "]":
                at += 1
                break
            if text[at : at + 1] != ",":
                raise ArchiveError(archive, f"is not valid JSON: expected , or ] at character {at}", where)
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    if _SPACE.match(text, at).end() != len(text):  # type: ignore[union-attr]
        raise ArchiveError(archive, f"is not valid JSON: extra data at character {at}", where)


def read_archive(source: HistorySource, limits: Limits | None = None) -> HistoryFlow:
    """One export, opened, read and checked (``ArchiveError`` naming what is wrong)."""
    with Archive(source.archive, limits, name=source.label) as archive:
        entry = archive.messages_entry()
        where = "/".join(entry)
        return read_flow(archive, decode_records(archive.read(entry), archive.name, where))


def read_users(source: str | bytes, name: str | None = None) -> dict[int, dict[str, Any]]:
    """A users file (``GET /organizations/:org/users``'s answer, saved) by user id."""
    label = name or (os.path.basename(source) if isinstance(source, str) else "users")
    if isinstance(source, str):
        try:
            with open(source, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise ArchiveError(label, exc.strerror or str(exc)) from None
    else:
        data = source
    return read_users_file(decode_json(data, label, "users file"), label)


def load_history(
    doc: dict[str, Any],
    sources: list[HistorySource],
    users: dict[int, dict[str, Any]] | None = None,
    limits: Limits | None = None,
) -> tuple[dict[str, Any], list[Loaded]]:
    """``doc`` with every archive of ``sources`` as a flow, and what each became; nothing is
    returned unless every archive was read whole (``ArchiveError`` for the first that was not)."""
    flows = [(source.placement(), read_archive(source, limits)) for source in sources]
    placements = [p for p, _ in flows]
    for i, placement in enumerate(placements):
        if placement in placements[:i]:
            raise ArchiveError(
                flows[i][1].archive, f"is the second archive for {placement.organization}/{placement.flow}"
            )
    return with_history(doc, flows, users)
