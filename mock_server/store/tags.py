"""Tags the way Flowdock derived them (docs/flowdock.md §5), and the matching rules of tag filters.

Explicit tags come first, then what the text yields (mentions, hashtags, ``:url``), then meta
tags the caller adds (``:file``, ``influx:<parent>``, ``:source:<name>``); duplicates are dropped
keeping the first occurrence. Tags compare case-insensitively. Nothing here touches the store:
callers pass the nick table of the people who can be mentioned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from sys import intern

EVERYONE = frozenset({"everyone", "everybody", "all", "anyone", "anybody"})
"""Group mentions that address every member (``:user:everyone`` plus ``:unread:`` for each)."""

URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"]+")
MENTION = re.compile(r"(?<![\w@.])@([\w][\w\-]*)")
HASHTAG = re.compile(r"(?<![\w&/#])#([\w][\w\-]*)")
WORD = re.compile(r"\w+")
AT_TOKEN = re.compile(r"(?<!\S)\S*@\S*")
"""A whitespace-delimited token holding an ``@`` (an address, a mention). Anchored at a token's
start: unanchored, a run without spaces was rescanned from each of its positions (quadratic)."""


def split_tags(tags: str | Iterable[str] | None) -> list[str]:
    """An array or the legacy comma string -> a list of non-empty, stripped tags."""
    if tags is None:
        return []
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    return [t.strip() for t in items if isinstance(t, str) and t.strip()]


def is_json_object(tag: object) -> bool:
    """A tag that is a JSON object (``{}``, ``{"a": 1}``): an object where a list of tags belongs.

    A multipart or form field is text, so a client that puts an object in the ``tags`` part sends
    its JSON; taken as a tag it would be stored silently, where a JSON body gets a 400.
    """
    if not isinstance(tag, str) or not (tag.startswith("{") and tag.endswith("}")):
        return False
    try:
        return isinstance(json.loads(tag), dict)
    except ValueError:
        return False


def dedup(tags: Iterable[str]) -> list[str]:
    """Drop later case-insensitive duplicates, keeping order. Each tag is interned: the same few
    tags (``:user:2``, ``:unread:2``, ``ci``) recur on most messages, and are then kept once."""
    seen: set[str] = set()
    out = []
    for tag in tags:
        key = tag.lower()
        if key not in seen:
            seen.add(key)
            out.append(intern(tag) if type(tag) is str else tag)
    return out


def mention_tags(
    nick: str, nicks: Mapping[str, int], author: int | None, members: Iterable[int]
) -> list[str]:
    """``@nick`` -> ``:user:<id>`` and ``:unread:<id>``; group mentions; unknown nicks stay names."""
    key = nick.lower()
    if key in EVERYONE:
        return [":user:everyone", *(f":unread:{uid}" for uid in members if uid != author)]
    uid = nicks.get(key)
    if uid is None:
        return [f":user:{key}"]  # observed: @team became :user:team (a group mention)
    return [f":user:{uid}"] if uid == author else [f":user:{uid}", f":unread:{uid}"]


def normalize_explicit(
    tags: str | Iterable[str] | None, nicks: Mapping[str, int], author: int | None, members: Iterable[int]
) -> list[str]:
    """Explicit tags: ``#x`` -> ``x`` (lower case), ``@nick`` -> mention tags, the rest as given."""
    out: list[str] = []
    for tag in split_tags(tags):
        if tag.startswith("#") and len(tag) > 1:
            out.append(tag[1:].lower())
        elif tag.startswith("@") and len(tag) > 1:
            out.extend(mention_tags(tag[1:], nicks, author, members))
        else:
            out.append(tag)
    return out


def text_tags(text: str, nicks: Mapping[str, int], author: int | None, members: Iterable[int]) -> list[str]:
    """Tags parsed from message text, in order of appearance; ``:url`` and highlights last."""
    members = list(members)
    has_url = URL.search(text) is not None
    plain = URL.sub(" ", text)
    found: list[tuple[int, list[str]]] = []
    for m in MENTION.finditer(plain):
        found.append((m.start(), mention_tags(m.group(1).rstrip("-"), nicks, author, members)))
    for m in HASHTAG.finditer(plain):
        found.append((m.start(), [m.group(1).rstrip("-").lower()]))
    out = [tag for _, tags in sorted(found, key=lambda item: item[0]) for tag in tags]
    if has_url:
        out.append(":url")
    mentioned = {t for t in out if t.startswith(":user:")}
    for word in WORD.findall(AT_TOKEN.sub(" ", plain)):  # mentions and e-mail addresses are not highlights
        uid = nicks.get(word.lower())
        if uid is not None and uid != author and f":user:{uid}" not in mentioned:
            out.append(f":highlight:{uid}")
    return out


def build(
    explicit: str | Iterable[str] | None,
    text: str,
    nicks: Mapping[str, int],
    author: int | None,
    members: Iterable[int],
    meta: Iterable[str] = (),
) -> list[str]:
    """The stored tag list of a new message: explicit, then parsed from ``text``, then ``meta``."""
    members = list(members)
    return dedup(
        [
            *normalize_explicit(explicit, nicks, author, members),
            *text_tags(text, nicks, author, members),
            *meta,
        ]
    )


def filter_tags(tags: str | Iterable[str] | None, nicks: Mapping[str, int]) -> list[str]:
    """A ``tags`` filter: ``@nick`` means ``:user:<id>``, ``#x`` means ``x``; lower-cased."""
    out = []
    for tag in split_tags(tags):
        if tag.startswith("@") and len(tag) > 1:
            key = tag[1:].lower()
            uid = nicks.get(key)
            out.append(":user:everyone" if key in EVERYONE else f":user:{uid if uid is not None else key}")
        elif tag.startswith("#") and len(tag) > 1:
            out.append(tag[1:].lower())
        else:
            out.append(tag.lower())
    return out


def words(text: str) -> set[str]:
    """Whole words of a text, lower-cased: what ``search`` keywords must match."""
    return {w.lower() for w in WORD.findall(text)}
