"""What a serving process leaves unimported: the parts of its libraries a server never runs.

Importing Connexion takes most of the time ``flowdock-mock serve`` needs before it answers, and
much of that goes to modules it imports for features the mock does not use: Starlette's test
client (``connexion.apps.abstract`` imports it for ``App.test_client``; it brings httpx, whose
package imports its command line client, rich, click and pygments), ``requests`` (for the remote
``$ref``s of ``connexion.json_schema``; the mock's specs have none), Flask (Connexion's
optional ``flask`` extra; the mock is an ``AsyncApp``) and the parts of Werkzeug Connexion
imports only for Flask (``werkzeug/__init__`` imports its development server, its test client and
its WSGI request wrapper; Connexion's ASGI app uses its local proxies only). ``leave_unimported()``, called when the process's
entry (``cli.main()`` reading ``sys.argv``: the console script, ``python -m mock_server``) runs
``serve``, before it builds the app, makes those imports cheap:

- ``ABSENT`` modules are not found, exactly as if their optional dependency were not installed;
  each importer handles that (httpx defines a ``main`` that says so, Connexion leaves its Flask
  app and framework undefined);
- ``DEFERRED`` modules are stand-ins that import the real module the first time anything but
  the named attributes is read, and whose named attributes import it when called
  (``TestClient(app)`` still makes a real test client).

Only the serving process does this (never the library a test suite imports, nor ``cli.main([...])``
called by another program): nothing in it runs the parts left out, and ``tests/unit/test_server_imports.py`` checks a served mock still answers
with them left out.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

ABSENT = frozenset({"httpx._main", "flask", "connexion.apps.flask", "connexion.frameworks.flask"})
"""Not found in a serving process (optional for each importer)."""

DEFERRED: dict[str, tuple[str, ...]] = {
    "starlette.testclient": ("TestClient",),
    "requests": (),
    "httpx": (),
    "uvicorn": ("Config",),  # uvicorn.lifespan's annotation; the package imports click for its CLI
    # uvicorn.config wraps a WSGI app in it (a2wsgi's too): the mock is an ASGI app
    "uvicorn.middleware.wsgi": ("WSGIMiddleware",),
    "jinja2": ("pass_context",),
    # werkzeug/__init__ imports its development server, its test client and its WSGI wrappers
    # (http.server, socketserver, the form parser, ~50 ms); connexion.lifecycle names its Request
    # in an annotation, werkzeug.local's ClosingIterator serves a WSGI middleware: neither runs
    "werkzeug.serving": ("run_simple",),
    "werkzeug.test": ("Client",),
    "werkzeug.wrappers": ("Request", "Response"),
    "werkzeug.wsgi": ("ClosingIterator",),
    # the standard library's, read by functions that run on rarer paths: Starlette's HTTPException
    # (``http.client.responses``, with it the email package), its cookies and its debug page's
    # escaping, connexion.json_schema's remote references
    "http.client": (),
    "http.cookies": (),
    "html": (),
    "urllib.request": (),
    # uvicorn.config's, for a log_config the mock never gives it (configure_logging() owns the
    # format): logging.config imports logging.handlers, pickle and socketserver; RawConfigParser
    # is a name in an annotation
    "logging.config": (),
    "configparser": ("RawConfigParser",),
}
"""Module -> the attributes imported by name (``from m import a``), which stand in until called."""

PARENT_IMPORTS_IT = frozenset({"werkzeug"})
"""Packages whose ``__init__`` imports their ``DEFERRED`` submodules: not imported for the stand-in
(any other parent is, and gets the stand-in as its attribute, as ``import http.client`` expects)."""


class _Absent:
    """A meta path finder that finds ``ABSENT`` modules nowhere."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname in self.names:
            raise ModuleNotFoundError(f"{fullname} is left out of a serving flowdock-mock", name=fullname)


def _real(name: str) -> types.ModuleType:
    """The real module ``name``, imported now in place of its stand-in."""
    stand_in = sys.modules.get(name)
    if isinstance(stand_in, _StandIn):
        del sys.modules[name]
        module = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        if parent and parent in sys.modules:
            setattr(sys.modules[parent], child, module)
        return module
    return importlib.import_module(name)


class _StandIn(types.ModuleType):
    """A deferred module: any attribute read imports the real one (see the module docstring)."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # what the import system asks of any module
            raise AttributeError(attribute)
        return getattr(_real(self.__name__), attribute)


def _deferred_attribute(module: str, attribute: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_real(module), attribute)(*args, **kwargs)

    call.__name__ = call.__qualname__ = attribute
    call.__doc__ = f"``{module}.{attribute}``, imported when first called."
    return call


def _locate(name: str) -> importlib.machinery.ModuleSpec | None:
    """Where module ``name`` is, running nothing of it nor of its parent packages
    (``importlib.util.find_spec`` of a submodule imports its parent, which may import it)."""
    parent, _, _ = name.rpartition(".")
    if not parent:
        return importlib.util.find_spec(name)
    if parent in sys.modules:  # imported, or a stand-in (which has its package's __path__)
        locations = getattr(sys.modules[parent], "__path__", None)
    else:
        parent_spec = _locate(parent)
        locations = None if parent_spec is None else parent_spec.submodule_search_locations
    if locations is None:
        return None
    return importlib.machinery.PathFinder.find_spec(name, list(locations))


def leave_unimported() -> None:
    """Leave ``ABSENT`` and ``DEFERRED`` unimported in this process (the server's, at its start)."""
    if not any(isinstance(finder, _Absent) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Absent(ABSENT))
    for name, attributes in DEFERRED.items():
        if name in sys.modules:
            continue  # already imported: nothing to save
        spec = _locate(name)
        if spec is None:
            continue
        stand_in = _StandIn(name)
        stand_in.__spec__ = None
        if spec.submodule_search_locations is not None:  # a package: its submodules import as usual
            stand_in.__path__ = list(spec.submodule_search_locations)
        for attribute in attributes:
            setattr(stand_in, attribute, _deferred_attribute(name, attribute))
        sys.modules[name] = stand_in
        parent, _, child = name.rpartition(".")
        if parent and parent not in PARENT_IMPORTS_IT:
            setattr(importlib.import_module(parent), child, stand_in)
