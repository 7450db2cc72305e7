"""The contracts as loaded documents (plain dicts): loading them and reading them.

No Connexion here: the layers that index the spec (the normaliser, the fault book, the coverage
table, the 405 ``Allow`` table) read these dicts directly.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from mock_server.resources import control_spec_path, default_world_path, spec_path


def _load_yaml(path: Any) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when PyYAML has it
    with open(path, encoding="utf-8") as fh:
        doc: dict[str, Any] = yaml.load(fh, Loader=loader)
    return doc


def load_spec() -> dict[str, Any]:
    """The corrected contract as a dict."""
    spec = _load_yaml(spec_path())
    spec.pop("x-error-responses", None)  # only a YAML anchor holder, merged where used
    return spec


def load_control_spec() -> dict[str, Any]:
    """The control API's own contract (spec/control.yaml)."""
    return _load_yaml(control_spec_path())


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
