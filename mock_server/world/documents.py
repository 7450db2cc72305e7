"""World documents: checking one before it replaces the running state.

The checks used by ``PUT /_mock/state`` and ``--fixtures``: JSON Schema first
(fixtures/world.schema.json), then dangling references, then a trial load into a scratch store, so
a bad document is refused with a clear 400 and never half-replaces the running state.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from mock_server.resources import world_schema_path
from mock_server.store import Store

if TYPE_CHECKING:
    from jsonschema.protocols import Validator


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
