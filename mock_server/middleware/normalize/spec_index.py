"""What the contract says of each operation, indexed once: query parameter kinds, body field types,
the media types a body may come in. The other normalisation modules read only this."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from mock_server.contract import OperationIndex, PathEntry, exploded_properties

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"


@dataclass(slots=True)
class Field:
    """What a body property may hold, reduced to what the conversions need."""

    kind: str  # boolean | integer | number | string | tags | array | object | any
    nullable: bool = False
    properties: dict[str, Field] = dataclass_field(default_factory=dict)
    required: frozenset[str] = frozenset()

    @property
    def sensitive(self) -> bool:
        """True when a JSON value of this field may need converting (tags string, boolean)."""
        if self.kind in ("boolean", "tags"):
            return True
        return any(f.sensitive for f in self.properties.values())


@dataclass(slots=True)
class Operation:
    """One operation: its query parameters, its body's fields and the media types it consumes."""

    operation_id: str
    query: dict[str, str]  # name -> "int01" | "boolean" | "true" (a text enum with "true") | "other"
    body: Field | None
    consumes: frozenset[str]
    json_sensitive: bool
    scan_query: bool  # a query parameter may need respelling, or belong in the body


@dataclass(slots=True)
class Route:
    """A path template and its operations by (upper-case) method."""

    template: str
    operations: dict[str, Operation]
    keeps_suffix: bool  # the last segment is a file name, so ".json" is part of it


class SpecIndex:
    """Paths -> operations, with each operation's parameter locations and body field types.

    Built on the contract's ``OperationIndex`` (which matches paths onto templates); this adds
    what the conversions need to know about each operation.
    """

    def __init__(self, index: OperationIndex) -> None:
        self._index = index
        self.routes = {
            entry.template: Route(
                entry.template, self._operations(entry), entry.template.endswith("{filename}")
            )
            for entry in index.paths
        }

    def match(self, path: str) -> Route | None:
        """The route a concrete path reaches, literal paths first (as Connexion's router does)."""
        entry = self._index.match(path)
        return self.routes[entry.template] if entry is not None else None

    # -- building
    def _deref(self, node: Any) -> Any:
        return self._index.deref(node)

    def _operations(self, entry: PathEntry) -> dict[str, Operation]:
        found = {}
        for method, spec_op in entry.operations.items():
            op = spec_op.definition
            query = {}
            for param in [*spec_op.shared_parameters, *op.get("parameters", [])]:
                param = self._deref(param)
                if param.get("in") != "query":
                    continue
                schema = self._deref(param.get("schema", {}))
                exploded = exploded_properties(param, self._index.spec)
                for name in exploded:  # an object sent as its properties: they are the query's names
                    query[name] = self._query_kind(self._deref(schema["properties"][name]))
                if not exploded:
                    query[param["name"]] = self._query_kind(schema)
            body = None
            consumes: frozenset[str] = frozenset()
            if "requestBody" in op:
                content = self._deref(op["requestBody"]).get("content", {})
                consumes = frozenset(content)
                schema = content.get(JSON_TYPE, {}).get("schema")
                body = self._field(schema) if schema is not None else Field("any")
            found[method] = Operation(
                spec_op.operation_id,
                query,
                body,
                consumes,
                body is not None and body.sensitive,
                body is not None or any(kind != "other" for kind in query.values()),
            )
        return found

    @staticmethod
    def _query_kind(schema: dict[str, Any]) -> str:
        if schema.get("type") == "boolean":
            return "boolean"
        if schema.get("type") == "integer" and sorted(schema.get("enum", [])) == [0, 1]:
            return "int01"
        if schema.get("type") == "string" and "true" in schema.get("enum", []):
            return "true"  # the stream's active=true|idle: Python clients send active=True
        return "other"

    def _field(self, schema: Any, depth: int = 0) -> Field:
        schema = self._deref(schema)
        if not isinstance(schema, dict) or depth > 6:
            return Field("any")
        nullable = bool(schema.get("nullable"))
        if "allOf" in schema and len(schema["allOf"]) == 1:
            inner = self._field(schema["allOf"][0], depth + 1)
            inner.nullable = inner.nullable or nullable
            return inner
        branches = [b for key in ("allOf", "oneOf", "anyOf") for b in schema.get(key, [])]
        if branches and "properties" not in schema:
            return self._merged(schema, branches, nullable, depth)
        kind = schema.get("type")
        if kind == "array":
            items = self._deref(schema.get("items", {}))
            return Field("tags" if items.get("type") == "string" else "array", nullable)
        if kind == "object" or "properties" in schema:
            props = {name: self._field(sub, depth + 1) for name, sub in schema.get("properties", {}).items()}
            return Field("object", nullable, props, frozenset(schema.get("required", [])))
        if kind in ("boolean", "integer", "number", "string"):
            return Field(kind, nullable)
        return Field("any", nullable)

    def _merged(self, schema: dict[str, Any], branches: list[Any], nullable: bool, depth: int) -> Field:
        """One object field for a body with one shape per event: every branch's properties.

        A field is required when every ``oneOf``/``anyOf`` branch requires it, or an ``allOf`` part does.
        """
        parts = [self._field(b, depth + 1) for b in branches]
        objects = [f for f in parts if f.kind == "object"]
        if not objects:
            return parts[0] if len(parts) == 1 else Field("any", nullable)
        props: dict[str, Field] = {}
        for part in objects:
            for name, sub in part.properties.items():
                props.setdefault(name, sub)
        every = [f.required for f in objects]
        required = frozenset.intersection(*every) if "allOf" not in schema else frozenset().union(*every)
        return Field("object", nullable, props, required)
