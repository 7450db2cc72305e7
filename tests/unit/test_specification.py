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


def _with_ref(description: str) -> dict[str, Any]:
    doc = _doc("built")
    doc["paths"] = {
        "/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/Ok"}}}},
        "/y": {"get": {"responses": {"200": {"$ref": "#/components/responses/Ok"}}}},
    }
    doc["components"] = {"responses": {"Ok": {"description": description}}}
    return doc


def test_a_built_specification_is_read_back_as_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDOCK_MOCK_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(spec_module, "BUILT", spec_module._Built())  # nothing from this process
    built = specification(_with_ref("fine"))
    assert built.spec["paths"]["/x"]["get"]["responses"]["200"] == {"description": "fine"}  # resolved
    assert len(list((tmp_path / "specs").iterdir())) == 1

    monkeypatch.setattr(spec_module, "BUILT", spec_module._Built())  # another process: the file
    resolve = pytest.fail  # building again would resolve the references again
    monkeypatch.setattr("connexion.spec.resolve_refs", lambda *args, **kwargs: resolve("built again"))
    read = specification(_with_ref("fine"))
    assert (read.raw, read.spec, read.base_path) == (built.raw, built.spec, built.base_path)
    again = specification(_with_ref("fine"))
    assert again.spec == read.spec and again.spec is not read.spec  # fresh objects each time
    clone = read.clone()
    clone.base_path = "/moved"
    assert read.base_path == built.base_path  # a clone's change stays its own


def test_an_edited_document_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDOCK_MOCK_CACHE_DIR", str(tmp_path))
    assert specification(_with_ref("first")).spec["paths"]["/y"]["get"]["responses"]["200"] == {
        "description": "first"
    }
    edited = specification(_with_ref("second"))
    assert edited.spec["paths"]["/y"]["get"]["responses"]["200"] == {"description": "second"}
    assert edited.raw["components"]["responses"]["Ok"] == {"description": "second"}
    assert len(list((tmp_path / "specs").iterdir())) == 2


def test_a_damaged_built_file_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDOCK_MOCK_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(spec_module, "BUILT", spec_module._Built())
    specification(_with_ref("damaged"))
    (cached,) = (tmp_path / "specs").iterdir()
    cached.write_bytes(b"\x00garbage")
    monkeypatch.setattr(spec_module, "BUILT", spec_module._Built())
    read = specification(_with_ref("damaged"))
    assert read.spec["paths"]["/x"]["get"]["responses"]["200"] == {"description": "damaged"}


def test_the_versions_a_cached_build_depends_on_are_the_installed_ones() -> None:
    # read from the dist-info directory names (importlib.metadata parses the metadata with the
    # email package, whose import every start would pay): the same versions
    from importlib.metadata import version

    import connexion
    import jsonschema

    assert spec_module._installed(connexion, "connexion") == version("connexion")
    assert spec_module._installed(jsonschema, "jsonschema") == version("jsonschema")
    assert f"connexion {version('connexion')} jsonschema {version('jsonschema')} ".encode() in (
        spec_module._versions()
    )


def test_a_module_installed_without_dist_info_falls_back_to_its_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    stray = types.ModuleType("connexion")
    stray.__file__ = str(tmp_path / "nowhere" / "connexion" / "__init__.py")  # no dist-info beside it
    from importlib.metadata import version

    assert spec_module._installed(stray, "connexion") == version("connexion")
