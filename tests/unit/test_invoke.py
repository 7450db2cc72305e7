"""invoke.py: a handler gets the arguments Connexion's decorators would have given it.

For every operation of both contracts (Flowdock's and the control API), with no query string, with
a value for each declared query parameter, with one of them, with an undeclared one beside it, and
with a JSON body where the operation takes one, the
keyword arguments ``Invoker`` binds are compared with those Connexion's own ``StarletteDecorator``
binds for the same request (the handler replaced by a recorder with its signature).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from typing import Any

import pytest
from connexion.context import _context, _operation, _receive, _scope
from starlette.responses import Response

from mock_server.app import create_app
from mock_server.binding.dispatch import Dispatch, Operation
from mock_server.binding.fastpath import _OnceDecorator
from mock_server.binding.invoke import RequestView

SAMPLE_PATH = {"integer": "7", "number": "7"}
CONTEXT = {"user": 2, "token_info": {"sub": 2}}


@pytest.fixture(scope="module")
def dispatch() -> Dispatch:
    app = create_app()
    return Dispatch(app.middleware, app._middleware_app)


def sample(schema: dict[str, Any]) -> str:
    """A query or path value for ``schema`` (as a client would write it)."""
    if "enum" in schema:
        return str(schema["enum"][0]).lower() if schema.get("type") == "boolean" else str(schema["enum"][0])
    kind = schema.get("type")
    if kind == "array":
        return ",".join([sample(schema.get("items", {}))] * 2)
    if kind == "boolean":
        return "true"
    if kind in SAMPLE_PATH:
        return SAMPLE_PATH[kind]
    return "abc"


def requests_of(op: Operation) -> list[tuple[str, bytes, bytes | None]]:
    """(path, query string, JSON body) to try against ``op``."""
    spec = op.context
    template = op.base_path + spec.path
    path = re.sub(
        r"\{([^}]+)\}",
        lambda m: next(
            (sample(p.get("schema", {})) for p in spec.parameters if p["name"] == m.group(1)), "abc"
        ),
        template,
    )
    query = "&".join(
        f"{p['name']}={sample(p.get('schema', {}))}" for p in spec.parameters if p["in"] == "query"
    )
    first = query.split("&")[0]  # one parameter sent, the others' defaults kept
    body = json.dumps({"event": "message", "content": "hello", "tags": ["a"]}).encode()
    out: list[tuple[str, bytes, bytes | None]] = [(path, b"", None), (path, query.encode(), None)]
    out += [(path, first.encode(), None), (path, f"undeclared=1&{first}".strip("&").encode(), None)]
    if spec.is_request_body_defined:
        out.append((path, b"", body))
    return out


def scope_for(dispatch: Dispatch, method: str, path: str, query: bytes, body: bytes | None) -> dict[str, Any]:
    found = dispatch.match(method, path)
    assert found is not None and not callable(getattr(found, "send", None)), (method, path)
    headers = [(b"host", b"127.0.0.1")]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": headers,
        "path_params": found[1],
        "extensions": {"connexion_context": dict(CONTEXT)},
    }


def receiver(body: bytes | None) -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body or b"", "more_body": False}

    return receive


async def both(
    op: Operation, scope: dict[str, Any], body: bytes | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def recorder(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return Response(b"")  # passed through by both, whatever the operation produces

    functools.update_wrapper(recorder, op.handler._fn)
    _context.set(scope["extensions"]["connexion_context"])
    _operation.set(op.context)
    _receive.set(receiver(body))
    _scope.set(scope)
    connexion = _OnceDecorator(pythonic_params=True, jsonifier=op.handler.jsonifier)(recorder)
    await connexion()
    assert op.invoker is not None
    invoker = type(op.invoker)(
        op.context, recorder, jsonifier=op.handler.jsonifier, sanitize=op.invoker.sanitize
    )
    await invoker(RequestView(scope), receiver(body), op.uri_parser)
    return seen[0], seen[1]


def test_every_operation_binds_what_connexion_binds(dispatch: Dispatch) -> None:
    compared = 0
    for op in dispatch.operations.values():
        assert op.invoker is not None, op.operation_id
        for path, query, body in requests_of(op):
            scope = scope_for(dispatch, op.context.method.upper(), path, query, body)
            ours, theirs = asyncio.run(both(op, scope, body))
            assert ours == theirs, (op.operation_id, path, query, body)
            compared += 1
    assert compared > 200


def test_form_bodies_are_left_to_connexion(dispatch: Dispatch) -> None:
    bodied = [op.invoker for op in dispatch.operations.values() if op.invoker and op.invoker.body_defined]
    assert bodied
    for invoker in bodied:
        assert not invoker.takes("application/x-www-form-urlencoded")
        assert not invoker.takes("multipart/form-data; boundary=x")
        assert not invoker.takes("text/plain")  # a body Connexion reads as bytes
        assert invoker.takes("application/json; charset=utf-8")
    listing = dispatch.operations[("", "listFlows")].invoker
    assert listing is not None and listing.takes(None) and not listing.takes("multipart/form-data")


def _bound_body(
    dispatch: Dispatch, left: tuple[bytes, Any] | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, dict[str, Any]]:
    """The body argument ``sendFlowMessage``'s handler gets for a JSON body, with ``left`` in the
    scope as the request body validator leaves it; Python's json counted."""
    from mock_server.binding import invoke
    from mock_server.binding.fastpath import JSON_BODY

    op = dispatch.operations[("", "sendFlowMessage")]
    assert op.invoker is not None
    body = json.dumps({"event": "message", "content": "hello", "tags": ["a"]}).encode()
    scope = scope_for(dispatch, "POST", "/flows/acme/main/messages", b"", body)
    if left is not None:
        scope[JSON_BODY] = left
    parses: list[bytes] = []
    monkeypatch.setattr(
        invoke.json, "loads", lambda raw: parses.append(raw) or json.JSONDecoder().decode(raw.decode())
    )
    seen: list[dict[str, Any]] = []

    async def recorder(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return Response(b"")

    functools.update_wrapper(recorder, op.handler._fn)
    invoker = type(op.invoker)(
        op.context, recorder, jsonifier=op.handler.jsonifier, sanitize=op.invoker.sanitize
    )
    asyncio.run(invoker(RequestView(scope), receiver(body), op.uri_parser))
    return seen[0][invoker.body_name], {"scope": scope, "parses": parses}


def test_a_json_body_the_validator_parsed_reaches_the_handler_without_a_second_parse(
    dispatch: Dispatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mock_server.binding.fastpath import JSON_BODY

    sent = b'{"event": "message", "content": "hello", "tags": ["a"]}'
    parsed = json.loads(sent)
    value, seen = _bound_body(dispatch, (sent, parsed), monkeypatch)
    assert value is parsed and seen["parses"] == []
    assert JSON_BODY not in seen["scope"]  # taken once: no one else holds it


def test_a_parsed_body_for_other_bytes_is_not_taken(
    dispatch: Dispatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    value, seen = _bound_body(dispatch, (b'{"event": "other"}', {"event": "other"}), monkeypatch)
    assert value == {"event": "message", "content": "hello", "tags": ["a"]}
    assert len(seen["parses"]) == 1  # the bytes the handler reads, parsed as Starlette parses them
    value, seen = _bound_body(dispatch, None, monkeypatch)
    assert value == {"event": "message", "content": "hello", "tags": ["a"]} and len(seen["parses"]) == 1
