"""generated_code.py: a serving process compiles what dataclasses generate, and its regular
expressions, once, and reads them back.

Each check runs in fresh interpreters (the hook changes the ``dataclasses`` module of the whole
process) with their own cache directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SAMPLES = textwrap.dedent(
    """
    import dataclasses, json, sys
    from mock_server import generated_code

    def make():
        # a module's classes, as a module makes them: plain, frozen and hashable, ordered, slotted
        @dataclasses.dataclass
        class Plain:
            a: int
            b: list = dataclasses.field(default_factory=list)

        @dataclasses.dataclass(frozen=True, slots=True)
        class Frozen:
            name: str
            size: int = 3

        @dataclasses.dataclass(order=True)
        class Ordered:
            rank: int
            label: str = "x"

        return Plain, Frozen, Ordered

    def behaviour(Plain, Frozen, Ordered):
        frozen = Frozen("n")
        try:
            frozen.size = 4
            refused = None
        except dataclasses.FrozenInstanceError as exc:
            refused = str(exc)
        return [repr(Plain(1)), Plain(1) == Plain(1, []), Plain(1) == Plain(2), repr(frozen),
                hash(frozen) == hash(Frozen("n")), refused, Ordered(1) < Ordered(2, "a"),
                sorted([Ordered(2), Ordered(1, "b")]) == [Ordered(1, "b"), Ordered(2)],
                repr(Plain.__init__.__annotations__)]

    def make_attrs():
        import attr  # imported after keep(): its methods compile through the table

        @attr.s(eq=False)
        class Listed:
            a = attr.ib()
            b = attr.ib(factory=list)

        @attr.s(frozen=True)  # hashable: attrs writes a number of the process's hashing into it
        class Hashed:
            name = attr.ib()

        return Listed, Hashed

    def attrs_behaviour(Listed, Hashed):
        return [repr(Listed(1)), Listed(1) == Listed(1), repr(Hashed("n")), Hashed("n") == Hashed("n"),
                hash(Hashed("n")) == hash(Hashed("n"))]

    def codes(*classes):
        return [getattr(cls, name).__code__ for cls in classes
                for name in ("__init__", "__repr__", "__eq__", "__setattr__", "__hash__", "__lt__")
                if getattr(getattr(cls, name), "__code__", None) is not None]

    import re

    PATTERNS = [("(?P<word>[a-z]+)-(?P<n>\\\\d+)", 0), (b"[a-z]+ (?#a comment)x", re.IGNORECASE),
                ("(?x) a  # spaced\\n b", 0), ("(?i)caf\u00e9|(?:na(?=ve))", 0), ("^/flows/(?P<o>[^/]+)$", 0)]

    def patterns():
        re.purge()  # re's own cache of the process
        return [re.compile(pattern, flags) for pattern, flags in PATTERNS]

    def found(compiled):
        subjects = ["abc-12", b"ABC X", "ab", "CAFÉ nave", "/flows/acme"]
        return [[c.pattern if isinstance(c.pattern, str) else c.pattern.decode(), c.flags, c.groups,
                 dict(c.groupindex), repr(c.match(subject))] for c, subject in zip(compiled, subjects)]

    def refusal():
        try:
            re.compile("(?P<x>a")
        except re.error as exc:
            return str(exc)

    generated_code.keep()
    kept = make()
    kept_patterns = patterns()
    kept_attrs = make_attrs()
    table = generated_code._ACTIVE[0][0]
    result = {"compiled": table.compiled, "used": len(table.used), "behaviour": behaviour(*kept),
              "patterns compiled": table.compiled_patterns, "patterns used": len(table.used_patterns),
              "found": found(kept_patterns), "refusal": refusal(), "attrs": attrs_behaviour(*kept_attrs),
              "attrs kept": sorted({filename for _, filename, _ in table.used if filename != "<string>"})}
    generated_code.save()
    fresh = make()  # dataclasses' own exec again: compiled here, as without the table
    fresh_patterns = patterns()  # and re's own compile
    fresh_attrs = make_attrs()  # and attrs' own
    result["attrs again"] = "compile" not in vars(sys.modules["attr._make"])
    result["same attrs"] = (attrs_behaviour(*fresh_attrs) == result["attrs"]
                            and codes(*kept_attrs) == codes(*fresh_attrs) and len(codes(*kept_attrs)) >= 4)
    result["builtin again"] = "exec" not in vars(dataclasses)
    result["same behaviour"] = behaviour(*fresh) == result["behaviour"]
    result["same code"] = codes(*kept) == codes(*fresh) and len(codes(*kept)) >= 10
    result["same patterns"] = (kept_patterns == fresh_patterns and found(fresh_patterns) == result["found"]
                               and all(a is not b for a, b in zip(kept_patterns, fresh_patterns)))
    result["same refusal"] = refusal() == result["refusal"]
    print(json.dumps(result))
    """
)


def _run(script: str, cache: Path, *args: str) -> dict[str, object]:
    env = {**os.environ, "FLOWDOCK_MOCK_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_dataclass_source_compiled_once_is_read_back_the_same(tmp_path: Path) -> None:
    first = _run(SAMPLES, tmp_path)
    second = _run(SAMPLES, tmp_path)
    assert first["compiled"] == first["used"] and first["used"] >= 10  # nothing cached yet
    assert second["compiled"] == 0 and second["used"] == first["used"]  # every source read back
    assert list((tmp_path / "generated-code").glob("*.marshal"))
    for result in (first, second):
        # the classes made through the table are the ones Python makes: same code objects (the
        # __future__ flags included: the return annotation is the object, not a string), same
        # repr, equality, hash, frozen refusal and order
        assert result["builtin again"] is True
        assert result["same behaviour"] is True
        assert result["same code"] is True
    assert second["behaviour"] == first["behaviour"]
    # the generated __init__ is compiled without the table module's own __future__ annotations
    assert first["behaviour"][-1] == "{'a': <class 'int'>, 'b': <class 'list'>, 'return': None}"


def test_a_pattern_compiled_once_is_read_back_the_same(tmp_path: Path) -> None:
    first = _run(SAMPLES, tmp_path)
    second = _run(SAMPLES, tmp_path)
    assert first["patterns compiled"] == first["patterns used"] >= 5  # nothing cached yet (attrs' too)
    assert second["patterns compiled"] == 0 and second["patterns used"] == first["patterns used"]
    for result in (first, second):
        # equal patterns (flags and program), the same groups and names, the same matches, the
        # same error for an invalid pattern (never kept)
        assert result["same patterns"] is True
        assert result["same refusal"] is True
    assert second["found"] == first["found"]
    assert first["found"][0][3:] == [{"word": 1, "n": 2}, "<re.Match object; span=(0, 6), match='abc-12'>"]
    assert first["refusal"] == "missing ), unterminated subpattern at position 0"


def test_attrs_methods_compiled_once_are_read_back_the_same(tmp_path: Path) -> None:
    first = _run(SAMPLES, tmp_path)
    second = _run(SAMPLES, tmp_path)
    for result in (first, second):
        # the same code objects, repr, equality and hash; attrs' compile is its own again after save
        assert result["same attrs"] is True
        assert result["attrs again"] is True
    assert second["attrs"] == first["attrs"] == ["Listed(a=1, b=[])", False, "Hashed(name='n')", True, True]
    # a class without a __hash__ is kept; one with (a number of the process's string hashing in
    # its source) is compiled at each start and never kept
    assert "<attrs generated methods __main__.make_attrs.<locals>.Listed>" in first["attrs kept"]  # type: ignore[operator]
    assert not [name for name in first["attrs kept"] if "Hashed" in name]  # type: ignore[union-attr]
    assert second["compiled"] == 0


def test_an_unreadable_cache_only_costs_the_compiling(tmp_path: Path) -> None:
    _run(SAMPLES, tmp_path)
    for kept in (tmp_path / "generated-code").glob("*.marshal"):
        kept.write_bytes(b"not marshal data")
    again = _run(SAMPLES, tmp_path)
    assert again["compiled"] == again["used"]
    assert again["same code"] is True


ENTRY = textwrap.dedent(
    """
    import base64, json, os, socket, sys, threading
    from mock_server import cli, generated_code
    from mock_server.world import MAIN_USER

    save = generated_code.save

    def report():  # a second into serving: what the start and its first request compiled, then stop
        tables = generated_code._ACTIVE[0][0] if generated_code._ACTIVE else None
        compiled = [tables.compiled, tables.compiled_patterns] if tables else None
        routes = sorted(p for p, _ in tables.used_patterns if isinstance(p, str) and p.startswith("^/flows"))
        save()
        print(json.dumps({"compiled": compiled, "status": answered, "routes": routes}), flush=True)
        os._exit(0)

    answered = []
    listening = threading.Event()
    save_soon = generated_code.save_soon

    def ready():  # the server accepts connections (its ready(), in its loop)
        listening.set()
        save_soon()

    def first_request(port):  # GET /flows as soon as the server listens
        auth = base64.b64encode(f"{MAIN_USER['api_token']}:".encode())
        if not listening.wait(60):
            os._exit(3)
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b"GET /flows HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Basic " + auth + b"\\r\\n\\r\\n")
            answered.append(conn.recv(100).split(b"\\r\\n")[0].decode())

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    generated_code.save = report
    generated_code.save_soon = ready
    threading.Thread(target=first_request, args=(port,), daemon=True).start()
    sys.argv[1:] = ["serve", "--port", str(port), "--log-level", "warning"]
    cli.main()
    """
)


def test_the_servers_second_start_compiles_no_dataclass_and_no_pattern(tmp_path: Path) -> None:
    first = _run(ENTRY, tmp_path)
    (kept,) = (tmp_path / "generated-code").glob("*.marshal")
    written = kept.read_bytes()
    second = _run(ENTRY, tmp_path)
    sources, patterns = first["compiled"]  # type: ignore[misc]
    assert sources > 100  # the mock's dataclasses, Starlette's, Connexion's
    assert patterns > 50  # PyYAML's, tokenize's, the format checkers', the mock's
    # tokenize's token pattern is new at each start (its string prefixes come from a set, in the
    # order of the process's string hashing): the second start compiles it, and nothing else, and
    # does not write the file again for it
    assert second["compiled"][0] == 0  # type: ignore[index]
    assert second["compiled"][1] <= 1  # type: ignore[index]
    assert kept.read_bytes() == written
    # the first request's route patterns (compiled when it reached them) are in the table too
    for result in (first, second):
        assert result["status"] == ["HTTP/1.1 200 OK"]
        assert "^/flows$" in result["routes"]  # type: ignore[operator]
