"""The inspector page, its scripts and the admin-token prompt, built from the files in ``assets/``.

The page is one HTML document with its stylesheet inlined when it is served; its script is a set
of ES modules, one per panel (``main.js`` starts the page and imports the others), served as files
from this package at ``/_mock/assets/<name>.js`` behind the same admin gate as the page. No build
step and nothing from the internet; the page's Content-Security-Policy allows ``'self'`` scripts
and the hash of its one inline script (the start-up hints), never ``'unsafe-inline'``
(middleware/page_policy.py). The scripts talk to the control API and the Flowdock API with
``fetch``, sending the admin token as ``Authorization: Bearer`` (api.js).

With an admin token configured, a browser that opens any page under ``/_mock/`` without it gets
the prompt page (still a 401, and nothing of the mock's state): it asks for the token once, keeps
it in ``sessionStorage`` and in a session cookie limited to ``/_mock`` with ``SameSite=Strict``,
and reloads. The cookie is what lets the browser load what it cannot add a header to (the Swagger
UI's scripts, the page itself and its modules); it is accepted for ``GET`` and ``HEAD`` only, so
a cross-site form can never change the mock's state with it, and the CORS layer never allows
credentials. The gate itself is middleware/admin_gate.py.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

_MODULE_NAME = re.compile(r"[a-z][a-z0-9_-]*\.js")


@functools.cache
def _asset(name: str) -> str:
    return resources.files("mock_server.inspector").joinpath("assets", name).read_text(encoding="utf-8")


def render_page(hints: dict[str, Any]) -> str:
    """The inspector, its CSS inlined; ``hints`` is data the scripts can read at start."""
    page = _asset("index.html")
    data = json.dumps(hints).replace("<", "\\u003c")  # never closes the script element
    return page.replace("/*INSPECTOR_CSS*/", _asset("inspector.css")).replace("/*INSPECTOR_HINTS*/null", data)


def module_names() -> frozenset[str]:
    """The names of the page's ES modules (``main.js`` and the one of each panel it imports)."""
    folder = resources.files("mock_server.inspector").joinpath("assets")
    return frozenset(f.name for f in folder.iterdir() if _MODULE_NAME.fullmatch(f.name))


def module_script(name: str) -> str | None:
    """The source of the module ``name`` (``main.js``, ``chat.js``…), or None for any other name."""
    return _asset(name) if name in module_names() else None


def prompt_page() -> bytes:
    """The page a browser gets instead of a guarded page when it has no admin token."""
    return _asset("prompt.html").encode()
