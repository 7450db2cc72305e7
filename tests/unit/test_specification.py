"""The mock's specifications are validated once per distinct document (binding/specification.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from connexion.exceptions import InvalidSpecification

from mock_server.binding import specification as spec_module
from mock_server.binding.specification import OnceValidatedSpecification, specification


def _doc(title: str) -> dict[str, Any]:
    return {"openapi": "3.0.0", "info": {"title": title, "version": "1"}, "paths": {}}


def test_an_invalid_document_is_refused_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDOCK_MOCK_CACHE_DIR", str(tmp_path))
    invalid = {"openapi": "3.0.0", "info": {"title": "no version"}, "paths": {}}
    for _ in range(2):
        with pytest.raises(InvalidSpecification):
            specification(invalid)
    assert not (tmp_path / "validated-specs").exists()


def test_a_valid_document_is_validated_once_then_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWDOCK_MOCK_CACHE_DIR", str(tmp_path))
    calls = []
    original = OnceValidatedSpecification.__mro__[1]._validate_spec.__func__

    def counting(cls: Any, spec: Any) -> None:
        calls.append(spec["info"]["title"])
        original(cls, spec)

    # Count the stock validation behind ours, on Connexion's class, for this test only.
    monkeypatch.setattr(OnceValidatedSpecification.__mro__[1], "_validate_spec", classmethod(counting))
    title = f"remembered {id(calls)}"
    first = specification(_doc(title))
    first.clone()  # what GET /openapi.json does per request
    specification(_doc(title))
    assert calls == [title]
    assert len((tmp_path / "validated-specs").read_text(encoding="ascii").split()) == 1
    assert type(first.clone()) is OnceValidatedSpecification


def test_response_codes_become_string_keys() -> None:
    doc = _doc("int keys")
    doc["paths"] = {"/x": {"get": {"responses": {200: {"description": "ok"}}}}}
    spec = specification(doc)
    assert list(spec["paths"]["/x"]["get"]["responses"]) == ["200"]
    assert spec_module.string_keys({1: {2: 3}}) == {"1": {"2": 3}}
