"""Every string slot of every operation of both contracts, fed the hostile corpus: never a 5xx.

For each operation of spec/openapi.yaml and spec/control.yaml, a request that would otherwise
reach its handler (the seeded world's names and ids, the main user's credentials, a minimal body
valid for the operation's schema) is sent once per corpus string dealt to each slot: every path
parameter, query parameter and header parameter, and every string property of the request body
(JSON, and the form and multipart bodies the operation declares). Each answer must be below 500.
Afterwards the server must still answer correctly, and its state must still be a valid world
document (nothing unrepresentable got stored).

Operations that answer an endless event stream are left to their own tests (in process, the
transport waits for a response's end). Bounded and seeded: each slot gets the lone surrogates and a Unicode digit plus ``PER_SLOT``
strings dealt round-robin from one seeded shuffle of the corpus, so a run sends every corpus
string somewhere, in a few thousand in-process requests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from mock_server.app import create_app
from mock_server.contract import OperationIndex, deref, load_control_spec, load_default_world, load_spec
from mock_server.runtime.faults import CannotSynthesize, ResponseBook
from mock_server.world import MAIN_USER, OAUTH_APP
from mock_server.world.documents import world_problems
from tests.hostile.corpus import Dealer, corpus

SEED = 20230815
PER_SLOT = 4
METHODS = ("get", "put", "post", "delete", "patch")
SPEC, CONTROL_SPEC = load_spec(), load_control_spec()
ANSWER_WITHIN = 10.0
"""Seconds a request may take before the run calls it a hang (each answers in milliseconds)."""


def _streams(op: dict[str, Any]) -> bool:
    """An operation answering an endless event stream: httpx's in-process transport would wait
    for its end, so the run leaves it to the tests of streams."""
    return any("text/event-stream" in (r.get("content") or {}) for r in op.get("responses", {}).values())


def utf8(text: str) -> bytes:
    """The bytes a client would send for ``text`` (lone surrogates as their 3-byte forms)."""
    return text.encode("utf-8", "surrogatepass")


@dataclass
class Call:
    """One request template: where each slot goes, and the baseline values of the others."""

    operation_id: str
    method: str
    template: str
    path: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    media: list[str] = field(default_factory=list)
    body: dict[str, Any] | None = None
    control: bool = False


def _world_values(world: dict[str, Any]) -> dict[str, str]:
    main = next(f for f in world["flows"] if f["parameterized_name"] == "main")
    file = next(f for f in world["files"] if f["flow"] == main["id"])
    return {
        "organization": "acme",
        "parameterized_name": "acme",
        "flow": "main",
        "flow_api_token": main["api_token"],
        "hash": file["hash"],
        "filename": file["file_name"],
        "token": "nothing-uploaded",
        "client_id": OAUTH_APP["client_id"],
        "response_type": "code",
        "flow_id": main["id"],
        "thread": next(t["id"] for t in world["threads"] if t["flow"] == main["id"]),
        "source": str(next(s["id"] for s in world["sources"] if s["flow"] == main["id"])),
        "invitation": str(next(i["id"] for i in world["invitations"] if i["flow"] == main["id"])),
    }


ID_OF = {
    "getThread": "thread",
    "listThreadMessages": "thread",
    "postThreadMessage": "thread",
    "getSource": "source",
    "updateSource": "source",
    "deleteSource": "source",
    "getInvitation": "invitation",
    "deleteInvitation": "invitation",
    "getFlowById": "flow_id",
}
"""Operations whose ``id`` is not a message or user number."""


def _calls() -> Iterator[Call]:
    world = load_default_world()
    values = _world_values(world)
    for spec, control in ((SPEC, False), (CONTROL_SPEC, True)):
        book = ResponseBook(OperationIndex(spec))
        for template, item in spec["paths"].items():
            for method, op in item.items():
                if method not in METHODS or _streams(op):
                    continue
                params = [deref(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
                call = Call(op["operationId"], method.upper(), template, {}, control=control)
                for p in params:
                    name = p["name"]
                    if p["in"] == "path":
                        if name == "id":
                            call.path[name] = values.get(ID_OF.get(call.operation_id, ""), "2")
                        elif name == "message_id":
                            call.path[name] = "1"
                        else:
                            call.path[name] = values.get(name, "unknown")
                    elif p["in"] == "query" and name == "timeout":
                        call.query[name] = "0"  # the waits of the control API: answer at once
                    elif p["in"] == "query" and p.get("required"):
                        key = ID_OF.get(call.operation_id, name) if name == "id" else name
                        call.query[name] = values.get(key, "1")
                    elif p["in"] == "query":
                        call.query.setdefault(name, "")
                        del call.query[name]
                body = deref(spec, op.get("requestBody"))
                if body:
                    call.media = list(body["content"])
                    schema = body["content"][call.media[0]].get("schema") or {}
                    try:
                        call.body = book.instance(schema)
                    except CannotSynthesize:
                        call.body = {}
                yield call


def _params(spec_call: Call) -> list[tuple[str, str]]:
    spec = CONTROL_SPEC if spec_call.control else SPEC
    item = spec["paths"][spec_call.template]
    op = item[spec_call.method.lower()]
    return [
        (deref(spec, p)["in"], deref(spec, p)["name"])
        for p in item.get("parameters", []) + op.get("parameters", [])
    ]


def _string_slots(spec: dict[str, Any], schema: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of the string (and array-of-string) properties of a body schema, one level of nesting."""
    schema = deref(spec, schema) or {}
    slots: list[tuple[str, ...]] = []
    for part in schema.get("allOf", []):
        slots += _string_slots(spec, part, prefix)
    for name, prop in (schema.get("properties") or {}).items():
        prop = deref(spec, prop) or {}
        kind = prop.get("type")
        if kind in ("string", None) and "properties" not in prop:
            slots.append((*prefix, name))
        elif kind == "array" and (deref(spec, prop.get("items")) or {}).get("type") == "string":
            slots.append((*prefix, name, "0"))
        elif (kind == "object" or "properties" in prop) and not prefix:
            slots += _string_slots(spec, prop, (name,))
    return slots


def _put(body: Any, slot: tuple[str, ...], value: str) -> Any:
    body = json.loads(json.dumps(body)) if body is not None else {}
    node = body
    for i, part in enumerate(slot[:-1]):
        nxt = slot[i + 1]
        if nxt == "0":
            node[part] = [None]
            node[part][0] = value
            return body
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[slot[-1]] = value
    return body


def _form(body: dict[str, Any]) -> bytes:
    pairs = []
    for key, value in body.items():
        if isinstance(value, (dict, list)):
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        pairs.append(f"{quote_plus(key)}={quote_plus(utf8(text))}")
    return "&".join(pairs).encode()


def _url(call: Call, path: dict[str, str], query: dict[str, str]) -> str:
    url = call.template
    for name, value in path.items():
        url = url.replace("{" + name + "}", quote(utf8(value), safe=""))
    if call.control:
        url = "/_mock" + url
    if query:
        url += "?" + "&".join(f"{quote_plus(k)}={quote_plus(utf8(v))}" for k, v in query.items())
    return url


@dataclass
class Outcome:
    requests: int = 0
    failures: list[str] = field(default_factory=list)


Request = tuple[str, str, dict[str, Any]]
"""(slot, the corpus string, httpx request arguments)."""


def _plan(call: Call, dealer: Dealer) -> list[Request]:
    """Every request to send for one operation: each slot, each string dealt to it."""
    planned: list[Request] = []
    base_url = _url(call, call.path, call.query)
    json_body = json.dumps(call.body) if call.body is not None else None
    for where, name in _params(call):
        for text in dealer.deal():
            if where == "path":
                url = _url(call, {**call.path, name: text}, call.query)
                planned.append((f"path:{name}", text, {"url": url, "content": json_body}))
            elif where == "query":
                url = _url(call, call.path, {**call.query, name: text})
                planned.append((f"query:{name}", text, {"url": url, "content": json_body}))
            else:
                planned.append((f"header:{name}", text, {"url": base_url, "headers": {name: utf8(text)}}))
    if call.body is None:
        return planned
    spec = CONTROL_SPEC if call.control else SPEC
    content = deref(spec, spec["paths"][call.template][call.method.lower()]["requestBody"])["content"]
    for media in call.media:
        for slot in _string_slots(spec, content[media].get("schema")):
            name = ".".join(slot)
            for i, text in enumerate(dealer.deal()):
                body = _put(call.body, slot, text)
                if media == "application/json":
                    encoded = json.dumps(body).encode()  # ASCII: lone surrogates as \u escapes
                    headers = {"content-type": "application/json"}
                    planned.append(
                        (f"json:{name}", text, {"url": base_url, "content": encoded, "headers": headers})
                    )
                    if i == 0:  # the same fields unlabelled, read as a form by the normaliser
                        planned.append(
                            (f"unlabelled:{name}", text, {"url": base_url, "content": _form(body)})
                        )
                elif media == "application/x-www-form-urlencoded":
                    headers = {"content-type": media}
                    planned.append(
                        (f"form:{name}", text, {"url": base_url, "content": _form(body), "headers": headers})
                    )
                elif media == "multipart/form-data" and len(slot) == 1:
                    files = {k: (None, utf8(v)) for k, v in body.items() if isinstance(v, str)}
                    planned.append((f"multipart:{name}", text, {"url": base_url, "files": files}))
    return planned


def _run(app: Any, dealer: Dealer) -> Outcome:
    return asyncio.run(_run_async(app, dealer))


async def _run_async(app: Any, dealer: Dealer) -> Outcome:
    # httpx straight on the ASGI app, in one event loop: no thread hop per request (the test
    # client's), so a few thousand requests take seconds.
    transport = httpx.ASGITransport(app=app)
    auth = (MAIN_USER["api_token"], "")
    outcome = Outcome()
    calls = sorted(_calls(), key=lambda c: c.control and c.operation_id in ("replaceState", "resetState"))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", auth=auth) as client:
        for call in calls:
            app.store.reset()
            app.runtime.faults.clear()
            for slot, text, kwargs in _plan(call, dealer):
                try:
                    response = await asyncio.wait_for(client.request(call.method, **kwargs), ANSWER_WITHIN)
                except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
                    continue  # a client cannot send this (NUL in a header, say): nothing is sent
                except TimeoutError:
                    outcome.failures.append(f"{call.operation_id} {slot} {text[:40]!r}: no answer")
                    continue
                outcome.requests += 1
                if response.status_code >= 500:
                    outcome.failures.append(
                        f"{call.operation_id} {slot} {text[:40]!r}: {response.status_code} {response.text[:120]}"
                    )
            state = await client.get("/_mock/state")
            _check_state(state, outcome, call)
    return outcome


def _check_state(state: Any, outcome: Outcome, call: Call) -> None:
    """After an operation's requests, the state still exports as a valid world document."""
    if state.status_code != 200:
        outcome.failures.append(f"{call.operation_id}: GET /_mock/state answers {state.status_code}")
        return
    problems = world_problems(state.json())
    if problems:
        outcome.failures.append(f"{call.operation_id}: the state is no longer valid: {problems}")


@pytest.fixture(scope="module")
def hostile_app() -> Any:
    """A fresh app of its own (response validation on): the run leaves faults and journal behind."""
    return create_app(validate_responses=True)


def test_every_string_slot_of_both_contracts__never_answers_5xx_and_keeps_answering(hostile_app: Any) -> None:
    dealer = Dealer(SEED, PER_SLOT)
    outcome = _run(hostile_app, dealer)
    assert outcome.requests > 2000
    assert set(corpus()) <= dealer.dealt, "every corpus string is sent somewhere"
    assert not outcome.failures, f"{len(outcome.failures)} failures:\n" + "\n".join(outcome.failures[:40])
    client = hostile_app.test_client()
    client.auth = (MAIN_USER["api_token"], "")
    hostile_app.store.reset()
    flows = client.get("/flows")
    assert flows.status_code == 200
    assert {f["parameterized_name"] for f in flows.json()} == {"main", "dev", "support"}
    assert client.get("/flows/acme/main/messages").status_code == 200
    assert client.get("/private").status_code == 200
    assert client.get("/_mock/requests").status_code == 200
    assert client.get("/_mock/coverage").status_code == 200
    assert client.get("/_mock/report").status_code == 200
