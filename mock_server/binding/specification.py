"""The mock's contracts as Connexion specifications, each distinct document validated and resolved once.

Connexion validates the whole document against the OpenAPI meta-schema each time it builds a
``Specification``: at every start (about half of ``create_app``) and again on every
``GET /openapi.json`` (it clones the spec per request). The verdict depends only on the document
and the library versions, so a valid document's digest is remembered, in the process and in a
small cache file (``$FLOWDOCK_MOCK_CACHE_DIR``, default ``~/.cache/flowdock-mock``), and the same
bytes are not validated again. An edited spec has a new digest and is validated.

The rest of building one (a deep copy of the document, its defaults, every ``$ref`` resolved:
about 20 ms of every start) depends on the same things, so what it makes (the raw and the
resolved document) is kept by the same digest, in the process and in the cache directory
(``specs/``, ``marshal``'s format: shared nodes stay shared), and a document already built is
read back instead: fresh objects each time, as a clone must be. An edited document, another
Connexion, jsonschema or Python has another digest and is built again.

This is a subclass used by the mock's own app only (``add_api`` in application.py builds it):
Connexion's ``Specification`` is left as it is, so another Connexion app in the same process (a
user's own, next to the pytest plugin) validates its documents exactly as Connexion does.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
from connexion.spec import OpenAPISpecification

from mock_server.resources import cache_dir


def _cache_file() -> Path:
    return cache_dir() / "validated-specs"


def _installed(module: ModuleType, name: str) -> str:
    """The version of the distribution that installed ``module``, as its metadata directory next
    to it names it (``connexion-3.2.0.dist-info``): ``importlib.metadata.version`` parses the
    metadata file with the email package, ~10 ms of imports at every start."""
    site = os.path.dirname(os.path.dirname(module.__file__ or ""))
    prefix = name.lower() + "-"
    with contextlib.suppress(OSError):
        for entry in os.listdir(site):
            if entry.lower().startswith(prefix) and entry.endswith(".dist-info"):
                return entry[len(prefix) : -len(".dist-info")]
    from importlib.metadata import version  # installed some other way

    return version(name)


@functools.cache
def _versions() -> bytes:
    """What a verdict and a built specification depend on besides the document."""
    import connexion
    import jsonschema

    return (
        f"connexion {_installed(connexion, 'connexion')} jsonschema {_installed(jsonschema, 'jsonschema')} "
        f"python {sys.version} marshal {marshal.version}"
    ).encode()


def _digest(spec: Any, purpose: bytes = b"") -> str | None:
    try:
        data = orjson.dumps(spec, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return None  # something orjson cannot encode: validate and build it every time
    return hashlib.sha256(_versions() + b"\0" + purpose + b"\0" + data).hexdigest()


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


class _Built:
    """Built specifications (``marshal`` of the raw and the resolved document) by digest: in this
    process, and as files of the cache directory."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: dict[str, bytes] = {}

    @staticmethod
    def _file(digest: str) -> Path:
        return cache_dir() / "specs" / f"{digest}.marshal"

    def get(self, digest: str) -> tuple[Any, Any] | None:
        with self.lock:
            data = self.data.get(digest)
        if data is None:
            with contextlib.suppress(OSError):
                data = self._file(digest).read_bytes()
        if data is None:
            return None
        try:
            raw, resolved = marshal.loads(data)
        except (ValueError, EOFError, TypeError):  # a damaged file: built again, written again
            return None
        with self.lock:
            self.data[digest] = data
        return raw, resolved

    def put(self, digest: str, raw: Any, resolved: Any) -> None:
        try:
            data = marshal.dumps((raw, resolved))
        except ValueError:
            return  # something marshal cannot write: built every time
        with self.lock:
            self.data[digest] = data
        path = self._file(digest)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(data)
            os.replace(partial, path)  # whole or absent, never half-written for another process


BUILT = _Built()


class OnceValidatedSpecification(OpenAPISpecification):  # type: ignore[misc]
    """Connexion's OpenAPI 3 specification, validated and built once per distinct document."""

    def __init__(self, raw_spec: Any, *, base_uri: str = "") -> None:
        digest = _digest(raw_spec, b"built " + base_uri.encode())
        built = BUILT.get(digest) if digest is not None else None
        if built is not None:  # what Specification.__init__ made of the same document
            self._raw_spec, self._spec = built
            self._base_uri = base_uri
            return
        super().__init__(raw_spec, base_uri=base_uri)  # refuses an invalid document
        if digest is not None:
            BUILT.put(digest, self._raw_spec, self._spec)

    @classmethod
    def _validate_spec(cls, spec: Any) -> None:
        digest = _digest(spec, b"valid")
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
