"""The input guard stage: turns absurd input into a clear 4xx before anything routes or parses it.

Each of these would otherwise escape as a 500 from deep inside Starlette's router, Connexion's
JSON reader or the normaliser, or would resolve to a resource the client never named:

- a path segment or query value over 4096 characters: 400. No parameter of the contract takes
  more than 1024, and Python refuses to parse integers of more than 4300 digits (ValueError in
  the router's ``int`` convertor);
- a path segment that is ``.`` or ``..``, or holds a percent-encoded ``/``: 404. No Flowdock name
  contains a slash or is a dot segment, and the router would otherwise see the decoded slash as a
  separator (``/flows/acme%2Fmain/users`` is not ``/flows/acme/main/users``);
- a body over the limit: 413, decided from ``Content-Length`` before reading when the client
  sends one, otherwise while reading, with ``Connection: close`` (the rest of the body is never
  read, so the connection cannot carry another request); a ``Content-Length`` that is not a
  number: 400;
- a body labelled JSON that is not text in its charset (400), names a charset Python does not
  know (415), does not parse, nests too deep or holds an integer of more than 4300 digits (400);
- anything no client could read back (400, naming the field): invalid UTF-8 in the path, a query
  parameter or a form or multipart field; a JSON string holding a lone surrogate (``"\\ud800"`` is
  valid JSON but no UTF-8 text); ``NaN``, ``Infinity`` or a number beyond a double; an integer
  outside 64 bits (the mock's responses are encoded by orjson, which stops there); a form field
  name nesting brackets more than ``MAX_FIELD_DEPTH`` levels (``a[b][c]...``, which the form reader
  would otherwise turn into objects too deep to encode).

Refusing these at the door is what keeps one bad request from poisoning the store: once stored, a
lone surrogate made every later response that includes it (the flow's messages, the journal, the
state export) fail to encode.

The body limit is 16 MiB: the largest upload the store takes is 10 MiB (``StoreConfig``), about
13.4 MiB once base64-encoded in a JSON body; nothing valid is bigger. The body is read once and
replayed, so nothing downstream changes, except that a body sent without ``Content-Length``
(``Transfer-Encoding: chunked``: a generator, a Node stream, a Go client with an unknown length)
is passed on with the ``Content-Length`` it turned out to have, which is how Connexion's body
validator tells a body from none.

This stage runs before the normaliser (which parses bodies too) and answers with its own
responses (``responses.error_answer``): the same ``FlowdockError.to_body()`` that
binding/problems.py renders for every other domain error.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import orjson

from mock_server import errors
from mock_server.middleware.exchange import ANSWERED, Exchange, replay
from mock_server.middleware.responses import Answer, error_answer
from mock_server.middleware.types import Scope, scope_header

Message = dict[str, Any]

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body accepted (413 above it)."""
MAX_STATE_BYTES = 512 * 1024 * 1024
"""Largest world document ``PUT /_mock/state`` takes: what ``GET /_mock/state`` exports for a world
of about two million messages, so an export always imports back."""
ROUTE_LIMITS = {("PUT", "/_mock/state"): MAX_STATE_BYTES}
"""Routes whose bodies may exceed ``MAX_BODY_BYTES``."""
STATE_ROUTE = re.compile(r"^/_mock/(?:worlds/(?P<world>[^/]+)/)?state$")
"""``PUT`` of a world's state: read and checked in small steps by state_import.py, not here."""
MAX_VALUE_CHARS = 4096
"""Longest path segment or query value accepted (400 above it)."""
MAX_FIELD_DEPTH = 32
"""Deepest ``a[b][c]`` nesting of a form field name accepted (400 above it)."""
INT64 = (-(2**63), 2**63 - 1)
"""The integers a JSON body may hold."""

_SUSPECT = re.compile(rb"\\u[dD][89abcdefABCDEF]|\d{19}|NaN|Infinity|[eE][+]?\d{3}")
"""What a JSON body must contain for the slower field-by-field check to be worth running."""
_LONG_INTEGER = re.compile(rb"[:,\[]\s*-?\d{19}")
"""A number token of 19 digits or more: the one thing orjson parses (as a float) that is refused."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DOT_SEGMENTS = frozenset({".", ".."})
_OAUTH_PATHS = ("/oauth/authorize", "/oauth/token")
_CLOSE = ((b"connection", b"close"),)


def is_state_import(scope: Scope) -> bool:
    """A world document sent as UTF-8 JSON to ``PUT`` a world's state (state_import.py reads it)."""
    if scope.get("method") != "PUT" or STATE_ROUTE.match(str(scope.get("path", ""))) is None:
        return False
    charset = json_charset(scope_header(scope, b"content-type"))
    return charset is not None and charset.lower().replace("_", "-") in ("utf-8", "utf8")


def check_path(scope: Scope) -> None:
    """Raise the 400/404 an absurd path earns."""
    raw = scope.get("raw_path")
    if raw is not None and b"%2f" in raw.lower():
        raise errors.NotFound(errors={"path": [errors.ENCODED_SLASH]})
    for segment in str(scope.get("path", "")).split("/"):
        if len(segment) > MAX_VALUE_CHARS:
            raise errors.ValidationFailed.field("path", errors.TOO_LONG_VALUE.format(limit=MAX_VALUE_CHARS))
        if segment in _DOT_SEGMENTS:
            raise errors.NotFound(errors={"path": [errors.DOT_SEGMENT]})
    if raw is not None and not _is_utf8(unquote_to_bytes(raw)):
        raise errors.ValidationFailed.field("path", errors.NOT_UNICODE)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _field_name(raw: bytes) -> str:
    """A form or query field's name for an error: its root (``a`` of ``a[b]``), readable."""
    name = raw.split(b"[", 1)[0].decode("utf-8", "replace")
    return name if name and len(name) <= 100 else "body"


def form_problems(data: bytes) -> dict[str, list[str]]:
    """What no reader could take from ``a=1&b=2`` text (a query or a form body), by field name."""
    problems: dict[str, list[str]] = {}
    for pair in data.split(b"&"):
        raw_name, _, raw_value = pair.partition(b"=")
        name = unquote_to_bytes(raw_name.replace(b"+", b" "))
        value = unquote_to_bytes(raw_value.replace(b"+", b" "))
        if not (_is_utf8(name) and _is_utf8(value)):
            problems.setdefault(_field_name(name), []).append(errors.NOT_UNICODE)
        elif name.count(b"[") > MAX_FIELD_DEPTH:
            text = errors.NESTED_FIELD_TOO_DEEP.format(limit=MAX_FIELD_DEPTH)
            problems.setdefault(_field_name(name), []).append(text)
    return problems


def check_query(scope: Scope) -> None:
    """Raise the 400 an absurdly long or unreadable query parameter earns."""
    query = scope.get("query_string") or b""
    if not query:
        return
    if (b"%" in query or not query.isascii()) and (problems := form_problems(query)):
        raise errors.ValidationFailed(errors=problems)
    if len(query) <= MAX_VALUE_CHARS:
        return
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if len(name) > MAX_VALUE_CHARS or len(value) > MAX_VALUE_CHARS:
            field = name if len(name) <= 100 else "query"
            raise errors.ValidationFailed.field(field, errors.TOO_LONG_VALUE.format(limit=MAX_VALUE_CHARS))


def json_charset(content_type: str | None) -> str | None:
    """The charset a body labelled JSON is decoded with; None when it is not labelled JSON.

    Mirrors how Connexion reads the header (``connexion.utils.split_content_type``): only a
    ``charset=`` parameter right after ``;`` is seen; otherwise UTF-8.
    """
    if content_type is None:
        return None
    mime, _, parameters = content_type.partition(";")
    mime = mime.strip().lower()
    if not (mime == "application/json" or mime.endswith("+json")):
        return None
    for parameter in parameters.split(";"):
        if parameter.startswith("charset="):
            return parameter[len("charset=") :]
    return "utf-8"


class _Unrepresentable:
    """Stands in, while parsing, for a number no JSON client can hold (NaN, Infinity, 1e999)."""


_UNREPRESENTABLE = _Unrepresentable()


def _parse_float(text: str) -> Any:
    value = float(text)
    return _UNREPRESENTABLE if value in (float("inf"), float("-inf")) else value


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_problems(value: Any) -> dict[str, list[str]]:
    """Each place in parsed JSON holding what cannot be represented, by dotted path (``base``: top)."""
    problems: dict[str, list[str]] = {}

    def note(path: str, text: str) -> None:
        problems.setdefault(path or "base", []).append(text)

    def walk(node: Any, path: str) -> None:
        if isinstance(node, str):
            if not _is_text(node):
                note(path, errors.NOT_UNICODE)
        elif isinstance(node, bool):
            return
        elif isinstance(node, int):
            if not INT64[0] <= node <= INT64[1]:
                note(path, errors.OUT_OF_RANGE)
        elif node is _UNREPRESENTABLE:
            note(path, errors.NOT_A_NUMBER)
        elif isinstance(node, dict):
            for key, item in node.items():
                if not _is_text(key):
                    note(path, errors.NOT_UNICODE)
                    continue
                walk(item, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}.{i}" if path else str(i))

    walk(value, "")
    return problems


def parse_json(text: str, raw: bytes | None = None) -> Any:
    """Parse a JSON body, or raise the 400 naming each place that cannot be represented."""
    if raw is not None:
        # orjson refuses what is refused below (lone surrogates, NaN, numbers beyond a double) ten
        # times faster; what it takes is fine unless it holds a long integer (which it rounds).
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if not _LONG_INTEGER.search(raw):
                return value
    try:
        value = json.loads(text, parse_constant=lambda _: _UNREPRESENTABLE, parse_float=_parse_float)
    except RecursionError:
        raise errors.ValidationFailed.field("body", errors.NESTED_TOO_DEEP) from None
    except ValueError:  # JSONDecodeError, and integers beyond Python's digit limit
        raise errors.ValidationFailed.field("body", errors.MALFORMED_JSON) from None
    if _SUSPECT.search(raw if raw is not None else text.encode("utf-8", "surrogatepass")):
        try:
            problems = json_problems(value)
        except RecursionError:
            raise errors.ValidationFailed.field("body", errors.NESTED_TOO_DEEP) from None
        if problems:
            raise errors.ValidationFailed(errors=problems)
    return value


def _parse(text: str, raw: bytes) -> None:
    parse_json(text, raw)


def check_body(body: bytes, content_type: str | None) -> None:
    """Raise the 415/400 a body earns when it cannot be decoded or (labelled JSON) parsed.

    An unlabelled body is the normaliser's to read (JSON when it looks like JSON, else a form);
    it must still be UTF-8, and when it looks like JSON it must parse.
    """
    if not body:
        return
    if content_type is None:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.ValidationFailed.field(
                "body", errors.NOT_VALID_TEXT.format(charset="UTF-8")
            ) from None
        if text.lstrip()[:1] in ("{", "["):
            _parse(text, body)
        elif problems := form_problems(body):
            raise errors.ValidationFailed(errors=problems)
        return
    mime = content_type.partition(";")[0].strip().lower()
    if mime == "application/x-www-form-urlencoded":
        if problems := form_problems(body):
            raise errors.ValidationFailed(errors=problems)
        return
    if mime == "multipart/form-data":
        if problems := multipart_problems(body, content_type):
            raise errors.ValidationFailed(errors=problems)
        return
    charset = json_charset(content_type)
    if charset is None:
        return
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        raise errors.UnsupportedMediaType(
            errors={"content_type": [errors.UNKNOWN_CHARSET.format(charset=charset)]}
        ) from None
    try:
        text = body.decode(codec.name)
    except UnicodeDecodeError:
        shown = "UTF-8" if codec.name == "utf-8" else charset
        raise errors.ValidationFailed.field("body", errors.NOT_VALID_TEXT.format(charset=shown)) from None
    _parse(text, body if codec.name == "utf-8" else text.encode("utf-8", "surrogatepass"))


def multipart_problems(body: bytes, content_type: str) -> dict[str, list[str]]:
    """Fields (parts without a filename) of a multipart body that are not UTF-8 text, by name.

    Parsed with python-multipart, the parser Starlette uses; a body it cannot parse is left to
    Starlette, which answers it with its own 400.
    """
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        return {}
    problems: dict[str, list[str]] = {}
    part: dict[str, Any] = {}

    def begin() -> None:
        part.clear()
        part.update(field=b"", value=b"", headers={}, data=[])

    def header_field(data: bytes, start: int, end: int) -> None:
        part["field"] += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        part["value"] += data[start:end]

    def header_end() -> None:
        part["headers"][part["field"].lower()] = part["value"]
        part["field"] = part["value"] = b""

    def data(chunk: bytes, start: int, end: int) -> None:
        if b"filename" not in part["headers"].get(b"content-disposition", b""):
            part["data"].append(chunk[start:end])

    def end() -> None:
        disposition = part["headers"].get(b"content-disposition", b"")
        if b"filename" in disposition:
            return
        _, params = parse_options_header(disposition)
        name = params.get(b"name", b"")
        if not _is_utf8(name) or not _is_utf8(b"".join(part["data"])):
            problems.setdefault(_field_name(name), []).append(errors.NOT_UNICODE)

    callbacks = {
        "on_part_begin": begin,
        "on_header_field": header_field,
        "on_header_value": header_value,
        "on_header_end": header_end,
        "on_part_data": data,
        "on_part_end": end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except MultipartParseError:
        return {}
    return problems


def with_length(scope: Scope, length: int) -> Scope:
    """A copy of ``scope`` whose headers state the body's length in place of ``Transfer-Encoding``."""
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"transfer-encoding"]
    headers.append((b"content-length", str(length).encode()))
    return {**scope, "headers": headers}


def too_large(limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(errors={"body": [errors.BODY_TOO_LARGE.format(limit=limit)]})


class InputGuard:
    """Checks the URL, then reads the body once (bounded), checks it, and replays it to the stages after."""

    def __init__(self, settings: Any = None, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_body_bytes = max_body_bytes

    async def run(self, x: Exchange) -> Answer | None:
        scope = x.scope
        try:
            check_path(scope)
            check_query(scope)
            if scope["method"] not in _BODY_METHODS or is_state_import(scope):
                return None
            body = await self._read(scope, x.receive)
            if body is None:
                return ANSWERED  # the client went away; nothing to answer
            check_body(body, scope_header(scope, b"content-type"))
        except errors.FlowdockError as exc:
            if exc.status == 400 and str(scope.get("path", "")).startswith(_OAUTH_PATHS):
                # RFC 6749 §5.2: what OAuth clients parse, and what the spec declares there.
                texts = "; ".join(f"{name}: {text}" for name, found in exc.errors.items() for text in found)
                exc = errors.OAuthFailed("invalid_request", texts or exc.message)
            # An unread body cannot be skipped to reach the next request: the server closes.
            return error_answer(exc, _CLOSE if exc.status == 413 else ())
        if scope_header(scope, b"content-length") is None:
            x.scope = with_length(scope, len(body))
        x.receive = replay(body, x.receive)
        return None

    async def _read(self, scope: Scope, receive: Any) -> bytes | None:
        limit = ROUTE_LIMITS.get((scope["method"], scope.get("path", "")), self.max_body_bytes)
        declared = scope_header(scope, b"content-length")
        if declared is not None:
            if not (declared.strip().isascii() and declared.strip().isdigit()):
                raise errors.ValidationFailed.field("content_length", errors.INVALID)
            if len(declared.strip()) > 18 or int(declared) > limit:
                raise too_large(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
