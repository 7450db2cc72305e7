"""ASGI middleware that turns absurd input into a clear 4xx before anything routes or parses it.

Each of these would otherwise escape as a 500 from deep inside Starlette's router, Connexion's
JSON reader or the normaliser, or would resolve to a resource the client never named:

- a path segment or query value over 4096 characters: 400. No parameter of the contract takes
  more than 1024, and Python refuses to parse integers of more than 4300 digits (ValueError in
  the router's ``int`` convertor);
- a path segment that is ``.`` or ``..``, or holds a percent-encoded ``/``: 404. No Flowdock name
  contains a slash or is a dot segment, and the router would otherwise see the decoded slash as a
  separator (``/flows/acme%2Fmain/users`` is not ``/flows/acme/main/users``);
- a body over the limit: 413, decided from ``Content-Length`` before reading when the client
  sends one, otherwise while reading; a ``Content-Length`` that is not a number: 400;
- a body labelled JSON that is not text in its charset (400), names a charset Python does not
  know (415), does not parse, nests too deep or holds an integer of more than 4300 digits (400).

The body limit is 16 MiB: the largest upload the store takes is 10 MiB (``StoreConfig``), about
13.4 MiB once base64-encoded in a JSON body; nothing valid is bigger. The body is read once and
replayed, so nothing downstream changes.

This middleware runs outside Connexion's exception layer (before the normaliser, which parses
bodies too), so it sends its own responses (``responses.send_error``); they are the same
``FlowdockError.to_body()`` that app.py renders for every other domain error.
"""

from __future__ import annotations

import codecs
import json
from typing import Any
from urllib.parse import parse_qsl

from mock_server import errors
from mock_server.middleware.responses import send_error
from mock_server.middleware.types import Scope

Message = dict[str, Any]

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body accepted (413 above it)."""
MAX_VALUE_CHARS = 4096
"""Longest path segment or query value accepted (400 above it)."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DOT_SEGMENTS = frozenset({".", ".."})
_OAUTH_PATHS = ("/oauth/authorize", "/oauth/token")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


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


def check_query(scope: Scope) -> None:
    """Raise the 400 an absurdly long query parameter earns."""
    query = scope.get("query_string") or b""
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


def _parse(text: str) -> None:
    try:
        json.loads(text)
    except RecursionError:
        raise errors.ValidationFailed.field("body", errors.NESTED_TOO_DEEP) from None
    except ValueError:  # JSONDecodeError, and integers beyond Python's digit limit
        raise errors.ValidationFailed.field("body", errors.MALFORMED_JSON) from None


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
            _parse(text)
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
    _parse(text)


def too_large(limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(errors={"body": [errors.BODY_TOO_LARGE.format(limit=limit)]})


class InputGuardMiddleware:
    """Checks the URL, then reads the body once (bounded), checks it, and replays it to the app."""

    def __init__(self, app: Any, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_path(scope)
            check_query(scope)
            if scope["method"] not in _BODY_METHODS:
                await self.app(scope, receive, send)
                return
            body = await self._read(scope, receive)
            if body is None:
                return  # the client went away; nothing to answer
            check_body(body, _header(scope, b"content-type"))
        except errors.FlowdockError as exc:
            if exc.status == 400 and str(scope.get("path", "")).startswith(_OAUTH_PATHS):
                # RFC 6749 §5.2: what OAuth clients parse, and what the spec declares there.
                texts = "; ".join(f"{name}: {text}" for name, found in exc.errors.items() for text in found)
                exc = errors.OAuthFailed("invalid_request", texts or exc.message)
            await send_error(send, exc)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: Message = await receive()
            return message

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Any) -> bytes | None:
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise errors.ValidationFailed.field("content_length", errors.INVALID)
            if len(declared.strip()) > 18 or int(declared) > self.max_body_bytes:
                raise too_large(self.max_body_bytes)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise too_large(self.max_body_bytes)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
