"""Where in the contract a journaled violation points: a JSON Pointer into spec/openapi.yaml.

The journal keeps each contract violation as the readable line the validator produced (what a
client developer reads in ``/_mock/requests``). A CI report also wants the place in the contract
that the request broke, so this module maps a line back onto the spec, from what the line says:

- ``<reason> - '<name>'``: a parameter named ``name`` (its declaration's ``schema``), else the body
  field at the dotted instance path ``name`` (walking ``properties``/``items`` through ``$ref``s);
- ``'<name>' is a required property``: the body schema's ``required`` list;
- ``Extra query parameter(s) ... not in spec``: the operation's ``parameters`` list;
- a content-type refusal: the request body's ``content`` map; an empty body: ``requestBody``;
- a legacy request form (``... (rule: NAME)``): the operation itself, the rule naming the form.

jsonschema's standard message ("is not of type", "is too long", ...) names the keyword that
failed; when the schema at that place has that keyword, the pointer ends with it. A pointer that
passes a ``$ref`` continues from the referenced component, so it is a real location in the file.
Works on saved journals too: it needs only the entry (method, operationId, headers, violation)
and the spec document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mock_server.contract import OperationIndex, SpecOperation, exploded_properties

_SUFFIX = re.compile(r" - '([^']*)'$")
_REQUIRED = re.compile(r"^'([^']+)' is a required property")
_EXTRA = re.compile(r"^Extra (\w+) parameter\(s\) .+ not in spec")
_LEGACY = re.compile(r" \(rule: ([a-z0-9-]+)\)$")
_CONTENT_TYPE = re.compile(r"^Invalid Content-type", re.IGNORECASE)
_EMPTY_BODY = ("Request body must not be empty", "RequestBody is required")

# jsonschema's message -> the keywords that produce it (first one the schema has wins).
_KEYWORDS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"is a required property"), ("required",)),
    (re.compile(r"is not of type"), ("type",)),
    (re.compile(r"is not one of"), ("enum",)),
    (re.compile(r"was expected$"), ("const", "enum")),
    (re.compile(r"is too long"), ("maxLength", "maxItems")),
    (re.compile(r"is too short|should be non-empty|is expected to be non-empty"), ("minLength", "minItems")),
    (re.compile(r"does not match"), ("pattern",)),
    (re.compile(r"is less than"), ("minimum", "exclusiveMinimum")),
    (re.compile(r"is greater than"), ("maximum", "exclusiveMaximum")),
    (re.compile(r"is not a multiple of"), ("multipleOf",)),
    (re.compile(r"is not a '"), ("format",)),
    (re.compile(r"Additional properties are not allowed"), ("additionalProperties",)),
    (re.compile(r"has non-unique elements"), ("uniqueItems",)),
    (re.compile(r"is not valid under any of the given schemas"), ("anyOf", "oneOf")),
    (re.compile(r"is valid under each of"), ("oneOf",)),
    (re.compile(r"does not have enough properties"), ("minProperties",)),
    (re.compile(r"has too many properties"), ("maxProperties",)),
]


def escape(token: str) -> str:
    """One JSON Pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(parts: list[str]) -> str:
    return "#/" + "/".join(escape(p) for p in parts)


@dataclass(frozen=True)
class Located:
    """A violation placed in the contract."""

    schema_path: str
    """JSON Pointer (``#/...``) into the spec document."""
    legacy_rule: str | None = None
    """The legacy-form rule when the violation is a legacy request form, else None."""


class Locator:
    """Maps violation lines onto one contract (the index of the document the server loaded)."""

    def __init__(self, index: OperationIndex) -> None:
        self.spec = index.spec
        self.operations: dict[str, SpecOperation] = index.operations

    def tag(self, operation_id: str) -> str:
        """The operation's first tag (its group in reports), ``default`` when it has none."""
        tags = self.operations[operation_id].tags
        return tags[0] if tags else "default"

    # --- following $refs while remembering where we are -------------------------------------------
    def _resolve(self, node: Any, where: list[str]) -> tuple[Any, list[str]]:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            where = [p.replace("~1", "/").replace("~0", "~") for p in node["$ref"][2:].split("/")]
            target: Any = self.spec
            for part in where:
                target = target[part]
            node = target
        return node, where

    def locate(self, operation_id: str | None, violation: str, content_type: str = "") -> Located:
        legacy = _LEGACY.search(violation)
        rule = legacy.group(1) if legacy else None
        op = self.operations.get(operation_id or "")
        if op is None:
            return Located("#/paths", rule)
        op_where = ["paths", op.template, op.method.lower()]
        if rule is not None:
            return Located(pointer(op_where), rule)
        operation = op.definition
        if _EXTRA.search(violation):
            return Located(pointer([*op_where, "parameters"]))
        if _CONTENT_TYPE.search(violation):
            return Located(pointer([*op_where, "requestBody", "content"]))
        if violation.startswith(_EMPTY_BODY):
            return Located(pointer([*op_where, "requestBody"]))
        suffix = _SUFFIX.search(violation)
        message = violation[: suffix.start()] if suffix else violation
        if suffix:
            name = suffix.group(1)
            param = self._parameter(op, name)
            if param is not None:
                schema, where = param
                return Located(pointer(self._keyword(schema, where, message)))
            body = self._body(operation, op_where, content_type)
            if body is not None:
                schema, where = self._walk(*body, name.split(".") if name else [])
                return Located(pointer(self._keyword(schema, where, message)))
        elif _REQUIRED.search(violation):
            body = self._body(operation, op_where, content_type)
            if body is not None:
                schema, where = body
                return Located(pointer([*where, "required"] if "required" in schema else where))
        return Located(pointer(op_where))

    # --- parameters ------------------------------------------------------------------------------
    def _parameter(self, op: SpecOperation, name: str) -> tuple[Any, list[str]] | None:
        levels = (
            (op.definition.get("parameters", ()), ["paths", op.template, op.method.lower()]),
            (op.shared_parameters, ["paths", op.template]),
        )
        for parameters, where in levels:
            for i, raw in enumerate(parameters):
                param, at = self._resolve(raw, [*where, "parameters", str(i)])
                if isinstance(param, dict) and param.get("name") == name and param.get("in") != "body":
                    if "schema" in param:
                        return self._resolve(param["schema"], [*at, "schema"])
                    return param, at
                if isinstance(param, dict) and name in exploded_properties(param, self.spec):
                    # an object sent as its properties (the stream's `selection`): the property's schema
                    schema, where = self._resolve(param["schema"], [*at, "schema"])
                    return self._resolve(schema["properties"][name], [*where, "properties", name])
        return None

    # --- the request body ------------------------------------------------------------------------
    def _body(
        self, operation: dict[str, Any], op_where: list[str], content_type: str
    ) -> tuple[Any, list[str]] | None:
        if "requestBody" not in operation:
            return None
        body, where = self._resolve(operation["requestBody"], [*op_where, "requestBody"])
        content = body.get("content") or {}
        if not content:
            return None
        media = content_type.split(";", 1)[0].strip().lower()
        chosen = media if media in content else next(iter(content))
        entry = content[chosen]
        if "schema" not in entry:
            return None
        return self._resolve(entry["schema"], [*where, "content", chosen, "schema"])

    def _walk(self, schema: Any, where: list[str], parts: list[str]) -> tuple[Any, list[str]]:
        for part in parts:
            step = self._step(schema, where, part)
            if step is None:
                break
            schema, where = step
        return schema, where

    def _step(self, schema: Any, where: list[str], part: str) -> tuple[Any, list[str]] | None:
        if not isinstance(schema, dict):
            return None
        properties = schema.get("properties") or {}
        if part in properties:
            return self._resolve(properties[part], [*where, "properties", part])
        if part.isdigit() and isinstance(schema.get("items"), dict):
            return self._resolve(schema["items"], [*where, "items"])
        for combinator in ("allOf", "oneOf", "anyOf"):
            for i, branch in enumerate(schema.get(combinator) or []):
                resolved, at = self._resolve(branch, [*where, combinator, str(i)])
                step = self._step(resolved, at, part)
                if step is not None:
                    return step
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return self._resolve(extra, [*where, "additionalProperties"])
        return None

    @staticmethod
    def _keyword(schema: Any, where: list[str], message: str) -> list[str]:
        if not isinstance(schema, dict):
            return where
        for pattern, keywords in _KEYWORDS:
            if pattern.search(message):
                for keyword in keywords:
                    if keyword in schema:
                        return [*where, keyword]
                break
        return where
