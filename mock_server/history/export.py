"""A flow of a store written as a Flowdock flow export: ``messages.json`` and the files, zipped.

The records have the export's shape (docs/history.md): the REST message with ``user`` as a string,
``emojiReactions``, ``edited`` but no ``edited_at`` or ``created_at``, and a ``thread`` snapshot
without ``flow``. The snapshot is rebuilt from the exported messages the way loading rebuilds
threads, so exporting, loading and exporting again gives the same ``messages.json`` byte for byte.
Files are stored as ``files/<token>/<name>`` and their thumbnails as ``files/<token>/thumb/<name>``,
where loading finds them by token and name.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING, Any

import orjson

from mock_server.errors import NotFound
from mock_server.history.messages import rebuild_threads
from mock_server.store.representation import clone
from mock_server.store.timefmt import iso_ms

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.message_model import Message


def _record(message: Message, flow_id: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": message.id,
        "event": message.event,
        "flow": flow_id,
        "user": str(message.user),
        "content": clone(message.content),
        "sent": message.sent,
        "edited": message.edited,
        "tags": list(message.tags),
        "emojiReactions": clone(message.reactions) if message.reactions else {},
        "attachments": clone(message.attachments),
        "uuid": message.uuid,
        "app": message.app,
    }
    if message.thread_id is not None:
        record["thread_id"] = message.thread_id
    if message.external_user_name is not None:
        record["external_user_name"] = message.external_user_name
    for key in ("title", "body"):
        if getattr(message, key) is not None:
            record[key] = getattr(message, key)
    if message.author is not None:
        record["author"] = clone(message.author)
    return record


def _snapshots(flow_id: str, records: list[dict[str, Any]]) -> None:
    """Each threaded record's ``thread``: the rebuilt thread, without ``flow`` as exports had it."""
    shaped = [
        {
            "id": r["id"],
            "event": r["event"],
            "content": r["content"],
            "sent": r["sent"],
            "thread_id": r.get("thread_id"),
            "title": r.get("title"),
        }
        for r in records
    ]
    threads = {t["id"]: t for t in rebuild_threads(flow_id, shaped)}
    for record in records:
        thread = threads.get(record.get("thread_id") or "")
        if thread is not None:
            record["thread"] = {
                "id": thread["id"],
                "title": thread["title"],
                "body": "",
                "external_url": None,
                "status": None,
                "fields": [],
                "actions": [],
                "activities": thread["activities"],
                "internal_comments": thread["internal_comments"],
                "external_comments": thread["external_comments"],
                "initial_message": thread["initial_message"],
                "created_at": iso_ms(thread["created_at"]),
                "updated_at": iso_ms(thread["updated_at"]),
            }


def flow_export(store: Store, organization: str, flow: str) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """The records of a flow's messages.json and its files by entry name (404: no such flow)."""
    with store.lock:
        found = store.flows.find(organization, flow)
        if found is None:
            raise NotFound()
        log = store.messages.logs.get(found.id)
        records = [_record(m, found.id) for m in (log.messages if log is not None else [])]
        files = {}
        for f in store.files.by_key.values():
            if f.flow == found.id:
                files[f"files/{f.hash}/{f.file_name}"] = f.data
                if f.thumbnail is not None:
                    files[f"files/{f.hash}/thumb/{f.thumbnail.file_name}"] = f.thumbnail.data
    _snapshots(found.id, records)
    return records, files


def messages_json(records: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(records)


def export_zip(store: Store, organization: str, flow: str) -> bytes:
    """The flow as an export archive (a zip's bytes)."""
    records, files = flow_export(store, organization, flow)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("messages.json", messages_json(records))
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return out.getvalue()
