"""The inspector page and the admin-token prompt, built from the files in ``assets/``.

The page is one HTML document with its stylesheet and script inlined when it is served, so it
needs no build step, nothing from the internet, and exactly one request that the admin token
guards. The script then talks to the control API and the Flowdock API with ``fetch``, sending the
admin token as ``Authorization: Bearer`` (inspector.js).

With an admin token configured, a browser that opens any page under ``/_mock/`` without it gets
the prompt page (still a 401, and nothing of the mock's state): it asks for the token once, keeps
it in ``sessionStorage`` and in a session cookie limited to ``/_mock`` with ``SameSite=Strict``,
and reloads. The cookie is what lets the browser load what it cannot add a header to (the Swagger
UI's scripts, the page itself); it is accepted for ``GET`` and ``HEAD`` only, so a cross-site form
can never change the mock's state with it, and the CORS layer never allows credentials. The
gate itself is middleware/admin_gate.py.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def _asset(name: str) -> str:
    return resources.files("mock_server.inspector").joinpath("assets", name).read_text(encoding="utf-8")


def render_page(hints: dict[str, Any]) -> str:
    """The inspector, its CSS and JS inlined; ``hints`` is data the script reads at start."""
    page = _asset("index.html")
    data = json.dumps(hints).replace("<", "\\u003c")  # never closes the script element
    return (
        page.replace("/*INSPECTOR_CSS*/", _asset("inspector.css"))
        .replace("/*INSPECTOR_HINTS*/null", data)
        .replace("/*INSPECTOR_JS*/", _asset("inspector.js"))
    )


def prompt_page() -> bytes:
    """The page a browser gets instead of a guarded page when it has no admin token."""
    return _asset("prompt.html").encode()
