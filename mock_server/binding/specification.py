"""The mock's contracts as Connexion specifications, each distinct document validated once.

Connexion validates the whole document against the OpenAPI meta-schema each time it builds a
``Specification``: at every start (about half of ``create_app``) and again on every
``GET /openapi.json`` (it clones the spec per request). The verdict depends only on the document
and the library versions, so a valid document's digest is remembered, in the process and in a
small cache file (``$FLOWDOCK_MOCK_CACHE_DIR``, default ``~/.cache/flowdock-mock``), and the same
bytes are not validated again. An edited spec has a new digest and is validated.

This is a subclass used by the mock's own app only (``add_api`` in application.py builds it):
Connexion's ``Specification`` is left as it is, so another Connexion app in the same process (a
user's own, next to the pytest plugin) validates its documents exactly as Connexion does.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
from connexion.spec import OpenAPISpecification

from mock_server.resources import cache_dir


def _cache_file() -> Path:
    return cache_dir() / "validated-specs"


def _digest(spec: Any) -> str | None:
    try:
        data = orjson.dumps(spec, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return None  # something orjson cannot encode: validate it every time
    versions = f"connexion {version('connexion')} jsonschema {version('jsonschema')}".encode()
    return hashlib.sha256(versions + b"\0" + data).hexdigest()


class _Verdicts:
    """Digests of the documents already found valid: in this process, and in the cache file."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.digests: set[str] | None = None  # read from the file on first use

    def known(self, digest: str) -> bool:
        with self.lock:
            if self.digests is None:
                self.digests = set()
                with contextlib.suppress(OSError):
                    self.digests.update(_cache_file().read_text(encoding="ascii").split())
            return digest in self.digests

    def add(self, digest: str) -> None:
        with self.lock:
            if self.digests is None:
                self.digests = set()
            self.digests.add(digest)
        path = _cache_file()
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="ascii") as fh:
                fh.write(digest + "\n")


VERDICTS = _Verdicts()


class OnceValidatedSpecification(OpenAPISpecification):  # type: ignore[misc]
    """Connexion's OpenAPI 3 specification, validated once per distinct document."""

    @classmethod
    def _validate_spec(cls, spec: Any) -> None:
        digest = _digest(spec)
        if digest is not None and VERDICTS.known(digest):
            return
        super()._validate_spec(spec)  # raises InvalidSpecification for an invalid document
        if digest is not None:
            VERDICTS.add(digest)


def string_keys(obj: Any) -> Any:
    """YAML allows integer keys (response codes), JSON does not: what ``Specification.from_dict`` does."""
    if isinstance(obj, dict):
        return {str(k): string_keys(v) for k, v in obj.items()}
    return obj


def specification(document: dict[str, Any]) -> OnceValidatedSpecification:
    """The Connexion specification of one of the mock's OpenAPI 3 documents."""
    return OnceValidatedSpecification(string_keys(document))
