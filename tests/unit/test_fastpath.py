"""fastpath.py: the compiled validators accept nothing Connexion's own validators would refuse.

Response validation runs jsonschema-rs first and asks Connexion's jsonschema validator only
about what it rejects; that is sound only if every value the compiled validator accepts is one the
exact validator accepts. These tests check that on the real responses of the default world and on
many mutations of them (nulls, wrong types, unknown enum values, missing fields).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from connexion.json_schema import Draft4ResponseValidator
from connexion.spec import Specification
from jsonschema import Draft4Validator

from mock_server.binding.fastpath import _compiled_schema, _Cycle, _FastThenExact, _reachable, fast_then_exact
from mock_server.contract import load_spec

GETS = [
    ("/flows", "/flows"),
    ("/flows/all", "/flows/all"),
    ("/flows/{organization}/{flow}", "/flows/acme/main"),
    ("/flows/{organization}/{flow}/messages", "/flows/acme/main/messages?limit=30"),
    ("/flows/{organization}/{flow}/messages/{id}", "/flows/acme/main/messages/1"),
    ("/users", "/users"),
    ("/user", "/user"),
    ("/organizations", "/organizations"),
]


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    return dict(Specification.load(load_spec()).spec)


def response_schema(resolved: dict[str, Any], template: str) -> Any:
    return resolved["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def mutations(body: Any) -> Iterator[Any]:
    """Copies of ``body`` with one leaf or member changed: None, another type, a strange string, gone."""

    def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield (*prefix, key)
                yield from paths(value, (*prefix, key))
        elif isinstance(node, list):
            for i, value in enumerate(node[:3]):
                yield (*prefix, i)
                yield from paths(value, (*prefix, i))

    for path in paths(body):
        for replacement in (None, 12345, "not-a-date", "", [], {}, True, -1.5, "x" * 3000, "\n"):
            copied = copy.deepcopy(body)
            parent = copied
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = replacement
            yield copied
        if isinstance(path[-1], str):
            copied = copy.deepcopy(body)
            parent = copied
            for step in path[:-1]:
                parent = parent[step]
            del parent[path[-1]]
            yield copied


@pytest.mark.parametrize(("template", "url"), GETS, ids=[g[0] for g in GETS])
def test_fast_then_exact__accepts_only_what_connexion_accepts(
    alice: Any, resolved: dict[str, Any], template: str, url: str
) -> None:
    response = alice.get(url)
    assert response.status_code == 200, response.text
    schema = response_schema(resolved, template)
    exact = Draft4ResponseValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    both = fast_then_exact(exact, schema, nullable=True, write_only=True)
    assert isinstance(both, _FastThenExact), "the response schema should compile"
    body = response.json()
    assert both.fast.is_valid(body)
    checked = 0
    for mutated in mutations(body):
        if both.fast.is_valid(mutated):
            assert exact.is_valid(mutated), mutated
        checked += 1
    assert checked > 20


def test_compiled_schema__nullable_admits_null_in_type_and_enum() -> None:
    schema = {"type": "string", "enum": ["a"], "nullable": True}
    assert _compiled_schema(schema, nullable=True, write_only=False) == {
        "type": ["string", "null"],
        "enum": ["a", None],
        "nullable": True,
    }


def test_compiled_schema__nullable_next_to_ref_is_ignored_as_draft4_does() -> None:
    schema = {"$ref": "#/definitions/x", "nullable": True}
    assert _compiled_schema(schema, nullable=True, write_only=False) == schema


def test_compiled_schema__write_only_never_validates_in_responses() -> None:
    validator = fast_then_exact(
        Draft4ResponseValidator({"properties": {"secret": {"type": "string", "writeOnly": True}}}),
        {"properties": {"secret": {"type": "string", "writeOnly": True}}},
        nullable=True,
        write_only=True,
    )
    assert validator.is_valid({})
    assert not validator.is_valid({"secret": "s"})


REFERRING = {
    "type": "object",
    "properties": {"a": {"$ref": "#/components/schemas/A"}, "b": {"$ref": "#/properties/a"}},
    "components": {
        "schemas": {
            "A": {"type": "array", "items": {"$ref": "#/components/schemas/B~1C"}},
            "B/C": {"type": "integer"},
            "Unused": {"type": "string"},
        },
        "responses": {"Unused": {"description": "never referred to"}},
    },
}


def test_compiled_schema__keeps_only_the_components_a_reference_reaches() -> None:
    compiled = _compiled_schema(REFERRING, nullable=True, write_only=False)
    assert compiled["components"] == {
        "schemas": {"A": REFERRING["components"]["schemas"]["A"], "B/C": {"type": "integer"}}
    }
    assert REFERRING["components"]["schemas"]["Unused"] == {"type": "string"}, "the source is not changed"
    fast = fast_then_exact(Draft4Validator(REFERRING), REFERRING, nullable=True, write_only=False)
    assert isinstance(fast, _FastThenExact)
    assert fast.is_valid_fast({"a": [1, 2], "b": [3]})
    assert not fast.is_valid_fast({"a": ["x"]}) and not fast.is_valid_fast({"b": ["x"]})


def test_compiled_schema__a_reference_it_cannot_follow_keeps_every_component() -> None:
    schema = {"$ref": "#/components/schemas/Missing", "components": {"schemas": {"A": {}}}}
    assert _reachable(schema) is schema
    no_refs = {"type": "integer", "components": {"schemas": {"A": {"type": "string"}}}}
    assert _reachable(no_refs) == {"type": "integer"}


@pytest.mark.parametrize(("template", "url"), GETS[:4], ids=[g[0] for g in GETS[:4]])
def test_compiled_schema__with_connexions_components_beside_it_judges_as_with_them_all(
    alice: Any, resolved: dict[str, Any], template: str, url: str
) -> None:
    # Connexion's response validator is given the whole document's components with the schema
    alone = response_schema(resolved, template)
    schema = {**alone, "components": resolved["components"]}
    assert "components" not in _compiled_schema(schema, nullable=True, write_only=True)
    pruned = fast_then_exact(Draft4Validator(schema), schema, nullable=True, write_only=True)
    assert isinstance(pruned, _FastThenExact)
    everything = jsonschema_rs.Draft4Validator(
        {**_compiled_schema(alone, nullable=True, write_only=True), "components": resolved["components"]},
        validate_formats=True,
    )
    body = alice.get(url).json()
    judged = [body, *itertools.islice(mutations(body), 300)]
    assert [pruned.is_valid_fast(b) for b in judged] == [everything.is_valid(b) for b in judged]
    assert not all(everything.is_valid(b) for b in judged)


def test_compiled_schema__a_cycle_is_refused() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    schema["properties"]["self"] = schema
    with pytest.raises(_Cycle):
        _compiled_schema(schema, nullable=True, write_only=False)


def test_serving__freezes_the_startup_heap_while_the_app_runs(app: Any) -> None:
    import gc

    with app.test_client():  # runs the ASGI lifespan, as uvicorn does
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_validator_map__json_response_bodies_parse_as_before() -> None:
    from connexion.exceptions import NonConformingResponseBody

    from mock_server.binding.fastpath import validator_map

    response_validator = validator_map()["response"]["application/json"]
    validator = response_validator({"type": "http"}, schema={"type": "object"}, encoding="utf-8")
    assert validator._parse([b'{"a": ', b"[1, null]}"]) == {"a": [1, None]}
    assert validator._parse([]) is None
    with pytest.raises(NonConformingResponseBody):
        validator._parse([b"{not json"])


def _sent_through(validator: Any, body: bytes) -> list[dict[str, Any]]:
    """``body`` sent through ``validator.wrap_send`` as a response; what reached the client."""
    import asyncio

    out: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    async def respond() -> None:
        wrapped = validator.wrap_send(send)
        await wrapped({"type": "http.response.start", "status": 200, "headers": []})
        await wrapped({"type": "http.response.body", "body": body})

    asyncio.run(respond())
    return out


def test_validator_map__response_bytes_passed_once_are_not_parsed_again() -> None:
    from connexion.exceptions import NonConformingResponseBody

    from mock_server.binding.fastpath import validator_map

    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    validator = validator_map()["response"]["application/json"](
        {"type": "http", "method": "GET"}, schema=schema, encoding="utf-8"
    )
    parsed: list[bytes] = []
    parse = validator._parse
    validator._parse = lambda stream: parsed.append(b"".join(stream)) or parse([parsed[-1]])

    for _ in range(3):
        assert _sent_through(validator, b'{"n": 1}')[-1]["body"] == b'{"n": 1}'
    assert parsed == [b'{"n": 1}']  # the same bytes: validated once

    for _ in range(2):  # a failure is never remembered: each send is judged again
        with pytest.raises(NonConformingResponseBody):
            _sent_through(validator, b'{"n": "one"}')
    assert parsed == [b'{"n": 1}', b'{"n": "one"}', b'{"n": "one"}']

    other = validator_map()["response"]["application/json"](
        {"type": "http", "method": "GET"}, schema=schema, encoding="utf-8"
    )
    other._parse = validator._parse
    _sent_through(other, b'{"n": 1}')  # another validator (another app) has its own memo
    assert parsed[-1] == b'{"n": 1}' and len(parsed) == 4

    write = validator_map()["response"]["application/json"](
        {"type": "http", "method": "POST"}, schema=schema, encoding="utf-8"
    )
    write._parse = validator._parse
    for _ in range(2):  # a write's answer is new each time: judged, never remembered
        _sent_through(write, b'{"n": 2}')
    assert parsed[-2:] == [b'{"n": 2}', b'{"n": 2}']


def test_passed_bodies__hold_at_most_their_budget_oldest_forgotten_first() -> None:
    from mock_server.binding.fastpath import PassedBodies

    passed = PassedBodies(budget=10, max_body=6)
    judge = object()
    passed.add(judge, b"aaaa")
    passed.add(judge, b"bbbb")
    passed.add(judge, b"cccc")  # 12 > 10: the oldest goes
    assert (judge, b"aaaa") not in passed
    assert (judge, b"bbbb") in passed and (judge, b"cccc") in passed
    assert passed.held == 8
    passed.add(judge, b"toolong")  # over max_body: never held
    assert (judge, b"toolong") not in passed and passed.held == 8
    assert (object(), b"bbbb") not in passed  # bytes passed by one validator only


# --- request bodies: parsed once, as Connexion parses them -----------------------------------------
BODIES = [
    b'{"event": "message", "content": "hello", "tags": ["a"]}',
    b'{"a": 1, "a": 2}',  # duplicate keys: the last wins
    b' {"a": -0, "b": -0.0, "c": 1E5, "d": 0.1, "e": 5e-324, "f": 1e-400} \n',
    b'{"big": 12345678901234567890, "bigger": 123456789012345678901234567890}',
    b"123456789012345678901234567890",
    b'{"a": 1e400}',  # beyond a double: inf for Python's json, refused by orjson
    b'{"a": NaN}',
    b'{"a": "\\ud800"}',  # a lone surrogate, escaped
    b'{"a": "\\u0000", "\xc3\xa9": "\xe2\x82\xac"}',
    b'\xef\xbb\xbf{"a": 1}',  # a byte order mark: Connexion's parse refuses it
    b'{"a": "x\x01y"}',  # a raw control character
    b'{"a": 1}x',
    b"[1, 2]",
    b'"text"',
    b"null",
    b"{not json",
    b'{"a": "\xff"}',  # not UTF-8: Connexion's decode error, from both
]


def _request_validators(schema: dict[str, Any], encoding: str = "utf-8") -> tuple[Any, Any]:
    """The mock's JSON request body validator and Connexion's own, for the same schema."""
    from connexion.validators import JSONRequestBodyValidator

    from mock_server.binding.fastpath import validator_map

    kwargs = {
        "schema": schema,
        "required": True,
        "nullable": False,
        "encoding": encoding,
        "strict_validation": False,
    }
    return validator_map()["body"]["application/json"](**kwargs), JSONRequestBodyValidator(**kwargs)


def _wrapped(validator: Any, body: bytes, chunk: int = 7) -> tuple[str, Any, list[Any], dict[str, Any]]:
    """``body`` (in chunks) through ``validator.wrap_receive``: ("ok", None), ("problem", its
    detail) or ("undecodable", the decode error), the messages the wrapped receive replays, and
    the scope."""
    import asyncio

    from connexion.exceptions import BadRequestProblem

    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    scope: dict[str, Any] = {"type": "http", "headers": [(b"content-length", str(len(body)).encode())]}

    async def run() -> tuple[str, Any, list[Any]]:
        queue = list(messages)

        async def receive() -> dict[str, Any]:
            return queue.pop(0) if queue else {"type": "http.disconnect"}

        try:
            wrapped, _ = await validator.wrap_receive(receive, scope=scope)
        except BadRequestProblem as problem:
            return "problem", problem.detail, []
        except UnicodeDecodeError as error:
            return "undecodable", str(error), []
        return "ok", None, [await wrapped() for _ in messages]

    verdict, detail, replayed = asyncio.run(run())
    return verdict, detail, replayed, scope


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("schema", [{}, {"type": "object"}], ids=["any", "object"])
def test_json_request_body__judged_and_replayed_as_connexion_does(
    body: bytes, schema: dict[str, Any]
) -> None:
    from mock_server.binding.fastpath import JSON_BODY

    ours, connexions = _request_validators(schema)
    verdict, detail, replayed, scope = _wrapped(ours, body)
    their_verdict, their_detail, their_replayed, _ = _wrapped(connexions, body)

    assert (verdict, detail) == (their_verdict, their_detail)
    assert replayed == their_replayed
    if verdict == "ok" and body != b"null":
        raw, value = scope[JSON_BODY]  # left for the handler: the bytes and what they parse to
        assert raw == body
        assert repr(value) == repr(json.loads(body.decode()))  # repr: the types, nan, -0.0 as well


def test_json_request_body__another_charset_is_decoded_as_connexion_decodes_it() -> None:
    from mock_server.binding.fastpath import JSON_BODY

    body = '{"name": "Zoë"}'.encode("latin-1")
    ours, connexions = _request_validators({"type": "object"}, encoding="latin-1")
    verdict, _, _, scope = _wrapped(ours, body)
    assert verdict == _wrapped(connexions, body)[0] == "ok"
    assert scope[JSON_BODY][1] == {"name": "Zoë"}


def test_json_request_body__without_a_length_takes_connexions_path() -> None:
    from mock_server.binding.fastpath import JSON_BODY

    ours, connexions = _request_validators({"type": "object"})
    assert _wrapped(ours, b"")[:2] == _wrapped(connexions, b"")[:2] == ("problem", "RequestBody is required")
    assert JSON_BODY not in _wrapped(ours, b"")[3]
