"""Flowdock flow exports in worlds: added to a created world's data, loaded into a running world.

``mock_server/history/`` reads, checks and merges the exports; this module turns its
``ArchiveError`` into the control API's 400 (``errors`` under the request's place:
``history.0``, ``body``) and makes the swap into a running world whole: the archive is read
outside the store's lock, and the world's state, with the export added, is checked and built
as any world document before it replaces the old one under the lock (docs/history.md).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import TYPE_CHECKING, Any

from mock_server import errors
from mock_server.history import ArchiveError, HistorySource, gc_paused, read_archive
from mock_server.history.export import export_zip
from mock_server.history.merge import read_users_file, with_history
from mock_server.world.documents import check_world, world_problems

if TYPE_CHECKING:
    from mock_server.runtime.core import Runtime

__all__ = ["export_zip", "load_into", "with_posted_history"]


def _refused(where: str, exc: ArchiveError) -> errors.ValidationFailed:
    return errors.ValidationFailed(errors.INVALID_HISTORY, {where: [str(exc)]})


def with_posted_history(
    template: dict[str, Any], body: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``template`` with the exports of a ``POST /_mock/worlds`` body (``history``,
    ``history_users``) added; what each became. 400 naming the archive when one is broken."""
    sources = []
    for i, item in enumerate(body.get("history") or []):
        organization, _, flow = str(item["flow"]).partition("/")
        try:
            data = base64.b64decode(item["archive"], validate=True)
        except (binascii.Error, ValueError):
            raise errors.ValidationFailed.field(f"history.{i}.archive", errors.INVALID) from None
        sources.append((i, HistorySource(data, organization, flow, name=f"history.{i} ({item['flow']})")))
    try:
        users = read_users_file(body["history_users"], "history_users") if "history_users" in body else None
    except ArchiveError as exc:
        raise _refused("history_users", exc) from None
    flows = []
    for i, source in sources:
        try:
            flows.append((source.placement(), read_archive(source)))
        except ArchiveError as exc:
            raise _refused(f"history.{i}", exc) from None
    try:
        doc, loaded = with_history(template, flows, users)
    except ArchiveError as exc:
        raise _refused("history", exc) from None
    problems = world_problems(doc)
    if problems:
        raise errors.ValidationFailed(errors.INVALID_HISTORY, problems)
    return doc, [entry.to_dict() for entry in loaded]


def load_into(runtime: Runtime, archive: bytes, organization: str, flow: str) -> dict[str, Any]:
    """The export added to ``runtime``'s world as ``organization/flow``, whole or not at all."""
    source = HistorySource(archive, organization, flow, name=f"{organization}/{flow}.zip")
    try:
        placement = source.placement()
        with gc_paused():
            history = read_archive(source)  # the slow part: outside the lock
    except ArchiveError as exc:
        raise _refused("body", exc) from None
    store = runtime.store
    with store.lock:
        try:
            # a running world's new users and flow get random tokens: the same archive may be
            # loaded into several worlds, and no two worlds share a credential
            prefix = store.keys.prefix  # a shard's name: its router places the new tokens too

            def mint(kind: str, key: Any) -> str:
                return prefix + secrets.token_hex(16)

            doc, loaded = with_history(store.export(), [(placement, history)], mint=mint)
        except ArchiveError as exc:
            raise _refused("body", exc) from None
        fresh = check_world(doc, store.config)
        taken = store.keys.conflicts(fresh.credentials())
        if taken:
            raise errors.Conflict(errors={kind: [errors.CREDENTIAL_TAKEN] for kind, _ in taken})
        store.adopt(fresh)
    return loaded[0].to_dict()
