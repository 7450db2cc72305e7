"""Copies between stored objects and the JSON-shaped records of a world document, fast.

``load`` and ``export`` of every aggregate go through here, and the state round trip of a large
world is bound by them: ``copy.deepcopy`` and ``dataclasses.asdict`` are general (a memo dict,
recursion into any object) and several times slower than copying what a record can hold, which
is only dicts, lists and scalars.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mock_server.store.message_model import Message, Thread

_ATOMS = frozenset({str, int, float, bool, type(None)})
"""The types of a record's leaves: kept as they are, without a call to ``clone`` for each."""


def clone(value: Any) -> Any:
    """A copy of JSON-shaped data, so a response or a record never shares a mutable object with the store.

    The same result as ``copy.deepcopy`` for the dicts, lists and scalars records hold, at a
    fraction of its cost; strings, numbers and None are returned as they are. Most containers of
    a record or a thread's state hold only such leaves (an author, a status, each field): those
    are copied whole (``dict.copy``, in C) once a look at their values finds no container.
    """
    cls = type(value)
    if cls is dict:
        for v in value.values():
            if type(v) not in _ATOMS:
                return {k: v if type(v) in _ATOMS else clone(v) for k, v in value.items()}
        return value.copy()
    if cls is list:
        for v in value:
            if type(v) not in _ATOMS:
                return [v if type(v) in _ATOMS else clone(v) for v in value]
        return value.copy()
    if isinstance(value, dict):  # a subclass: copied as a plain dict
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list | tuple):  # a tuple: a shared empty value (a thread's fields), as a list
        return [clone(v) for v in value]
    return value


_FIELDS: dict[type, tuple[str, ...]] = {}


def record(obj: Any) -> dict[str, Any]:
    """A stored dataclass as its record: ``dataclasses.asdict`` for fields holding JSON-shaped data."""
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return {name: clone(getattr(obj, name)) for name in names}


def message_from_record(raw: dict[str, Any]) -> Message:
    """A stored message from its world-document record (a flow's carries ``flow``, left out here).

    Only the fields that can hold lists or objects are copied: a large import spends its time here.
    """
    fields = raw.copy()
    fields.pop("flow", None)
    message = Message(**fields)
    message.tags = list(message.tags)
    message.attachments = clone(message.attachments) if message.attachments else []
    if isinstance(message.content, (dict, list)):
        message.content = clone(message.content)
    if message.author is not None:
        message.author = clone(message.author)
    if message.reactions is not None:
        message.reactions = clone(message.reactions)
    return message


def thread_from_record(raw: dict[str, Any]) -> Thread:
    """A stored thread from its record; as for messages, only the list and object fields are copied."""
    thread = Thread(**raw)
    if thread.status is not None:
        thread.status = clone(thread.status)
    thread.fields = clone(thread.fields) if thread.fields else ()
    thread.actions = clone(thread.actions) if thread.actions else ()
    return thread
