"""MkDocs hooks (mkdocs.yml ``hooks:``): the generated reference pages join the site at build time.

The pages are written by ``docs/reference.py``: the two references from the CLI's option table and
``spec/control.yaml``, the home page from README.md and the contributing page from CONTRIBUTING.md.
Nothing generated is committed, so nothing can drift.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]


def on_files(files: Files, config: Any) -> Files:
    for src_uri, write in reference.PAGES.items():
        files.append(File.generated(config, src_uri, content=write()))
    files.append(File.generated(config, "index.md", content=reference.front_page(ROOT / "README.md")))
    files.append(
        File.generated(config, "contributing.md", content=reference.repository_page(ROOT / "CONTRIBUTING.md"))
    )
    return files
