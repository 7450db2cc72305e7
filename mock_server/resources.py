"""Where the contract and the default world live, in a checkout and in an installed package.

The repository keeps them at the top (``spec/``, ``fixtures/``); a wheel ships the same files as
``mock_server/_spec`` and ``mock_server/_fixtures`` (see pyproject.toml).
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def _find(installed: str, checkout: str, name: str) -> Path:
    for folder in (_CHECKOUT / checkout, _PACKAGE / installed):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} is in neither {checkout}/ nor mock_server/{installed}/")


def spec_path() -> Path:
    """The corrected contract Connexion loads and /openapi.json publishes."""
    return _find("_spec", "spec", "openapi.yaml")


def control_spec_path() -> Path:
    """The control API's contract (/_mock/openapi.json)."""
    return _find("_spec", "spec", "control.yaml")


def asyncapi_path() -> Path:
    """The Streaming API's events (spec/asyncapi.yaml; its payloads refer to openapi.yaml)."""
    return _find("_spec", "spec", "asyncapi.yaml")


def seed_spec_path() -> Path:
    """The user's original document, byte-identical to the seed."""
    return _find("_spec", "spec", "flowdock-rest-api-openapi.yml")


def default_world_path() -> Path:
    """The default world the Faker generator produces for the default seed, committed as JSON."""
    return _find("_fixtures", "fixtures", "default-world.json")


def world_schema_path() -> Path:
    """The JSON Schema of a world document (fixtures, ``/_mock/state``)."""
    return _find("_fixtures", "fixtures", "world.schema.json")


def cache_dir() -> Path:
    """Where the mock keeps what it can always recompute (the digests of the specs found valid, the
    parsed YAML documents, the specs built for Connexion, the methods a serving process's dataclasses
    generate, compiled, and its regular expressions' programs): ``$FLOWDOCK_MOCK_CACHE_DIR``, else ``$XDG_CACHE_HOME/flowdock-mock``,
    else ``~/.cache/flowdock-mock``. Deleting it costs a slower next start, nothing else."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.environ.get("FLOWDOCK_MOCK_CACHE_DIR") or os.path.join(base, "flowdock-mock"))
