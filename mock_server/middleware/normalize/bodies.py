"""The body, whatever it came as: JSON with legacy values, a form, multipart fields, no
Content-Type at all (JSON if it parses, else a form), or parameters of a GET or DELETE sent as a
body (flowdock-api-wrapper). Each becomes the contract's JSON body, or query parameters for a
request that takes no body; read once and replayed to the stages after this one."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from mock_server import errors
from mock_server.middleware.exchange import replay
from mock_server.middleware.input_guard import MAX_BODY_BYTES  # bodies above it are left for the guard (413)
from mock_server.middleware.normalize.query import NO_BODY_METHODS, Pairs
from mock_server.middleware.normalize.spec_index import FORM_TYPE, JSON_TYPE, MULTIPART_TYPE, Operation
from mock_server.middleware.normalize.values import Finding, coerce_object, nest, query_text

Message = dict[str, Any]
FLOW_TOKEN = "flow_token"
_SOURCE_FIELDS = {
    errors.RULE_NO_CONTENT_TYPE: "content_type",
    errors.RULE_FORM_BODY: "body",
    errors.RULE_MULTIPART_BODY: "body",
}


async def canonical_body(
    raw: bytes,
    content_type: str | None,
    op: Operation,
    method: str,
    moved: dict[str, Any],
    found: list[Finding],
) -> tuple[bytes, bytes | None, Pairs] | None:
    """(body, content type, parameters for the query string), or None when ``raw`` is canonical."""
    media = content_type.split(";", 1)[0].strip().lower() if content_type else None
    data: dict[str, Any] | None = None
    textual = False
    source_rule = None
    if not raw:
        data = {}
    elif media is None:
        data, textual = parse_unlabelled(raw)
        source_rule = errors.RULE_NO_CONTENT_TYPE
    elif media == JSON_TYPE or media.endswith("+json"):
        if op.body is not None and not op.json_sensitive and not moved and b"null" not in raw:
            return None  # nothing in it can need converting
        data = parse_json(raw)
    elif media == FORM_TYPE:
        if FORM_TYPE in op.consumes and not moved:
            return None  # the contract's own form (the Push API): validated as that form
        data, textual = parse_form(raw), True
        source_rule = None if FORM_TYPE in op.consumes else errors.RULE_FORM_BODY
    elif media == MULTIPART_TYPE:
        data, has_file = await parse_multipart(raw, content_type or "")
        if has_file:
            return None  # a file upload: the contract's own multipart form, or a 415
        textual = True
        source_rule = errors.RULE_MULTIPART_BODY
    if data is None:
        return None  # unreadable or unknown: validation says so
    if op.body is None or method in NO_BODY_METHODS:
        return body_to_query(data, op, method, found) if raw else None
    if JSON_TYPE not in op.consumes:
        return None  # no canonical JSON form to give it: validation answers

    plan = op.body
    before = len(found)
    if source_rule is not None:
        found.append(Finding(source_rule, _SOURCE_FIELDS[source_rule]))
    if plan.kind == "object":
        data = coerce_object(data, plan, textual, found)
        if moved:
            data = {**coerce_object(moved, plan, True, found), **data}
    elif moved:
        data = {**moved, **data}
    if len(found) == before and not moved:
        return None
    return json.dumps(data).encode(), b"application/json", []


def body_to_query(
    data: dict[str, Any], op: Operation, method: str, found: list[Finding]
) -> tuple[bytes, bytes | None, Pairs]:
    """A GET's or DELETE's body parameters, for the query string (where the query wins)."""
    if data:
        found.append(Finding(errors.RULE_BODY_TO_QUERY, "body", (method,)))
    pairs: Pairs = []
    for name, value in data.items():
        text = query_text(value, op.query.get(name, "other"), name, found)
        if text is not None:
            pairs.append((name, text))
    return b"", None, pairs


def body_flow_token(body: bytes | None) -> str | None:
    """The ``flow_token`` of a JSON body (the canonical form by now), if it is a non-empty string."""
    data = parse_json(body) if body else None
    token = data.get(FLOW_TOKEN) if data is not None else None
    return token if isinstance(token, str) and token else None


def parse_json(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def parse_form(raw: bytes) -> dict[str, Any] | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the body guard's 400
    return nest(parse_qsl(text, keep_blank_values=True))


def parse_unlabelled(raw: bytes) -> tuple[dict[str, Any] | None, bool]:
    """No Content-Type: JSON if it parses as a JSON object, else a form (docs/flowdock.md §1.2)."""
    data = parse_json(raw)
    if data is not None:
        return data, False
    if raw.lstrip()[:1] in (b"{", b"["):
        return None, False
    form = parse_form(raw)
    return (form or None), True


async def parse_multipart(raw: bytes, content_type: str) -> tuple[dict[str, Any] | None, bool]:
    """Multipart fields as a dict, and whether any part is a file."""
    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", content_type.encode("latin-1"))]}
    try:
        async with Request(scope, replay(raw, None)).form() as form:
            if any(isinstance(value, UploadFile) for _, value in form.multi_items()):
                return None, True
            return nest([(k, v) for k, v in form.multi_items()]), False
    except MultiPartException:
        return None, False  # malformed: validation reports it


async def read_body(receive: Any) -> tuple[bytes, bool]:
    """The whole body and True; or, past the size limit, what was read so far and False."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
        if size > MAX_BODY_BYTES:
            return b"".join(chunks), False
    return b"".join(chunks), True
