"""One value in the JSON type the contract declares: booleans spelled ``1``/``0``/``"true"``, tags
as a comma string, numbers and objects that came as text (forms, multipart, the query string),
``null`` for an optional field; and Rails-style form keys (``a[]``, ``a[b]``) nested into objects."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mock_server import errors
from mock_server.middleware.normalize.spec_index import Field

_INTEGER = re.compile(r"-?\d+")
_TRUE_VALUES: dict[Any, bool] = {"true": True, "false": False, "1": True, "0": False}


@dataclass(slots=True)
class Finding:
    """One rule applied to one part of the request."""

    rule: str
    field: str
    detail: tuple[str, ...] = ()

    def text(self) -> str:
        return errors.rule_text(self.rule, *self.detail)


def coerce_object(data: dict[str, Any], plan: Field, textual: bool, found: list[Finding]) -> dict[str, Any]:
    """Convert an object's values to the types ``plan`` declares (``textual``: they came as text)."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        spec = plan.properties.get(name)
        if spec is None:
            out[name] = value
        elif value is None:
            if spec.nullable or name in plan.required:
                out[name] = value  # meaningful, or validation will name it
            else:
                found.append(Finding(errors.RULE_NULL_OPTIONAL, name))
        else:
            out[name] = coerce_value(name, value, spec, textual, found)
    return out


def coerce_value(name: str, value: Any, spec: Field, textual: bool, found: list[Finding]) -> Any:
    kind = spec.kind
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        key = value.lower() if isinstance(value, str) else str(value) if value in (0, 1) else None
        if key in _TRUE_VALUES:
            # "true" is simply how a form says true; Python's True/False are a legacy spelling
            if not (textual and value in ("true", "false")):
                found.append(Finding(errors.RULE_BOOLEAN, name, ("a boolean", json.dumps(value))))
            return _TRUE_VALUES[key]
        return value
    if kind == "tags":
        if isinstance(value, str) and textual and "," not in value:
            return [value]  # one form field: how a form says a one-element array, no legacy form
        if isinstance(value, str):
            found.append(Finding(errors.RULE_TAGS_STRING, name))
            return [tag.strip() for tag in value.split(",") if tag.strip()]
        return value
    if not textual:
        if kind == "object" and isinstance(value, dict):
            return coerce_object(value, spec, False, found)
        return value
    # Text from a form, multipart or query string: give it the declared JSON type.
    if isinstance(value, list) and kind != "array":
        value = value[-1]  # a repeated key of a single-valued field: the last one wins (Rails)
    if kind == "integer" and isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    if kind == "number" and isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    if kind == "object" and isinstance(value, dict):
        return coerce_object(value, spec, True, found)
    if kind == "array" and isinstance(value, str):
        return [value]
    return value


def nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form pairs -> a dict: ``a[]`` and repeated keys make lists, ``a[b]`` makes objects (Rails)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key.endswith("]") and "[" in key:
            head, _, rest = key.partition("[")
            *parents, last = [head, *rest[:-1].split("][")]
        else:
            parents, last = [], key
        appends = last == "" and bool(parents)  # a bare "" key (form "=x") is just a key
        if appends:
            last = parents.pop()
        target: Any = out
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                break
        else:
            existing = target.get(last)
            if appends or last in target:
                if isinstance(existing, list):
                    existing.append(value)
                else:
                    target[last] = [value] if existing is None else [existing, value]
            else:
                target[last] = value
    return out


def query_text(value: Any, kind: str, name: str, found: list[Finding]) -> str | None:
    """A JSON value moved into the query string, as the contract's text for that parameter."""
    if value is None:
        return None
    if isinstance(value, bool):
        if kind == "int01":
            found.append(Finding(errors.RULE_BOOLEAN, name, ("0 or 1", json.dumps(value))))
            return "1" if value else "0"
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def query_value(value: str, kind: str, name: str, found: list[Finding]) -> str:
    """A query parameter's text in the contract's spelling (``users=true`` -> ``users=1``)."""
    lowered = value.lower()
    if kind == "int01" and lowered in ("true", "false"):
        found.append(Finding(errors.RULE_BOOLEAN, name, ("0 or 1", json.dumps(value))))
        return "1" if lowered == "true" else "0"
    if kind == "boolean" and (lowered in ("1", "0") or (lowered in ("true", "false") and value != lowered)):
        found.append(Finding(errors.RULE_BOOLEAN, name, ("true or false", json.dumps(value))))
        return "false" if lowered in ("0", "false") else "true"
    if kind == "true" and lowered == "true" and value != "true":
        found.append(Finding(errors.RULE_BOOLEAN, name, ("true", json.dumps(value))))
        return "true"
    return value
