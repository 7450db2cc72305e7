"""The layering rules of ARCHITECTURE.md, checked on the source (every import, lazy ones included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mock_server"
WEB_FRAMEWORKS = frozenset({"connexion", "starlette", "flask", "werkzeug", "uvicorn", "a2wsgi"})

# package (or top-level module) -> the mock_server parts it may import. What is not listed here
# only obeys the rules every module obeys (Connexion only in binding/).
MAY_IMPORT = {
    "errors": set(),
    "store": {"store", "errors"},
    "handlers": {"store", "errors"},
    "runtime": {"runtime", "store", "errors", "contract", "world", "resources", "history"},
    "world": {"world", "store", "errors", "resources"},
    "history": {"history", "store", "errors"},  # never the runtime: it is a library of the runtime
    "contract": {"resources"},
    "middleware": {"middleware", "runtime", "errors", "contract", "inspector", "logs"},
    "control": {
        "runtime",
        "store",
        "errors",
        "resources",
        "inspector",
        "binding.request_context",
        "stream",
        "converse",
    },
    "converse": {"converse", "runtime", "store", "errors", "world"},
    "inspector": set(),
    "stream": {"stream", "store", "errors"},
    "cluster": {"cluster", "store.keys"},
    # Test helpers reach the server over HTTP only (control_client.py); the kit reads convo files
    # with the converse package's parser (the standard library only).
    "testing": {"testing", "control_client", "converse.script", "converse.report"},
}
NO_WEB_FRAMEWORK = {
    "errors",
    "store",
    "handlers",
    "runtime",
    "world",
    "contract",
    "history",
    "converse",
    "cluster",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "mock_server":
            # from mock_server import errors: the module is mock_server.errors
            found.update(f"mock_server.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def part_of(path: Path) -> str:
    """``store`` for mock_server/store/flows.py, ``errors`` for mock_server/errors.py."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def internal(module: str) -> str | None:
    """``store.flows`` for ``mock_server.store.flows``; None for anything outside the package."""
    if module == "mock_server":
        return ""
    return module.removeprefix("mock_server.") if module.startswith("mock_server.") else None


MODULES = sorted(PACKAGE.rglob("*.py"))


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("path", MODULES, ids=_id)
def test_only_binding_imports_connexion(path: Path) -> None:
    if part_of(path) == "binding":
        return
    bad = {m for m in imported_modules(path) if m.split(".")[0] == "connexion"}
    assert not bad, f"{_id(path)} imports {bad}: Connexion is fenced in mock_server/binding/"


@pytest.mark.parametrize("path", [p for p in MODULES if part_of(p) in NO_WEB_FRAMEWORK], ids=_id)
def test_the_domain_imports_no_web_framework(path: Path) -> None:
    bad = {m for m in imported_modules(path) if m.split(".")[0] in WEB_FRAMEWORKS}
    assert not bad, f"{_id(path)} imports {bad}: the store, handlers, runtime and world know nothing of HTTP"


@pytest.mark.parametrize("path", [p for p in MODULES if part_of(p) in MAY_IMPORT], ids=_id)
def test_each_layer_imports_only_what_architecture_allows(path: Path) -> None:
    allowed = MAY_IMPORT[part_of(path)]
    bad = set()
    for module in imported_modules(path):
        name = internal(module)
        if name is None:
            continue
        if not any(name == ok or name.startswith(ok + ".") for ok in allowed):
            bad.add(module)
    assert not bad, f"{_id(path)} imports {sorted(bad)}; {part_of(path)} may import only {sorted(allowed)}"


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("world/generator.py")), ids=_id)
def test_the_generator_does_not_know_the_store(path: Path) -> None:
    assert not {m for m in imported_modules(path) if (internal(m) or "").startswith("store")}


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    """The checks above read real imports: a store module importing Starlette is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from starlette.responses import Response\n    import mock_server.handlers\n"
    )
    assert {"starlette.responses", "mock_server.handlers"} <= imported_modules(bad)


def _functions(path: Path) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("store/*.py")), ids=_id)
def test_store_methods_take_the_viewer_by_keyword(path: Path) -> None:
    """``viewer`` never moves between integer arguments: callers always write ``viewer=``."""
    positional = [
        f"{fn.name} (line {fn.lineno})"
        for fn in _functions(path)
        if "viewer" in [a.arg for a in fn.args.posonlyargs + fn.args.args]
    ]
    assert not positional, f"{_id(path)}: viewer is positional in {positional}"


def test_the_store_builds_no_http_header() -> None:
    """Headers such as ``Link`` are the handlers' business; the store returns data."""
    for path in sorted(PACKAGE.glob("store/*.py")):
        text = path.read_text(encoding="utf-8")
        assert '"Link"' not in text and "rel=" not in text, f"{_id(path)} builds an HTTP header"


# --- no import cycles ------------------------------------------------------------------------------
BENCH = PACKAGE.parent / "bench"


def _module_name(path: Path) -> str:
    """``mock_server.stream.hub`` for mock_server/stream/hub.py; a bench script by its own name
    (bench/streams.py is ``streams``: the bench imports its modules from beside itself)."""
    if path.is_relative_to(BENCH):
        return path.stem
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(paths: list[Path]) -> dict[str, set[str]]:
    """Module -> the modules of ``paths`` it imports at run time, lazy imports included.

    Imports under ``if TYPE_CHECKING:`` are left out: they only name a type for annotations (each
    store aggregate names the root ``Store`` it belongs to) and never run. ``from a import b``
    counts as importing ``a.b`` when that is a module, else ``a``; a submodule's implicit import of
    its package does not count."""
    names = {_module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(inner)
            for block in ast.walk(tree)
            if isinstance(block, ast.If)
            and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            for inner in ast.walk(block)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [
                    f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in names else node.module
                    for alias in node.names
                ]
            graph[name].update(t for t in targets if t in names and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    """No module of the package or the bench imports, however indirectly, a module that imports it
    back (cli -> runner -> cli, stream/hub -> stream/response -> hub, bench -> streams -> bench were)."""
    found = cycles(import_graph(MODULES + sorted(BENCH.glob("*.py"))))
    assert not found, f"import cycles: {found}"


def test_the_cycle_check_catches_a_cycle(tmp_path: Path) -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
