"""Validators for the CI reports: JUnit XML against junit-10.xsd, HAR against the HAR 1.2 JSON Schema.

Both schemas are vendored under tests/schemas (README there: source and licence of each).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import xmlschema
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parent / "schemas"


@functools.cache
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))


@functools.cache
def har_validator() -> Any:
    resources = []
    for path in sorted((SCHEMAS / "har").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"].rstrip("#"), Resource.from_contents(schema)))
    registry: Registry[Any] = Registry().with_resources(resources)
    root = json.loads((SCHEMAS / "har" / "har.json").read_text(encoding="utf-8"))
    return jsonschema.Draft6Validator(root, registry=registry, format_checker=jsonschema.FormatChecker())


def validate_junit(text: str) -> None:
    """Raises ``xmlschema.XMLSchemaValidationError`` when the document breaks the JUnit XSD."""
    junit_schema().validate(text)


def validate_har(doc: Any) -> None:
    """Raises ``jsonschema.ValidationError`` when the document is not HAR 1.2."""
    har_validator().validate(doc)
