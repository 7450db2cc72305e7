"""Validating streamed events against spec/asyncapi.yaml (its payloads reuse openapi.yaml's schemas).

The payloads are OpenAPI 3.0 schemas (``schemaFormat: application/vnd.oai.openapi``): references
are inlined, across the two documents, and ``nullable`` becomes JSON Schema's ``null`` type, then
jsonschema checks each event against the message whose ``name`` is the event's type.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SPEC = Path(__file__).resolve().parents[2] / "spec"


@functools.cache
def _document(name: str) -> dict[str, Any]:
    with open(SPEC / name, encoding="utf-8") as fh:
        doc: dict[str, Any] = yaml.safe_load(fh)
    return doc


def _pointer(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def to_json_schema(node: Any, doc: str = "asyncapi.yaml") -> Any:
    """An OpenAPI 3.0 schema with its ``$ref``s inlined and ``nullable`` as a ``null`` type."""
    if isinstance(node, list):
        return [to_json_schema(item, doc) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target, _, pointer = node["$ref"].partition("#")
        target = target or doc
        return to_json_schema(_pointer(_document(target), pointer), target)
    out = {
        k: to_json_schema(v, doc) for k, v in node.items() if k not in ("nullable", "format", "description")
    }
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


@functools.cache
def validators() -> dict[str, jsonschema.Draft7Validator]:
    """Event type -> validator, one per message of the AsyncAPI document."""
    api = _document("asyncapi.yaml")
    out = {}
    for message in api["components"]["messages"].values():
        assert message["payload"]["schemaFormat"].startswith("application/vnd.oai.openapi;version=3.0")
        schema = to_json_schema(message["payload"]["schema"])
        jsonschema.Draft7Validator.check_schema(schema)
        out[message["name"]] = jsonschema.Draft7Validator(schema)
    return out


def assert_valid_event(event: dict[str, Any]) -> None:
    """The event is one the AsyncAPI document describes, and matches its schema."""
    kind = event.get("event")
    found = validators().get(str(kind))
    assert found is not None, f"event type {kind!r} is not in spec/asyncapi.yaml"
    problems = sorted(found.iter_errors(event), key=lambda e: list(e.absolute_path))
    assert not problems, f"{kind} event breaks spec/asyncapi.yaml: " + "; ".join(
        f"{'/'.join(map(str, p.absolute_path)) or '<root>'}: {p.message}" for p in problems[:5]
    )
