"""Large world documents in small steps: read, parse and write one without one long call.

A world document of hundreds of megabytes parsed by one ``orjson.loads`` (or validated by one
compiled-validator call, or dumped by one ``orjson.dumps``) holds the interpreter for seconds,
and with it the event loop every world shares: no thread switch happens inside a C call. Here
each step is small, so a worker thread doing them lets the loop run between any two:

- ``DocumentText`` decodes the body as its chunks arrive (UTF-8, strictly);
- ``parse_document`` parses it one value at a time: the top-level object's keys, and each
  element of a top-level array on its own (``json.JSONDecoder.raw_decode``, the standard
  library's C scanner, one element per call);
- ``dump_document`` writes a document back as chunks of at most ``DUMP_ELEMENTS`` elements.

What the document may hold is then checked by ``world/documents.py`` (also in chunks).
"""

from __future__ import annotations

import codecs
import gc
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from mock_server import errors

DUMP_ELEMENTS = 2000
"""Elements of a top-level array encoded per ``orjson.dumps`` call (a few hundred kilobytes)."""
DOCUMENT_BYTES_FACTOR = 6
"""Memory a world takes per byte of its JSON document, rounded up: measured with tracemalloc,
a store built from a document of 50k messages holds about 1.4 times the document's size in
objects, and keeps the parsed document (about 4.3 times) to reset to. ``--world-memory-mb``
bounds the document a world is built from by this factor (world/documents.py)."""

MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
"""The largest world document anything loads, whatever the memory budget allows."""
GENERATED_BYTES = {"message": 650, "user": 600, "flow": 1000, "organization": 300}
"""About how many bytes of a generated world's document each item takes (messages include their
threads; measured on the generator's output)."""


def generated_document_bytes(organizations: int, users: int, flows: int, messages_per_flow: int) -> int:
    """About how large the generator's document for these sizes is, before generating it."""
    per = GENERATED_BYTES
    return (
        flows * messages_per_flow * per["message"]
        + users * per["user"]
        + flows * per["flow"]
        + organizations * per["organization"]
    )


_SPACE = re.compile(r"[ \t\n\r]*")
_PAUSES = [0]
_PAUSES_LOCK = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a large document becomes objects (counted, so two
    loads at once both finish before it runs again): each full collection would walk every object
    made so far, holding the interpreter, and so the event loop, for as long.

    What is left is the first collections after it, which walk the objects just made once (not
    frozen with ``gc.freeze``: a world's store and its parts refer to each other, and a deleted
    world must still be collected)."""
    with _PAUSES_LOCK:
        _PAUSES[0] += 1
        if _PAUSES[0] == 1:
            _PAUSES.append(gc.isenabled())
            gc.disable()
    try:
        yield
    finally:
        with _PAUSES_LOCK:
            _PAUSES[0] -= 1
            if _PAUSES[0] == 0 and _PAUSES.pop():
                gc.enable()


class SchemaRefused(Exception):
    """A document the world schema refuses: the request goes to Connexion, whose validation
    words its 400 (``body``: the document again, as JSON chunks)."""

    def __init__(self, body: list[bytes]) -> None:
        super().__init__("the world schema refuses this document")
        self.body = body


class Unrepresentable:
    """Stands in, while parsing, for a number no JSON client can hold (NaN, Infinity, 1e999)."""

    def __repr__(self) -> str:
        return "NaN"


UNREPRESENTABLE = Unrepresentable()


def _parse_float(text: str) -> Any:
    value = float(text)
    return UNREPRESENTABLE if value in (float("inf"), float("-inf")) else value


_DECODER = json.JSONDecoder(parse_constant=lambda _: UNREPRESENTABLE, parse_float=_parse_float)


class DocumentText:
    """A request body decoded as its chunks arrive; ``ValidationFailed`` at the first byte that
    is not UTF-8."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._parts: list[str] = []
        self.size = 0

    def feed(self, chunk: bytes, final: bool = False) -> None:
        self.size += len(chunk)
        try:
            self._parts.append(self._decoder.decode(chunk, final))
        except UnicodeDecodeError:
            raise errors.ValidationFailed.field(
                "body", errors.NOT_VALID_TEXT.format(charset="UTF-8")
            ) from None

    def text(self) -> str:
        """The whole text (the parts are released)."""
        text = "".join(self._parts)
        self._parts = []
        return text.removeprefix("\ufeff")


def _malformed() -> errors.ValidationFailed:
    return errors.ValidationFailed.field("body", errors.MALFORMED_JSON)


def _value(text: str, at: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, at)
    except RecursionError:
        raise errors.ValidationFailed.field("body", errors.NESTED_TOO_DEEP) from None
    except ValueError:  # JSONDecodeError, and integers beyond Python's digit limit
        raise _malformed() from None


def _skip(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    assert match is not None  # `*` always matches
    return match.end()


def _expect(text: str, at: int, char: str) -> int:
    at = _skip(text, at)
    if text[at : at + 1] != char:
        raise _malformed()
    return at + 1


def _array(text: str, at: int) -> tuple[list[Any], int]:
    """The array starting at ``text[at] == "["``, one element per decoder call."""
    out: list[Any] = []
    at = _skip(text, at + 1)
    if text[at : at + 1] == "]":
        return out, at + 1
    while True:
        value, at = _value(text, _skip(text, at))
        out.append(value)
        at = _skip(text, at)
        char = text[at : at + 1]
        if char == "]":
            return out, at + 1
        if char != ",":
            raise _malformed()
        at += 1


def parse_document(text: str) -> Any:
    """The JSON value of ``text``; a top-level object's array values are parsed element by element.

    The same values ``json.loads`` gives, except that ``NaN``, ``Infinity`` and numbers beyond a
    double are ``UNREPRESENTABLE`` (refused by the checks). Malformed JSON, or JSON nested too
    deeply, is a 400 on ``body``.
    """
    at = _skip(text, 0)
    if text[at : at + 1] != "{":
        value, at = _value(text, at)
    else:
        value = {}
        at = _skip(text, at + 1)
        if text[at : at + 1] == "}":
            at += 1
        else:
            while True:
                key, at = _value(text, _skip(text, at))
                if not isinstance(key, str):
                    raise _malformed()
                at = _skip(text, _expect(text, at, ":"))
                item, at = _array(text, at) if text[at : at + 1] == "[" else _value(text, at)
                value[key] = item
                at = _skip(text, at)
                char = text[at : at + 1]
                if char == "}":
                    at += 1
                    break
                if char != ",":
                    raise _malformed()
                at += 1
    if _skip(text, at) != len(text):
        raise _malformed()
    return value


def dump_document(doc: dict[str, Any]) -> Iterator[bytes]:
    """``doc`` as JSON, in chunks: each top-level array ``DUMP_ELEMENTS`` elements at a time."""
    yield b"{"
    for n, (key, value) in enumerate(doc.items()):
        yield (b"," if n else b"") + orjson.dumps(key) + b":"
        if not isinstance(value, list) or len(value) <= DUMP_ELEMENTS:
            yield orjson.dumps(value)
            continue
        for start in range(0, len(value), DUMP_ELEMENTS):
            part = orjson.dumps(value[start : start + DUMP_ELEMENTS])
            first, last = start == 0, start + DUMP_ELEMENTS >= len(value)
            yield (b"" if first else b",") + part[0 if first else 1 : len(part) if last else -1]
    yield b"}"
