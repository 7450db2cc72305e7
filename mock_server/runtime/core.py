"""Per-app runtime state of the mock itself (not the Flowdock world): journal, faults, settings.

``create_app`` builds one ``Runtime`` per app and binds it to the control handlers the way the
store is bound to the Flowdock handlers, so two apps in one process never share a journal or a
fault table.
"""

from __future__ import annotations

from typing import Any

import orjson

from mock_server import errors
from mock_server.contract import OperationIndex
from mock_server.runtime.activity import Schedules
from mock_server.runtime.faults import Fault, FaultTable, ResponseBook
from mock_server.runtime.feed import JournalFeed
from mock_server.runtime.journal import Journal
from mock_server.runtime.redaction import Credentials
from mock_server.runtime.webhooks import WebhookPolicy, Webhooks
from mock_server.store import Store
from mock_server.world.documents import check_world, representation_problems, schema_valid
from mock_server.world.loading import (
    DocumentText,
    SchemaRefused,
    collector_paused,
    dump_document,
    parse_document,
    release,
)

__all__ = ["DocumentText", "Runtime", "SchemaRefused", "collector_paused", "operation_table"]
"""``DocumentText``, ``SchemaRefused`` and ``collector_paused`` are world/loading.py's, for
middleware/state_import.py and control/worlds.py (which may import the runtime, not the world)."""


def operation_table(index: OperationIndex) -> dict[str, tuple[str, str]]:
    """operationId -> (METHOD, path template), in the spec's order."""
    return {op_id: (op.method, op.template) for op_id, op in index.operations.items()}


class Runtime:
    """The store plus the mock's own state: request journal, coverage, fault table, settings."""

    def __init__(
        self,
        store: Store,
        index: OperationIndex,
        *,
        journal_size: int = 1000,
        latency_ms: int = 0,
        admin_token: str | None = None,
        book: ResponseBook | None = None,
        operations: dict[str, tuple[str, str]] | None = None,
        webhook_any_host: bool = False,
        webhook_policy: WebhookPolicy | None = None,
    ) -> None:
        self.store = store
        self.index = index
        self.operations = operations if operations is not None else operation_table(index)
        self.journal = Journal(journal_size, self.operations, Credentials(index))
        self.feed = JournalFeed(self.journal)
        self.book = book if book is not None else ResponseBook(index)
        self.faults = FaultTable(store.seed)
        store.stream_faults = self.faults.streams  # read by the world's stream hub (stream/hub.py)
        self.latency_ms = latency_ms
        self.admin_token = admin_token
        policy = webhook_policy or WebhookPolicy(any_host=webhook_any_host)
        self.webhooks = Webhooks(store, self.journal, policy=policy)
        """The world's outgoing webhooks (runtime/webhooks.py), subscribed to its event log; the
        policy (hosts, deadline, cap, the server's own addresses) is every world's."""
        self.activity = Schedules(store)
        """The world's presence and typing schedules (runtime/activity.py)."""

    def for_store(self, store: Store) -> Runtime:
        """The runtime of another world of the same server: its own journal, coverage and fault
        table; the same contract, settings and forced-response book (built once, shared)."""
        return Runtime(
            store,
            self.index,
            journal_size=self.journal.size,
            latency_ms=self.latency_ms,
            admin_token=self.admin_token,
            book=self.book,
            operations=self.operations,
            webhook_policy=self.webhooks.policy,
        )

    # --- state --------------------------------------------------------------------------------
    def reset_state(self) -> dict[str, Any]:
        self.webhooks.clear()
        self.activity.clear()
        self.store.reset()
        return {"status": "reset", "seed": self.store.seed}

    def get_state(self) -> dict[str, Any]:
        return self.store.export()

    def state_json(self) -> bytes:
        """``GET .../state``: the world as JSON, the same bytes ``PUT`` answers with and a document
        of that size is always taken back (middleware/state_import.py). Meant for a worker
        thread: the world's lock is held only to copy its lists of records (``Store.export_json``)."""
        return b"".join(self.store.export_json(snapshot=True))

    def replace_state(self, doc: dict[str, Any]) -> dict[str, Any]:
        fresh = check_world(doc, self.store.config)
        state = fresh.export()  # before the swap: exported under its own lock, not the world's
        try:
            self._adopt(fresh)
        except BaseException:
            fresh.detach()
            raise
        return state

    def replace_state_text(self, body: DocumentText) -> list[bytes]:
        """``PUT .../state`` from the request's text, in small steps (world/loading.py): parsed,
        checked whole, built aside and swapped in; the new state as JSON chunks. Meant for a
        worker thread: no step holds the interpreter long, so the event loop keeps serving.

        What a large import leaves behind goes in small steps too (``release``): the parsed
        document once the store is built, the world's old parts once the new ones serve; the
        answer is written from the built store (``Store.export_json``), never as a second
        document of dicts."""
        with collector_paused():
            doc = parse_document(body.take())
            try:
                fresh = self._checked(doc)
            finally:
                release(doc)
                del doc
            # Exported before the swap, under the fresh store's own lock: the world's lock is
            # held only for the swap, so its other requests never wait on a long export.
            state = fresh.export_json()
            try:
                replaced = self._adopt(fresh)
            except BaseException:
                fresh.detach()  # refused: its parts and it are dropped without the collector
                raise
            del fresh
            release(replaced)
            return state

    def _checked(self, doc: Any) -> Store:
        # What refused it before this path existed, in the same order with the same words:
        # the body guard (what no client can read back), Connexion (the schema), check_world.
        if isinstance(doc, dict) and (problems := representation_problems(doc)):
            raise errors.ValidationFailed(errors=problems)
        if not isinstance(doc, dict) or not schema_valid(doc):
            raise SchemaRefused(list(dump_document(doc)) if isinstance(doc, dict) else [orjson.dumps(doc)])
        return check_world(doc, self.store.config, representable=True, consume=True)

    def _adopt(self, fresh: Store) -> list[Any]:
        # Checked and built without the store's lock; only the swap holds it (world/documents.py).
        with self.store.lock:
            taken = self.store.keys.conflicts(fresh.credentials())
            if taken:
                raise errors.Conflict(errors={kind: [errors.CREDENTIAL_TAKEN] for kind, _ in taken})
            return self.store.adopt(fresh)

    # --- faults -------------------------------------------------------------------------------
    def replace_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        rules, problems = {}, {}
        for op_id, raw in body.get("faults", {}).items():
            if op_id not in self.operations:
                problems[f"faults.{op_id}"] = [errors.NOT_AN_OPERATION]
                continue
            fault = Fault(raw.get("status"), raw.get("latency_ms", 0), raw.get("probability", 1.0))
            if fault.status is not None:
                why = self.book.check(op_id, fault.status)
                if why is not None:
                    problems[f"faults.{op_id}.status"] = [why]
            rules[op_id] = fault
        if problems:
            raise errors.ValidationFailed(errors.VALIDATION_ERROR, problems)
        self.faults.replace(rules, body.get("seed"), body.get("streams"))
        return self.faults.export()
