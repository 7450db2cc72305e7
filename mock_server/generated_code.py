"""What a serving process compiles at every start the same way, compiled once and kept for the next.

- *Dataclasses' methods*: a dataclass's ``__init__``, ``__repr__`` and ``__eq__`` (a frozen one's
  ``__setattr__``, ``__delattr__`` and ``__hash__`` too, an ordered one's comparisons) are Python
  source that the ``dataclasses`` module writes and compiles, one ``exec`` each, when the class is
  made. A serving process makes about 50 dataclasses (the mock's own, Starlette's, Connexion's)
  before it answers: compiling their 170 sources took about 20 ms. attrs writes and compiles its
  classes' methods likewise (``attr._make``: ``compile``), for jsonschema's and referencing's
  classes: about 50 sources, of which the 22 without a ``__hash__`` (about 4 ms) are the same at
  every start (attrs writes into each ``__hash__`` a number of the process's string hashing).
- *Regular expressions*: ``re`` parses a pattern and turns it into the program its C engine runs
  (``re._compiler.compile``: ``_parser.parse``, ``_code``, then ``_sre.compile``), in Python. A
  start compiles about 75 patterns (PyYAML's reader and resolver, tokenize's, the format
  checkers', the mock's own): about 15 ms.

``keep()``, called by the serving process's entry (``cli.main``, beside
``server_imports.leave_unimported``), makes both go through tables read from the cache directory
(``resources.cache_dir``, ``generated-code/``, ``marshal``'s format, named by the digest of the
Python build). The ``dataclasses`` module gets an ``exec`` (a module's globals come before the
builtins) that compiles a source string through the code table: a source met before is its
stored code object, which is what compiling it gives (the key is the source, the file name and the
``__future__`` flags ``exec`` would have passed on from its caller); ``attr._make``, as it is
loaded, gets a ``compile`` that does the same (``_Hooking``). ``re._compiler.compile``
becomes a function that looks a pattern string and its flags up in the pattern table and hands
the stored program to ``_sre.compile``, as the original does after computing it; a pattern not met
before is compiled by the original, and its program is kept only when the pattern built from it
is equal to the original's (``Pattern.__eq__`` compares the flags and the program; the group
names are compared too). What is not in the tables is compiled as usual. ``save()``, a second
after the server accepts connections (or as it stops, if sooner), puts the functions back and
writes the tables when the start compiled a few things they did not hold (``WORTH_WRITING``). An unreadable or unwritable cache
only costs the compiling.

Only the serving process does this, as with server_imports.py: the library a test suite imports,
and ``cli.main([...])`` called by another program, compile as Python does.
"""

from __future__ import annotations
import __future__

import asyncio
import builtins
import contextlib
import dataclasses
import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import re
import sys
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from mock_server.resources import cache_dir

try:  # CPython's own: the pattern table is used only where they are what it expects
    import _sre  # type: ignore[import-not-found]
    from re import _compiler, _parser  # type: ignore[attr-defined]

    _COMPILE = _compiler.compile
    _PATTERNS = all(callable(f) for f in (_COMPILE, _compiler._code, _parser.parse, _sre.compile))
except (ImportError, AttributeError):  # pragma: no cover - another Python
    _PATTERNS = False

FUTURE_FLAGS = 0
"""The compiler flags of ``__future__`` imports, which ``exec`` passes on from the code calling it
(the bits of its ``co_flags`` that CPython's ``PyCF_MASK`` keeps)."""
for _feature in __future__.all_feature_names:
    if _feature not in ("nested_scopes", "generators"):  # always on, never passed on
        FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag

SourceKey = tuple[int, str, str]
"""The ``__future__`` flags, the file name and the source of one compiled source."""
PatternKey = tuple[str | bytes, int]
"""A pattern and its flags, as ``re`` compiles them."""
Program = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]
"""What ``_sre.compile`` makes a pattern of: its flags (the inline ones added), its code, the
number of its groups less one, group names to numbers and numbers to names."""


FORMAT = b"sources by flags, file name and text; patterns"
"""What the cache file holds (a file of another layout has another name)."""


def cache_path() -> Path:
    build = hashlib.sha256(
        b"%s\0%d\0%s\0%s" % (sys.version.encode(), marshal.version, importlib.util.MAGIC_NUMBER, FORMAT)
    )
    return cache_dir() / "generated-code" / f"{build.hexdigest()[:32]}.marshal"


def _program(pattern: str | bytes, flags: int) -> Program:
    """What ``re._compiler.compile`` passes ``_sre.compile`` for ``pattern`` (its steps, in order)."""
    parsed = _parser.parse(pattern, flags)
    code = [int(op) for op in _compiler._code(parsed, flags)]  # its opcodes are an int subclass
    groupindex = parsed.state.groupdict
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return flags | parsed.state.flags, code, parsed.state.groups - 1, dict(groupindex), tuple(indexgroup)


class Tables:
    """Compiled sources by ``SourceKey`` and pattern programs by ``PatternKey``: those read from
    the cache file, and those this start used."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.known: dict[SourceKey, CodeType] = {}
        self.used: dict[SourceKey, CodeType] = {}
        self.known_patterns: dict[PatternKey, Program] = {}
        self.used_patterns: dict[PatternKey, Program] = {}
        self.compiled = 0
        """Sources this process compiled (not in the file it read)."""
        self.compiled_patterns = 0
        """Patterns this process compiled (not in the file it read)."""
        with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
            sources, patterns = marshal.loads(path.read_bytes())
            if isinstance(sources, dict) and isinstance(patterns, dict):
                self.known, self.known_patterns = sources, patterns

    def code(self, source: str, filename: str, flags: int, *, keep: bool = True) -> CodeType:
        """``source`` compiled in ``exec`` mode with ``flags``: from the table, else compiled
        (and kept for the next start unless ``keep`` is false)."""
        key = (flags, filename, source)
        code = self.used.get(key) or self.known.get(key)
        if code is None:
            code = builtins.compile(source, filename, "exec", flags, dont_inherit=True)
            if not keep:
                return code  # type: ignore[no-any-return]
            self.compiled += 1
        self.used[key] = code
        return code

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """The builtin ``exec``, a source string compiled through the table."""
        frame = sys._getframe(1)
        if isinstance(source, str):
            source = self.code(source, "<string>", frame.f_code.co_flags & FUTURE_FLAGS)
        if globals is None:  # exec's defaults: its caller's namespaces, not this frame's
            globals = frame.f_globals
            if locals is None:
                locals = frame.f_locals
        builtins.exec(source, globals, locals)  # noqa: S102 (what dataclasses would have run)

    def compile(
        self,
        source: Any,
        filename: Any,
        mode: str,
        flags: int = 0,
        dont_inherit: bool = False,
        optimize: int = -1,
        **options: Any,
    ) -> Any:
        """The builtin ``compile`` (attrs'), a source string's code object from the table. The
        ``__hash__`` attrs writes holds a number drawn from the process's string hashing, so a
        source with one is new at every start: compiled, never kept."""
        if not dont_inherit:  # the caller's __future__ flags, as compile takes them
            flags |= sys._getframe(1).f_code.co_flags & FUTURE_FLAGS
        plain = mode == "exec" and not (flags & ~FUTURE_FLAGS) and optimize == -1 and not options
        if plain and isinstance(source, str) and isinstance(filename, str):
            return self.code(source, filename, flags, keep="def __hash__" not in source)
        return builtins.compile(source, filename, mode, flags, True, optimize, **options)

    def compile_pattern(self, pattern: Any, flags: int = 0) -> Any:
        """``re._compiler.compile``, a pattern string's program read from the table."""
        if not isinstance(pattern, (str, bytes)) or flags & re.DEBUG:
            return _COMPILE(pattern, flags)
        key = (pattern, int(flags))
        program = self.used_patterns.get(key) or self.known_patterns.get(key)
        if program is not None:
            self.used_patterns[key] = program
            return _sre.compile(pattern, *program)
        compiled = _COMPILE(pattern, flags)  # an invalid pattern raises here, as always
        self.compiled_patterns += 1
        program = _program(pattern, int(flags))
        rebuilt = _sre.compile(pattern, *program)
        if rebuilt == compiled and rebuilt.groupindex == compiled.groupindex:
            self.used_patterns[key] = program
        return compiled

    def save(self) -> None:
        """What this start used, for the next (written whole or not at all); what the file held
        besides is kept while it is no more than this start used (another checkout's classes).
        A start that compiled fewer than ``WORTH_WRITING`` things leaves the file as it is."""
        if self.compiled + self.compiled_patterns < WORTH_WRITING:
            return
        sources = {**self.known, **self.used}
        patterns = {**self.known_patterns, **self.used_patterns}
        if len(sources) > 2 * len(self.used) or len(patterns) > 2 * len(self.used_patterns):
            sources, patterns = self.used, self.used_patterns  # stale entries dropped
        with contextlib.suppress(OSError, ValueError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(marshal.dumps((sources, patterns)))
            os.replace(partial, self.path)


SAVE_AFTER_S = 1.0
"""The server's first second still compiles through the tables, then ``save()`` (cli/serve.py): its
first requests compile the patterns of the routes they reach (binding/dispatch.py ``_Route``)."""

WORTH_WRITING = 3
"""Fewer new sources and patterns than this are not worth writing the file again for, before the
first request: some are new at every start (tokenize's token pattern joins the string prefixes of
a set, whose order follows the process's string hashing)."""

ATTRS = "attr._make"
"""The module of attrs that compiles the methods it writes (``_compile_and_eval``: ``compile``)."""


class _Hooking:
    """A meta path finder that, as ``ATTRS`` is loaded, gives it the table's ``compile`` (a
    module's globals come before the builtins); every other module is left to the other finders."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != ATTRS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = None if spec is None else spec.loader
        if loader is not None and hasattr(loader, "exec_module"):
            load = loader.exec_module

            def exec_module(module: ModuleType) -> None:
                module.compile = self.tables.compile  # type: ignore[attr-defined]
                load(module)

            loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_ACTIVE: list[tuple[Tables, _Hooking]] = []


def keep() -> None:
    """Dataclasses and patterns made from now on compile through the cached tables (this process,
    until ``save()``)."""
    if not _ACTIVE:
        tables = Tables(cache_path())
        dataclasses.exec = tables.exec  # type: ignore[attr-defined]
        if _PATTERNS:
            _compiler.compile = tables.compile_pattern
        hooking = _Hooking(tables)
        if ATTRS in sys.modules:  # imported already (not by a serving process's start)
            sys.modules[ATTRS].compile = tables.compile  # type: ignore[attr-defined]
        else:
            sys.meta_path.insert(0, hooking)
        _ACTIVE.append((tables, hooking))


def save_soon() -> None:
    """The server accepts connections (called in its event loop): ``save()`` in ``SAVE_AFTER_S``."""
    if _ACTIVE:
        asyncio.get_running_loop().call_later(SAVE_AFTER_S, lambda: save())  # save as it is then


def save() -> None:
    """A second into serving, or at the server's stop: ``dataclasses`` has the builtin ``exec``
    again, ``re`` its own compile, and the tables are written when they grew."""
    if _ACTIVE:
        tables, hooking = _ACTIVE.pop()
        if vars(dataclasses).get("exec") == tables.exec:
            del dataclasses.exec  # type: ignore[attr-defined]
        if _PATTERNS and _compiler.compile == tables.compile_pattern:
            _compiler.compile = _COMPILE
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(hooking)
        attrs = sys.modules.get(ATTRS)
        if attrs is not None and vars(attrs).get("compile") == tables.compile:
            del attrs.compile
        tables.save()
