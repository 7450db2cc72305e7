"""The contracts as loaded documents (plain dicts): loading them, and the one index of their operations.

No Connexion here. ``OperationIndex`` walks ``spec["paths"]`` once; every layer that needs the
operations (the resolver, the normaliser, the fault book, the coverage table, the 405 ``Allow``
header) reads that index instead of walking the document again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mock_server.resources import asyncapi_path, cache_dir, control_spec_path, default_world_path, spec_path


def _load_yaml(path: Any) -> dict[str, Any]:
    """The YAML document at ``path``, parsed once per distinct content.

    Building the dicts of the two contracts takes PyYAML about 100 ms of every start, a third of
    what the server does before it answers (the C parser included: the objects are made in
    Python). The parsed document is kept in the cache directory (``resources.cache_dir``) in
    ``marshal``'s format (plain data only: dicts, lists, strings, numbers; shared nodes stay
    shared, integer keys stay integers), named by the digest of the file's bytes and of the
    Python and PyYAML versions, so an edited file or another version parses the YAML again.
    An unreadable or unwritable cache only costs the parse.
    """
    data = Path(path).read_bytes()
    key = hashlib.sha256(b"%s\0%s\0%d\0" % (sys.version.encode(), yaml.__version__.encode(), marshal.version))
    key.update(data)
    cached = cache_dir() / "parsed" / f"{key.hexdigest()}.marshal"
    with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
        doc: dict[str, Any] = marshal.loads(cached.read_bytes())
        if isinstance(doc, dict):
            return doc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when PyYAML has it
    doc = yaml.load(data.decode("utf-8"), Loader=loader)
    with contextlib.suppress(OSError, ValueError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(marshal.dumps(doc))
        os.replace(partial, cached)  # whole or absent, never half-written for another process
    return doc


def load_spec() -> dict[str, Any]:
    """The corrected contract as a dict."""
    spec = _load_yaml(spec_path())
    spec.pop("x-error-responses", None)  # only a YAML anchor holder, merged where used
    return spec


def load_control_spec() -> dict[str, Any]:
    """The control API's own contract (spec/control.yaml)."""
    return _load_yaml(control_spec_path())


def _pointer(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")] if part else node
    return node


def to_json_schema(node: Any, doc: str, documents: dict[str, dict[str, Any]]) -> Any:
    """An OpenAPI 3.0 schema of ``doc`` (a file name in ``documents``) as JSON Schema: ``$ref``s
    inlined across the documents, ``nullable`` as a ``null`` type, annotations dropped."""
    if isinstance(node, list):
        return [to_json_schema(item, doc, documents) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target, _, pointer = node["$ref"].partition("#")
        target = target or doc
        return to_json_schema(_pointer(documents[target], pointer), target, documents)
    out = {
        k: to_json_schema(v, doc, documents)
        for k, v in node.items()
        if k not in ("nullable", "format", "description")
    }
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def load_event_schemas() -> dict[str, Any]:
    """Event type -> the JSON Schema of its payload, one per message of spec/asyncapi.yaml."""
    documents = {"asyncapi.yaml": _load_yaml(asyncapi_path()), "openapi.yaml": _load_yaml(spec_path())}
    api = documents["asyncapi.yaml"]
    return {
        message["name"]: to_json_schema(message["payload"]["schema"], "asyncapi.yaml", documents)
        for message in api["components"]["messages"].values()
    }


def load_default_world() -> dict[str, Any]:
    """The default world (fixtures/default-world.json, the generator's output for its defaults)."""
    with open(default_world_path(), encoding="utf-8") as fh:
        world: dict[str, Any] = json.load(fh)
    return world


def deref(spec: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s (``#/components/...``) until ``node`` is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def exploded_properties(definition: dict[str, Any], spec: dict[str, Any] | None = None) -> tuple[str, ...]:
    """The wire names of a query parameter that is an object in the exploded ``form`` style (the
    defaults of ``in: query``): its properties, each sent as a query parameter of its own
    (``?filter=acme/main&user=1``); ``()`` for any other parameter. ``spec`` resolves a ``$ref``ed
    schema (Connexion's operations hold them resolved already)."""
    if definition.get("in") != "query" or definition.get("style", "form") != "form":
        return ()
    if not definition.get("explode", True):
        return ()
    schema = definition.get("schema")
    if spec is not None:
        schema = deref(spec, schema)
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return ()
    properties = schema.get("properties")
    return tuple(properties) if isinstance(properties, dict) else ()


HTTP_METHODS = ("get", "put", "post", "delete", "patch")
"""The methods an OpenAPI path item may declare that the contracts use, in the order they are listed."""


@dataclass(frozen=True, slots=True)
class SpecOperation:
    """One operation of a contract: where it is, and its definition as the document has it."""

    operation_id: str
    method: str  # upper case
    template: str
    tags: tuple[str, ...]
    definition: dict[str, Any]
    shared_parameters: tuple[Any, ...]  # the path item's parameters, before the operation's own


@dataclass(frozen=True, slots=True)
class PathEntry:
    """A path template, its methods (sorted, upper case) and its operations by method."""

    template: str
    methods: tuple[str, ...]
    operations: dict[str, SpecOperation]


def _regex(template: str) -> str:
    return re.sub(r"\{[^/]+\}", "[^/]+", template)


class _Alternation:
    """The templates of one first path segment as one regular expression, compiled when a path
    first needs it (a start compiles none: ``GET /flows`` is a literal path)."""

    __slots__ = ("entries", "pattern", "source")

    def __init__(self, bucket: list[PathEntry]) -> None:
        self.entries = {f"r{i}": entry for i, entry in enumerate(bucket)}
        """Each template's group name -> its entry."""
        alternation = "|".join(f"(?P<r{i}>{_regex(entry.template)})" for i, entry in enumerate(bucket))
        self.source = f"^(?:{alternation})$"
        self.pattern: re.Pattern[str] | None = None

    def match(self, path: str) -> PathEntry | None:
        pattern = self.pattern
        if pattern is None:
            pattern = self.pattern = re.compile(self.source)
        found = pattern.match(path)
        return self.entries[found.lastgroup] if found is not None and found.lastgroup else None


class OperationIndex:
    """Every operation of a contract, by operationId and by path, built in one walk.

    ``match`` maps a concrete path onto its template as Connexion's router does: literal paths
    first, then templates with fewer parameters first (``/invitations/import`` before
    ``/invitations/{id}``); templated paths are grouped by first segment into one alternation each,
    so a match is one dict lookup and one regex call.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.paths: list[PathEntry] = []
        self.operations: dict[str, SpecOperation] = {}  # in the spec's order
        for template, item in spec.get("paths", {}).items():
            shared = tuple(item.get("parameters", ()))
            ops = {}
            for method in HTTP_METHODS:
                if method in item:
                    definition = item[method]
                    op = SpecOperation(
                        definition.get("operationId", ""),
                        method.upper(),
                        template,
                        tuple(definition.get("tags", ())),
                        definition,
                        shared,
                    )
                    ops[op.method] = op
                    self.operations[op.operation_id] = op
            self.paths.append(PathEntry(template, tuple(sorted(ops)), ops))
        self._literal = {entry.template: entry for entry in self.paths if "{" not in entry.template}
        self._templated = self._group_templates([e for e in self.paths if "{" in e.template])

    @staticmethod
    def _group_templates(entries: list[PathEntry]) -> dict[str, _Alternation]:
        """First segment -> the alternation of its templates."""
        ordered = sorted(entries, key=lambda e: e.template.count("{"))  # stable: spec order within
        buckets: dict[str, list[PathEntry]] = {}
        for entry in ordered:
            buckets.setdefault(entry.template.split("/")[1], []).append(entry)
        return {first: _Alternation(bucket) for first, bucket in buckets.items()}

    def match(self, path: str) -> PathEntry | None:
        """The path template a concrete path reaches, or None."""
        entry = self._literal.get(path)
        if entry is not None:
            return entry
        templates = self._templated.get(path[1:].split("/", 1)[0])
        return None if templates is None else templates.match(path)

    def deref(self, node: Any) -> Any:
        return deref(self.spec, node)
