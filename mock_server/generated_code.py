"""The methods dataclasses generate, compiled once and kept for the next start.

A dataclass's ``__init__``, ``__repr__`` and ``__eq__`` (a frozen one's ``__setattr__``,
``__delattr__`` and ``__hash__`` too, an ordered one's comparisons) are Python source that the
``dataclasses`` module writes and compiles, one ``exec`` each, when the class is made. A serving
process makes about 50 dataclasses (the mock's own, Starlette's, Connexion's) before it answers:
compiling their 170 sources took about 20 ms, and they are the same sources at every start.

``keep()``, called by the serving process's entry (``cli.main``, beside
``server_imports.leave_unimported``), gives the ``dataclasses`` module an ``exec`` (a module's
globals come before the builtins) that compiles a source string through a table of code objects
read from the cache directory (``resources.cache_dir``, ``generated-code/``, ``marshal``'s
format, named by the digest of the Python build): a source met before is its stored code object,
which is what compiling it gives (the key is the source, the file name and the ``__future__``
flags ``exec`` would have passed on from its caller); a source not met before is compiled as
usual. ``save()``, once the server accepts connections, gives ``dataclasses`` the builtin back and
writes the table when the start compiled something it did not hold. An unreadable or unwritable
cache only costs the compiling.

Only the serving process does this, as with server_imports.py: the library a test suite imports,
and ``cli.main([...])`` called by another program, make their dataclasses as Python does.
"""

from __future__ import annotations
import __future__

import builtins
import contextlib
import dataclasses
import hashlib
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

from mock_server.resources import cache_dir

FUTURE_FLAGS = 0
"""The compiler flags of ``__future__`` imports, which ``exec`` passes on from the code calling it
(the bits of its ``co_flags`` that CPython's ``PyCF_MASK`` keeps)."""
for _feature in __future__.all_feature_names:
    if _feature not in ("nested_scopes", "generators"):  # always on, never passed on
        FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag

Key = tuple[int, str]
"""The ``__future__`` flags and the source of one compiled source (its file name: ``<string>``)."""


def cache_path() -> Path:
    build = hashlib.sha256(
        b"%s\0%d\0%s" % (sys.version.encode(), marshal.version, importlib.util.MAGIC_NUMBER)
    )
    return cache_dir() / "generated-code" / f"{build.hexdigest()[:32]}.marshal"


class CodeTable:
    """Compiled sources by ``Key``: those read from the cache file, and those this start used."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.known: dict[Key, CodeType] = {}
        self.used: dict[Key, CodeType] = {}
        self.compiled = 0
        """Sources this process compiled (not in the file it read)."""
        with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
            known = marshal.loads(path.read_bytes())
            if isinstance(known, dict):
                self.known = known

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """The builtin ``exec``, a source string compiled through the table."""
        frame = sys._getframe(1)
        if isinstance(source, str):
            key = (frame.f_code.co_flags & FUTURE_FLAGS, source)
            code = self.used.get(key) or self.known.get(key)
            if code is None:
                code = builtins.compile(source, "<string>", "exec", key[0], dont_inherit=True)
                self.compiled += 1
            self.used[key] = code
            source = code
        if globals is None:  # exec's defaults: its caller's namespaces, not this frame's
            globals = frame.f_globals
            if locals is None:
                locals = frame.f_locals
        builtins.exec(source, globals, locals)  # noqa: S102 (what dataclasses would have run)

    def save(self) -> None:
        """The sources this start used, for the next (written whole or not at all)."""
        if not self.compiled:
            return
        with contextlib.suppress(OSError, ValueError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(marshal.dumps(self.used))
            os.replace(partial, self.path)


_ACTIVE: list[CodeTable] = []


def keep() -> None:
    """Dataclasses made from now on compile through the cached table (this process, until ``save()``)."""
    if not _ACTIVE:
        table = CodeTable(cache_path())
        dataclasses.exec = table.exec  # type: ignore[attr-defined]
        _ACTIVE.append(table)


def save() -> None:
    """The server accepts connections: ``dataclasses`` has the builtin ``exec`` again, and the
    table is written when it grew."""
    if _ACTIVE:
        table = _ACTIVE.pop()
        if vars(dataclasses).get("exec") == table.exec:
            del dataclasses.exec  # type: ignore[attr-defined]
        table.save()
