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
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a large export becomes objects: each of its full
    collections would walk every object made so far, and the records hold no cycles (a third of
    the loading time of a 200k-message export otherwise)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
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


def decode_records(data: bytes, archive: str, where: str) -> Iterator[Any]:
    """The records of a JSON array, one at a time: each is decoded (the C scanner of the json
    module), then the caller turns it into its record before the next is decoded, so a large
    export's stale snapshots never all exist at once (a third of its memory otherwise).

    ``data`` is dropped once it is text (the generator holds the only reference).
    """
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
    if text[at : at + 1] == "]":
        at += 1
    else:
        while True:
            try:
                record, at = decoder.raw_decode(text, at)
            except ValueError as exc:
                raise ArchiveError(archive, f"is not valid JSON: {exc}", where) from None
            yield record
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
