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
import contextlib
import dataclasses
import gc
import json
import re
import sys
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
    loads at once both finish before it runs again), and what they made frozen when it is done.

    Each collection would walk every object made so far, holding the interpreter, and so the event
    loop, for as long: a world of 300k messages is about a million objects, and one full
    collection of them took 0.75 s. So the collector is off while they are made, and when the last
    load ends ``gc.freeze`` moves every object then alive out of its reach (a constant-time step);
    otherwise its first passes after the load would walk them all, and every full collection after
    that again. A frozen object is still freed when nothing refers to it any more; what the
    collector alone frees (objects referring to each other) is not, so a world that goes has its
    cycles broken first (``Store.detach``), and a store built aside but refused is dropped
    without them (``check_world``)."""
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
            if _PAUSES[0] == 0:
                gc.freeze()
                if _PAUSES.pop():
                    gc.enable()


RELEASE_STEP = 2000
"""Containers' items dropped per step by ``release``."""


def release(root: Any, step: int = RELEASE_STEP) -> None:
    """Drop ``root`` (a parsed document, a world's replaced parts) in small steps.

    Freeing a large tree of objects is one uninterrupted C call chain: the last reference to a
    list of 300k records gone, all of them are freed before the interpreter (and the event loop,
    waiting for it) runs anything else. Here lists and dicts are emptied ``step`` items at a time,
    and their items that are themselves large are taken apart the same way first; an object's
    attributes count as its items. Only what nothing else refers to is taken apart (by its
    reference count): anything still shared stays whole, and is freed by whoever holds it last.
    ``root`` itself must be the caller's alone.
    """
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            while node:
                batch = node[-step:]
                del node[-step:]
                _defer_large(batch, stack, step)
                del batch
        elif isinstance(node, dict):
            while node:
                batch = [node.popitem()[1] for _ in range(min(step, len(node)))]
                _defer_large(batch, stack, step)
                del batch
        else:
            for name in _attributes(node):
                batch = [getattr(node, name, None)]
                with contextlib.suppress(AttributeError, TypeError):
                    delattr(node, name)
                _defer_large(batch, stack, 0)
                del batch


def _attributes(obj: Any) -> list[str]:
    names = list(getattr(obj, "__dict__", ()))
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    return [n for n in names if n not in ("__dict__", "__weakref__")]


def _defer_large(batch: list[Any], stack: list[Any], step: int) -> None:
    """Move onto ``stack`` the items of ``batch`` that only ``batch`` refers to and may hold many
    objects: lists and dicts of more than ``step`` items, and objects that are not records (a
    flow's log, a timeline); they are taken apart on their own."""
    for i in range(len(batch)):
        # 2: ``batch`` and the call's argument; anything more is another holder.
        if sys.getrefcount(batch[i]) != 2:
            continue
        if isinstance(batch[i], list | dict):
            if len(batch[i]) > step:
                stack.append(batch[i])
        elif _holds_many(type(batch[i])):
            stack.append(batch[i])


_HOLDS_MANY: dict[type, bool] = {}


def _holds_many(kind: type) -> bool:
    """Whether objects of ``kind`` are worth taking apart: not scalars, not records (a slotted
    dataclass such as a message: many of them, each small)."""
    found = _HOLDS_MANY.get(kind)
    if found is None:
        scalar = issubclass(kind, str | int | float | bytes | tuple | type(None))
        record = dataclasses.is_dataclass(kind) and "__slots__" in kind.__dict__
        found = _HOLDS_MANY[kind] = not (scalar or record)
    return found


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
    """The array starting at ``text[at] == "["``: a piece of about ``PIECE_CHARS`` at a time
    (``_piece``), else one element per decoder call."""
    out: list[Any] = []
    at = _skip(text, at + 1)
    if text[at : at + 1] == "]":
        return out, at + 1
    between = ""  # what separates two elements, as the first two show (",", ",\n  ")
    slow_until = 0
    while True:
        if between and at >= slow_until:
            piece = _piece(text, at, between)
            if piece is not None:
                elements, at = piece
                out.extend(elements)
                continue
            slow_until = at + PIECE_CHARS  # no piece here: this stretch element by element
        value, end = _value(text, _skip(text, at))
        out.append(value)
        at = _skip(text, end)
        char = text[at : at + 1]
        if char == "]":
            return out, at + 1
        if char != ",":
            raise _malformed()
        at += 1
        if not between and text[end - 1 : end] == "}":
            between = text[end : _skip(text, at)]


PIECE_CHARS = 128 * 1024
"""About how much of an array ``_piece`` parses per call (about a millisecond)."""
PIECE_TRIES = 4
"""Places ``_piece`` tries to cut at before giving a stretch to the element-by-element decoder."""
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19
"""19 digits in a row, once every digit is a 0 (``_DIGITS``): perhaps a number beyond 64 bits,
which orjson reads as a float where the element-by-element decoder keeps the integer (and the
checks then refuse it by its place). Three passes at memory speed, where a regular expression
took longer than the parse."""


def _piece(text: str, at: int, between: str) -> tuple[list[Any], int] | None:
    """The elements of the array in ``text`` from ``at`` (the start of an element) to a place
    about ``PIECE_CHARS`` on where one object ends and the next begins (``}``, ``between``,
    ``{``), parsed by one ``orjson.loads``, and where the next element starts. None when there is
    no such place, or the stretch is not a run of whole elements that orjson reads as the
    standard decoder does (NaN, a lone surrogate, a long integer, malformed JSON): the caller
    parses it element by element.

    A stretch cut anywhere but between two elements of this array is not valid JSON once
    bracketed (an open string or object), so a successful parse is a correct cut; a failed one
    (a ``},{`` inside a string) tries the next place. A separator holding a line break (indented
    JSON) is never inside a string, and its indent is this array's own. orjson is several times
    faster than the standard decoder and shares the strings of repeated keys across calls, so
    the records of a large document take much less memory."""
    separator = "}" + between + "{"
    cut = text.find(separator, at + PIECE_CHARS)
    for _ in range(PIECE_TRIES):
        if cut < 0:
            return None
        stretch = text[at : cut + 1].encode("utf-8", "surrogatepass")
        if _LONG_NUMBER in stretch.translate(_DIGITS):
            return None
        try:
            return orjson.loads(b"[" + stretch + b"]"), cut + len(separator) - 1
        except orjson.JSONDecodeError:
            cut = text.find(separator, cut + 1)
    return None


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
