"""Large world documents in small steps: read, parse and write one without one long call.

A world document of hundreds of megabytes parsed by one ``orjson.loads`` (or validated by one
compiled-validator call, or dumped by one ``orjson.dumps``) holds the interpreter for seconds,
and with it the event loop every world shares: no thread switch happens inside a C call. Here
each step is small, so a worker thread doing them lets the loop run between any two:

- ``DocumentText`` keeps the body's bytes as its chunks arrive, checking they are UTF-8;
- ``parse_document`` parses them a value at a time: the top-level object's keys, and each
  top-level array a piece of about 128 KiB per ``orjson.loads`` call (cut between two
  elements), or, where orjson would read it differently, one element per call of the standard
  library's decoder (``json.JSONDecoder.raw_decode``) over a decoded window;
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


_SPACE = re.compile(rb"[ \t\n\r]*")
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
    without them (``check_world``).

    The interpreter's switch interval is left at Python's 5 ms. A load once ran with 0.5 ms, so
    that the event loop got the interpreter back sooner after each of its socket calls; but every
    request the loop served then cost the load's worker several handovers of the interpreter
    each way, each slow on a small VM (it wakes the other CPU). Under ``GET /flows`` back to back
    the 50k-message import took 1.8 to 1.9 s instead of 1.1 to 1.3 s, and a 20k-message world
    9.3 s instead of 5.5 to 6.2 s, for a longest ``GET /flows`` of 13 to 22 ms instead of 15 to
    27 ms (``make bench-stalls``, alternating)."""
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
    """A request body kept as the bytes that arrive, checked to be UTF-8 as they do;
    ``ValidationFailed`` at the first byte that is not. Never decoded whole: joining or decoding
    hundreds of megabytes is one long C call (``parse_document`` decodes what it needs)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.data = bytearray()
        self.size = 0

    def feed(self, chunk: bytes, final: bool = False) -> None:
        self.size += len(chunk)
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            raise errors.ValidationFailed.field(
                "body", errors.NOT_VALID_TEXT.format(charset="UTF-8")
            ) from None
        self.data += chunk

    def take(self) -> bytearray:
        """The bytes (released here: the caller holds the only reference)."""
        data, self.data = self.data, bytearray()
        return data


def _malformed() -> errors.ValidationFailed:
    return errors.ValidationFailed.field("body", errors.MALFORMED_JSON)


Data = bytes | bytearray

WINDOW = 64 * 1024
"""Bytes decoded at first to read one value element by element (more when the value is longer)."""


def _value(data: Data, at: int) -> tuple[Any, int]:
    """The JSON value starting at byte ``at`` (the standard decoder, over a decoded window of
    ``data`` grown until it holds the whole value), and the byte after it."""
    size = WINDOW
    while True:
        last = at + size >= len(data)
        window = data[at : at + size]
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(window, last)
        try:
            value, end = _DECODER.raw_decode(text, 0)
        except RecursionError:
            raise errors.ValidationFailed.field("body", errors.NESTED_TOO_DEEP) from None
        except json.JSONDecodeError as exc:
            cut_short = exc.pos >= len(text) - 1 or exc.msg.startswith("Unterminated string")
            if last or not cut_short:
                raise _malformed() from None
        except ValueError:  # integers beyond Python's digit limit
            raise _malformed() from None
        else:
            if last or end < len(text):  # a value ending with the window may go on (a number)
                if len(text) == len(window):  # ASCII: characters are bytes
                    return value, at + end
                return value, at + len(text[:end].encode("utf-8"))
        size *= 4


def _skip(data: Data, at: int) -> int:
    match = _SPACE.match(data, at)
    assert match is not None  # `*` always matches
    return match.end()


def _expect(data: Data, at: int, char: bytes) -> int:
    at = _skip(data, at)
    if data[at : at + 1] != char:
        raise _malformed()
    return at + 1


def _array(data: Data, at: int) -> tuple[list[Any], int]:
    """The array starting at ``data[at] == "["``: a piece of about ``PIECE_BYTES`` at a time
    (``_piece``), else one element per decoder call."""
    out: list[Any] = []
    at = _skip(data, at + 1)
    if data[at : at + 1] == b"]":
        return out, at + 1
    between = b""  # what separates two elements, as the first two show (",", ",\n  ")
    slow_until = 0
    while True:
        if between and at >= slow_until:
            piece = _piece(data, at, between)
            if piece is not None:
                elements, at = piece
                out.extend(elements)
                continue
            slow_until = at + PIECE_BYTES  # no piece here: this stretch element by element
        value, end = _value(data, _skip(data, at))
        out.append(value)
        at = _skip(data, end)
        char = data[at : at + 1]
        if char == b"]":
            return out, at + 1
        if char != b",":
            raise _malformed()
        at += 1
        if not between and data[end - 1 : end] == b"}":
            between = bytes(data[end : _skip(data, at)])


PIECE_BYTES = 128 * 1024
"""About how much of an array ``_piece`` parses per call (about a millisecond)."""
PIECE_TRIES = 4
"""Places ``_piece`` tries to cut at before giving a stretch to the element-by-element decoder."""
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19
"""19 digits in a row, once every digit is a 0 (``_DIGITS``): perhaps a number beyond 64 bits,
which orjson reads as a float where the element-by-element decoder keeps the integer (and the
checks then refuse it by its place). Three passes at memory speed, where a regular expression
took longer than the parse."""


def _piece(data: Data, at: int, between: bytes) -> tuple[list[Any], int] | None:
    """The elements of the array in ``data`` from ``at`` (the start of an element) to a place
    about ``PIECE_BYTES`` on where one object ends and the next begins (``}``, ``between``,
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
    separator = b"}" + between + b"{"
    cut = data.find(separator, at + PIECE_BYTES)
    for _ in range(PIECE_TRIES):
        if cut < 0:
            return None
        stretch = b"[" + data[at : cut + 1] + b"]"
        if _LONG_NUMBER in stretch.translate(_DIGITS):
            return None
        try:
            return orjson.loads(stretch), cut + len(separator) - 1
        except orjson.JSONDecodeError:
            cut = data.find(separator, cut + 1)
    return None


def parse_document(data: Data | str) -> Any:
    """The JSON value of ``data`` (UTF-8, a leading byte-order mark skipped); a top-level
    object's array values are parsed a piece or an element at a time.

    The same values ``json.loads`` gives, except that ``NaN``, ``Infinity`` and numbers beyond a
    double are ``UNREPRESENTABLE`` (refused by the checks). Malformed JSON, or JSON nested too
    deeply, is a 400 on ``body``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    at = _skip(data, 3 if data.startswith(codecs.BOM_UTF8) else 0)
    if data[at : at + 1] != b"{":
        value, at = _value(data, at)
    else:
        value = {}
        at = _skip(data, at + 1)
        if data[at : at + 1] == b"}":
            at += 1
        else:
            while True:
                key, at = _value(data, _skip(data, at))
                if not isinstance(key, str):
                    raise _malformed()
                at = _skip(data, _expect(data, at, b":"))
                item, at = _array(data, at) if data[at : at + 1] == b"[" else _value(data, at)
                value[key] = item
                at = _skip(data, at)
                char = data[at : at + 1]
                if char == b"}":
                    at += 1
                    break
                if char != b",":
                    raise _malformed()
                at += 1
    if _skip(data, at) != len(data):
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
