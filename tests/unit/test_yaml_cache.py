"""contract.py: a YAML document is parsed once per content, and the cache never changes what is read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mock_server.contract import _load_yaml, load_spec
from mock_server.resources import spec_path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOWDOCK_MOCK_CACHE_DIR", str(tmp_path))
    return tmp_path / "parsed"


def test_the_cached_document_is_the_parsed_one(cache: Path) -> None:
    first = load_spec()
    assert len(list(cache.iterdir())) == 1
    second = load_spec()
    assert second == first
    parsed = yaml.safe_load(spec_path().read_text(encoding="utf-8"))
    parsed.pop("x-error-responses", None)
    assert second == parsed  # integer keys (response codes) stay integers


def test_an_edited_document_is_parsed_again(cache: Path, tmp_path: Path) -> None:
    doc = tmp_path / "doc.yaml"
    doc.write_text("a: 1\n", encoding="utf-8")
    assert _load_yaml(doc) == {"a": 1}
    doc.write_text("a: 2\n", encoding="utf-8")
    assert _load_yaml(doc) == {"a": 2}
    assert len(list(cache.iterdir())) == 2


def test_a_damaged_cache_file_is_parsed_again(cache: Path, tmp_path: Path) -> None:
    doc = tmp_path / "doc.yaml"
    doc.write_text("a: [1, 2]\n", encoding="utf-8")
    _load_yaml(doc)
    (cached,) = cache.iterdir()
    cached.write_bytes(b"\x00garbage")
    assert _load_yaml(doc) == {"a": [1, 2]}
