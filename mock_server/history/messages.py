"""``messages.json`` -> the records of a world document: messages, rebuilt threads, files, users.

Each record of the export is checked on its own (an ``ArchiveError`` names the archive, the
record's index and its id) and copied into the world document's message shape: its own id,
event, sent, edited, tags, reactions, attachments, uuid (None where missing), app and thread id.
What the export holds but the mock derives is dropped: the per-message ``thread`` snapshot (stale
in real exports), ``created_at``, ``edited_at``. Threads are rebuilt from every message sharing a
``thread_id`` (docs/history.md says how); the users are every id a message, a mention tag or a
reaction names.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from mock_server.history.archive import FILE_PATH, Archive, ArchiveError
from mock_server.store.files import Thumbnail
from mock_server.store.message_model import THREAD_TITLE_LENGTH, counter_of

INT64_MAX = 2**63 - 1
USER_TAGS = (":user:", ":unread:", ":highlight:")
"""Tags that name a user by id (mentions, unread mentions, highlights)."""


@dataclass(slots=True)
class StoredBytes:
    """A file of the export found in the archive: where its API path points and its bytes, and
    its thumbnail's name and bytes when a message names one and the archive holds it."""

    files_id: int
    token: str
    file_name: str
    content_type: str
    data: bytes
    thumbnail: Thumbnail | None = None


@dataclass
class HistoryFlow:
    """One export, read and checked: what a world document needs to hold it as a flow."""

    archive: str
    flow_id: str | None
    messages: list[dict[str, Any]]
    threads: list[dict[str, Any]]
    users: set[int]
    files: list[StoredBytes] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    files_ids: list[int] = field(default_factory=list)


def _user_id(value: Any, archive: str, where: str, name: str) -> int:
    if value is None:
        return 0
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or int(text) > INT64_MAX:
        raise ArchiveError(archive, f"{name} must be a user id (digits), not {value!r}", where)
    return int(text)


def _integer(record: dict[str, Any], key: str, archive: str, where: str, *, required: bool) -> int | None:
    value = record.get(key)
    if value is None:
        if required:
            raise ArchiveError(archive, f"has no {key}", where)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise ArchiveError(archive, f"{key} must be a non-negative 64-bit integer, not {value!r}", where)
    return value


def _string(record: dict[str, Any], key: str, archive: str, where: str) -> str | None:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise ArchiveError(archive, f"{key} must be a string or null, not {value!r}", where)
    return value


def _reactions(value: Any, archive: str, where: str) -> dict[str, list[str]] | None:
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise ArchiveError(archive, "emojiReactions must be an object (emoji -> user ids)", where)
    out: dict[str, list[str]] = {}
    for emoji, users in value.items():
        if not isinstance(users, list):
            raise ArchiveError(archive, f"emojiReactions.{emoji} must be a list of user ids", where)
        out[emoji] = [str(_user_id(u, archive, where, f"emojiReactions.{emoji}")) for u in users]
    return out


_MESSAGE_KEYS = ("external_user_name", "title", "body")
_KEPT = frozenset(
    (
        *(
            "id",
            "event",
            "content",
            "user",
            "sent",
            "tags",
            "uuid",
            "app",
            "thread_id",
            "attachments",
            "edited",
        ),
        *_MESSAGE_KEYS,
    )
)
"""What the world document keeps of a record (besides ``flow``, set later, and ``reactions``)."""


def message_record(raw: Any, index: int, archive: str) -> dict[str, Any]:
    """One record of messages.json as a world document's message (``flow`` still None).

    The common record takes the fast path: a few type checks inline; anything unusual goes
    through ``_checked_record``, which says exactly what is wrong.
    """
    get = raw.get if type(raw) is dict else None
    if get is not None:
        message_id, event, sent, user = get("id"), get("event"), get("sent"), get("user")
        tags, attachments, edited = get("tags"), get("attachments"), get("edited")
        uuid, app, thread_id, reactions = get("uuid"), get("app"), get("thread_id"), get("emojiReactions")
        if (
            type(message_id) is int
            and 0 < message_id <= INT64_MAX
            and type(event) is str
            and event
            and type(sent) is int
            and 0 <= sent <= INT64_MAX
            and type(user) is str
            and user.isdigit()
            and user.isascii()
            and len(user) < 19
            and type(tags) is list
            and type(attachments) is list
            and not attachments
            and (edited is None or (type(edited) is int and 0 <= edited <= INT64_MAX))
            and (uuid is None or type(uuid) is str)
            and (app is None or type(app) is str)
            and (thread_id is None or type(thread_id) is str)
            and (reactions is None or reactions == {})
            and get("author") is None
            and all(type(t) is str for t in tags)
        ):
            # A compact record: the keys every message has, the others only when they hold
            # something (the store's defaults fill in the rest). Ten keys fit a dict half the
            # size of the export's record, and the record and its snapshot are freed at once.
            record = {
                "flow": None,
                "id": message_id,
                "event": event,
                "content": get("content"),
                "user": int(user),
                "sent": sent,
                "tags": tags,
                "uuid": uuid or None,
                "app": app,
                "thread_id": sys.intern(thread_id) if thread_id else None,
            }
            if edited is not None:
                record["edited"] = edited
            for key in _MESSAGE_KEYS:
                value = get(key)
                if value is not None:
                    if type(value) is not str:
                        return _checked_record(raw, index, archive)
                    record[key] = value
            return record
    return _checked_record(raw, index, archive)


def _checked_record(raw: Any, index: int, archive: str) -> dict[str, Any]:
    """``message_record`` the long way: every field checked, the first problem raised."""
    where = f"messages.json record {index}"
    if not isinstance(raw, dict):
        raise ArchiveError(archive, f"is not an object but {type(raw).__name__}", where)
    message_id = _integer(raw, "id", archive, where, required=True)
    if message_id == 0:
        raise ArchiveError(archive, "id must be at least 1", where)
    where = f"messages.json record {index} (id {message_id})"
    event = raw.get("event")
    if not isinstance(event, str) or not event:
        raise ArchiveError(archive, "has no event", where)
    tags = raw.get("tags")
    if tags is None:
        tags = []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ArchiveError(archive, "tags must be a list of strings", where)
    attachments = raw.get("attachments")
    if attachments is None:
        attachments = []
    if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
        raise ArchiveError(archive, "attachments must be a list of objects", where)
    author = raw.get("author")
    if author is not None and not isinstance(author, dict):
        raise ArchiveError(archive, "author must be an object or null", where)
    record: dict[str, Any] = {
        "flow": None,
        "id": message_id,
        "event": event,
        "content": raw.get("content"),
        "user": _user_id(raw.get("user"), archive, where, "user"),
        "sent": _integer(raw, "sent", archive, where, required=True),
        "tags": tags,
        "uuid": _string(raw, "uuid", archive, where) or None,
        "app": _string(raw, "app", archive, where),
        "thread_id": sys.intern(_string(raw, "thread_id", archive, where) or "") or None,
    }
    edited = _integer(raw, "edited", archive, where, required=False)
    reactions = _reactions(raw.get("emojiReactions"), archive, where)
    if attachments:
        record["attachments"] = attachments
    if edited is not None:
        record["edited"] = edited
    if reactions:
        record["reactions"] = reactions
    for key in _MESSAGE_KEYS:
        value = _string(raw, key, archive, where)
        if value is not None:
            record[key] = value
    if author is not None:
        record["author"] = author
    return record


def users_named(record: dict[str, Any]) -> Iterable[int]:
    """Every user id one record names beside its author: mention tags and reactions."""
    for tag in record["tags"]:
        if tag.startswith(USER_TAGS):
            rest = tag.rpartition(":")[2]
            if rest.isascii() and rest.isdigit() and len(rest) < 19:
                yield int(rest)
    for users in (record.get("reactions") or {}).values():
        for user in users:
            yield int(user)


def thread_title(record: dict[str, Any]) -> str:
    """A thread's title from its first message, as Flowdock titled a new thread."""
    content = record["content"]
    if record["event"] == "file" and isinstance(content, dict):
        return f"Uploaded File {content.get('file_name') or ''}"[:THREAD_TITLE_LENGTH]
    if isinstance(content, str):
        return content[:THREAD_TITLE_LENGTH]
    if isinstance(content, dict):
        text = content.get("text") or content.get("title") or content.get("subject") or ""
        return str(text)[:THREAD_TITLE_LENGTH]
    return str(record.get("title") or "")[:THREAD_TITLE_LENGTH]


def rebuild_threads(flow_id: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every thread of the flow, from the messages (in id order) sharing its ``thread_id``: the
    title and ``initial_message`` of its first message, its first and last ``sent`` as
    ``created_at``/``updated_at``, and the counters each event feeds."""
    threads: dict[str, dict[str, Any]] = {}
    counters: dict[str, str | None] = {}  # event -> the counter it feeds
    for record in messages:
        thread_id = record["thread_id"]
        if thread_id is None:
            continue
        sent = record["sent"]
        thread = threads.get(thread_id)
        if thread is None:
            thread = threads[thread_id] = {
                "id": thread_id,
                "flow": flow_id,
                "title": thread_title(record),
                "created_at": sent,
                "updated_at": sent,
                "initial_message": record["id"],
                "activities": 0,
                "internal_comments": 0,
                "external_comments": 0,
            }
        elif sent > thread["updated_at"]:
            thread["updated_at"] = sent
        elif sent < thread["created_at"]:
            thread["created_at"] = sent
        event = record["event"]
        counter = counters.get(event, "")
        if counter == "":
            counter = counters[event] = counter_of(event)
        if counter is not None:
            thread[counter] += 1
    return list(threads.values())


def file_paths(record: dict[str, Any]) -> Iterable[str]:
    """The API paths of the files a record names (its content's and its attachments'), and of
    their thumbnails."""
    content = record["content"]
    for holder in ([content] if isinstance(content, dict) else []) + record.get("attachments", []):
        thumbnail = holder.get("thumbnail")
        for path in (holder.get("path"), thumbnail.get("path") if isinstance(thumbnail, dict) else None):
            if isinstance(path, str) and FILE_PATH.match(path):
                yield path


def read_flow(archive: Archive, parsed: Iterable[Any]) -> HistoryFlow:
    """The checked records of one export (``parsed``: its messages.json's records, decoded)."""
    name = archive.name
    records: list[dict[str, Any]] = []
    flow_id: str | None = None
    seen: dict[int, int] | None = None  # made once an id does not ascend (exports ascend)
    last = 0
    users: set[int] = set()
    with_files: list[dict[str, Any]] = []
    for index, raw in enumerate(parsed):
        flow = raw.get("flow") if type(raw) is dict else None  # before the record replaces it
        record = message_record(raw, index, name)
        message_id = record["id"]
        if message_id > last:
            last = message_id
            if seen is not None:
                seen[message_id] = index
        else:
            if seen is None:
                seen = {r["id"]: i for i, r in enumerate(records)}
            first = seen.setdefault(message_id, index)
            if first != index:
                raise ArchiveError(
                    name, f"repeats id {message_id} of record {first}", f"messages.json record {index}"
                )
        if flow is not None and flow != flow_id:
            if not isinstance(flow, str) or not flow:
                raise ArchiveError(
                    name, f"flow must be the flow's id, not {flow!r}", f"messages.json record {index}"
                )
            if flow_id is not None:
                raise ArchiveError(
                    name,
                    f"belongs to flow {flow!r}, not {flow_id!r} as the records before it: one flow per archive",
                    f"messages.json record {index} (id {message_id})",
                )
            flow_id = flow
        users.add(record["user"])
        if record["tags"] or "reactions" in record:
            users.update(users_named(record))
        if type(record["content"]) is dict or "attachments" in record:
            with_files.append(record)
        records.append(record)
    users.discard(0)  # integrations and anonymous posts
    if seen is not None:
        records.sort(key=lambda r: r["id"])  # exports are sorted by id; a hand-made one may not be
        with_files.sort(key=lambda r: r["id"])
    files, missing, files_ids = _files(archive, with_files)
    return HistoryFlow(name, flow_id, records, [], users, files, missing, files_ids)


def _files(archive: Archive, records: list[dict[str, Any]]) -> tuple[list[StoredBytes], list[str], list[int]]:
    """The files the records name, with their bytes from the archive; the paths it lacks (a
    thumbnail counts as missing when its file is); the file namespace number of each file."""
    found: dict[tuple[int, str], StoredBytes] = {}
    thumbnails: dict[tuple[int, str], tuple[str, str, bytes]] = {}  # key -> path, name, bytes
    missing: list[str] = []
    ids: list[int] = []
    for record in records:
        content = record["content"] if isinstance(record["content"], dict) else {}
        for path in file_paths(record):
            m = FILE_PATH.match(path)
            assert m is not None
            key = (int(m.group("n")), m.group("token"))
            if key in (thumbnails if m.group("thumb") else found) or path in missing:
                continue
            if not m.group("thumb"):
                ids.append(key[0])
            entry = archive.find_file(path)
            if entry is None:
                missing.append(path)
            elif m.group("thumb"):
                thumbnails[key] = (path, unquote(m.group("name")), archive.read(entry))
            else:
                found[key] = StoredBytes(
                    key[0],
                    key[1],
                    unquote(m.group("name")),
                    str(content.get("content_type") or "application/octet-stream"),
                    archive.read(entry),
                )
    for key, (path, name, data) in thumbnails.items():
        if key in found:
            found[key].thumbnail = Thumbnail(name, found[key].content_type, data)
        else:
            missing.append(path)  # a thumbnail is served with its file, which the archive lacks
    return list(found.values()), missing, ids
