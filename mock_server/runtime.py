"""Per-app runtime state of the mock itself (not the Flowdock world): journal, faults, settings.

``create_app`` builds one ``Runtime`` per app and binds it to the control handlers the way the
store is bound to the Flowdock handlers, so two apps in one process never share a journal or a
fault table. The world-document checks used by ``PUT /_mock/state`` and ``--fixtures`` live here
too: JSON Schema first (fixtures/world.schema.json), then a trial load into a scratch store, so a
bad document is refused with a clear 400 and never half-replaces the running state.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from mock_server import errors
from mock_server.faults import Fault, FaultTable, ResponseBook
from mock_server.journal import Journal
from mock_server.resources import world_schema_path
from mock_server.store import Store

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

_METHODS = ("get", "put", "post", "delete", "patch")


@functools.cache
def world_validator() -> Validator:
    import jsonschema

    with open(world_schema_path(), encoding="utf-8") as fh:
        schema = json.load(fh)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def world_problems(doc: Any, config: Any = None) -> dict[str, list[str]]:
    """What is wrong with a world document, as Flowdock's ``{field: [reason]}`` (empty: nothing)."""
    problems: dict[str, list[str]] = {}
    for error in sorted(world_validator().iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "base"
        problems.setdefault(where, []).append(error.message)
    if problems:
        return problems
    problems = _dangling_references(doc)
    if problems:
        return problems
    try:
        Store(doc, config)  # a scratch load: unknown fields and wrong shapes surface here
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        problems["base"] = [f"the store cannot load this document: {exc}"]
    return problems


def _dangling_references(doc: dict[str, Any]) -> dict[str, list[str]]:
    users = {u["id"] for u in doc.get("users", [])}
    orgs = {o["id"] for o in doc.get("organizations", [])}
    flows = {f["id"] for f in doc.get("flows", [])}
    problems: dict[str, list[str]] = {}

    def check(where: str, value: Any, known: set[Any], what: str) -> None:
        if value not in known:
            problems.setdefault(where, []).append(f"{value!r} is not the id of a {what} in this document")

    for i, org in enumerate(doc.get("organizations", [])):
        for j, member in enumerate(org.get("members", [])):
            check(f"organizations.{i}.members.{j}.user", member["user"], users, "user")
    for i, flow in enumerate(doc.get("flows", [])):
        check(f"flows.{i}.organization_id", flow["organization_id"], orgs, "organization")
        for j, member in enumerate(flow.get("members", [])):
            check(f"flows.{i}.members.{j}.user", member["user"], users, "user")
    for key in ("messages", "threads", "sources", "invitations"):
        for i, item in enumerate(doc.get(key, [])):
            check(f"{key}.{i}.flow", item["flow"], flows, "flow")
    return problems


def operation_table(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """operationId -> (METHOD, path template), in the spec's order."""
    return {
        op["operationId"]: (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in _METHODS
    }


class Runtime:
    """The store plus the mock's own state: request journal, coverage, fault table, settings."""

    def __init__(
        self,
        store: Store,
        spec: dict[str, Any],
        *,
        journal_size: int = 1000,
        latency_ms: int = 0,
        admin_token: str | None = None,
    ) -> None:
        self.store = store
        self.operations = operation_table(spec)
        self.journal = Journal(journal_size, self.operations)
        self.book = ResponseBook(spec)
        self.faults = FaultTable(store.seed)
        self.latency_ms = latency_ms
        self.admin_token = admin_token

    # --- state --------------------------------------------------------------------------------
    def reset_state(self) -> dict[str, Any]:
        self.store.reset()
        return {"status": "reset", "seed": self.store.seed}

    def get_state(self) -> dict[str, Any]:
        return self.store.export()

    def replace_state(self, doc: dict[str, Any]) -> dict[str, Any]:
        problems = world_problems(doc, self.store.config)
        if problems:
            raise errors.ValidationFailed(errors.INVALID_WORLD, problems)
        self.store.load(doc)
        return self.store.export()

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
        self.faults.replace(rules, body.get("seed"))
        return self.faults.export()
