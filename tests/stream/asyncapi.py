"""Validating streamed events against spec/asyncapi.yaml (its payloads reuse openapi.yaml's schemas).

The payloads are OpenAPI 3.0 schemas (``schemaFormat: application/vnd.oai.openapi``); the mock
turns them into JSON Schema (``mock_server.contract.load_event_schemas``: references inlined
across the two documents, ``nullable`` as a ``null`` type), and jsonschema checks each event
against the message whose ``name`` is the event's type.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema

from mock_server.contract import load_event_schemas


@functools.cache
def validators() -> dict[str, jsonschema.Draft7Validator]:
    """Event type -> validator, one per message of the AsyncAPI document."""
    out = {}
    for name, schema in load_event_schemas().items():
        jsonschema.Draft7Validator.check_schema(schema)
        out[name] = jsonschema.Draft7Validator(schema)
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
