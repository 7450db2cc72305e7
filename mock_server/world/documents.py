"""World documents: checked whole before one replaces the running state.

``PUT /_mock/state``, ``--fixtures`` and anything else that loads a world use ``check_world``:
every problem of the document is found and reported at once, each under its place in the
document (``messages.12.user``), before anything is replaced. A document passes when

1. it is valid against fixtures/world.schema.json (jsonschema-rs decides, a 50k-message document
   in tens of milliseconds; the jsonschema package words the problems of an invalid one);
2. every value is representable: text is valid Unicode (no lone surrogate) and integers fit in
   64 bits, as everything the mock serves must be encodable;
3. what must be unique is: user ids, emails, API tokens; organization ids and names; flow ids,
   API tokens and names within their organization; message ids within a flow or conversation;
   thread ids within a flow; source ids and flow tokens; invitation ids; file hashes; OAuth
   application ids and client ids, tokens, refresh tokens and codes; members of an organization
   or flow; private conversations per pair of users; and message ids ascend within a flow or
   conversation, as the store lists them;
4. every reference names something in the document: members, flows' organizations, the flows of
   messages, threads, sources, invitations and files, message authors and threads, thread
   sources and initial messages (a message of the thread, in its flow), file owners, OAuth
   owners, users and applications; every member of a flow is a member of the flow's
   organization (as removing someone from an organization removes them from its flows); a
   private conversation is between two different known users, and its messages are theirs;
5. the store can build it (``Store.build``): what the checks above do not cover surfaces here.

``check_world`` returns the built store, which the caller swaps in (``Store.adopt``); the build
happens without the store's lock, so a large import does not hold up other requests.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mock_server import errors
from mock_server.resources import world_schema_path
from mock_server.world.loading import DUMP_ELEMENTS, UNREPRESENTABLE

if TYPE_CHECKING:
    from mock_server.store import Store, StoreConfig

Problems = dict[str, list[str]]

INT64 = (-(2**63), 2**63 - 1)
ASCENDING = "must be greater than the id of the previous message (a flow's messages are listed oldest first)"


@functools.cache
def world_schema() -> dict[str, Any]:
    with open(world_schema_path(), encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@functools.cache
def _fast_validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(world_schema(), validate_formats=True)


@functools.cache
def _fast_item_validator(key: str) -> Any:
    """The compiled validator of one element of the top-level array ``key``."""
    import jsonschema_rs

    schema = world_schema()
    # The element's schema, its references into the root's $defs still resolving.
    defs = {**schema.get("$defs", {}), "element": schema["properties"][key]["items"]}
    element = {"$schema": schema["$schema"], "$defs": defs, "$ref": "#/$defs/element"}
    return jsonschema_rs.validator_for(element, validate_formats=True)


def _chunks(doc: dict[str, Any]) -> Iterable[tuple[str, list[Any]]]:
    """Each top-level array of ``doc`` in slices of ``DUMP_ELEMENTS``: one compiled call each, so
    a worker thread checking a large document never holds the interpreter for long."""
    for key, value in doc.items():
        if isinstance(value, list):
            for start in range(0, len(value), DUMP_ELEMENTS):
                yield key, value[start : start + DUMP_ELEMENTS]


def _fast_valid(doc: dict[str, Any]) -> bool:
    """The compiled validators' verdict, in small calls: the document with its arrays empty, then
    each array's elements a slice at a time (the schema constrains arrays only by their items)."""
    shell = {key: [] if isinstance(value, list) else value for key, value in doc.items()}
    if not _fast_validator().is_valid(shell):
        return False
    properties = world_schema()["properties"]
    return all(
        key not in properties or all(map(_fast_item_validator(key).is_valid, part))
        for key, part in _chunks(doc)
    )


@functools.cache
def _explaining_validator() -> Any:
    import jsonschema

    schema = world_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _schema_problems(doc: Any) -> Problems:
    """Schema violations by place. The compiled validator decides (fast); when it says no, the
    jsonschema package explains, in the wording the rest of the mock's 400s use."""
    if isinstance(doc, dict) and _fast_valid(doc):
        return {}
    problems: Problems = {}
    for error in sorted(
        _explaining_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))
    ):
        where = ".".join(str(p) for p in error.absolute_path) or "base"
        problems.setdefault(where, []).append(_worded(error))
    return problems


def _worded(error: Any) -> str:
    """jsonschema's message, or the schema's own ``errorMessage`` for a pattern it names (a
    regular expression says little to whoever wrote the document)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator in ("pattern", "not") and "errorMessage" in schema:
        return f"{error.instance!r} {schema['errorMessage']}"
    return str(error.message)


def _representation_problems(doc: Any) -> Problems:
    """Lone surrogates and integers beyond 64 bits, by place (a fast pass first: usually none)."""
    import orjson

    try:
        # Refuses lone surrogates and (strict) integers beyond 53 bits; what passes is fine. In
        # slices, as the schema check: no one long call.
        shell = {key: None if isinstance(value, list) else value for key, value in doc.items()}
        orjson.dumps(shell, option=orjson.OPT_STRICT_INTEGER)
        for _, part in _chunks(doc):
            orjson.dumps(part, option=orjson.OPT_STRICT_INTEGER)
    except TypeError:
        pass  # a lone surrogate, or an integer beyond 53 bits (which may still fit 64): look closer
    else:
        return {}
    problems: Problems = {}
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                problems.setdefault(path or "base", []).append(errors.NOT_UNICODE)
        elif isinstance(node, bool):
            continue
        elif isinstance(node, int):
            if not INT64[0] <= node <= INT64[1]:
                problems.setdefault(path or "base", []).append(errors.OUT_OF_RANGE)
        elif node is UNREPRESENTABLE:
            problems.setdefault(path or "base", []).append(errors.NOT_A_NUMBER)
        elif isinstance(node, dict):
            for key, value in node.items():
                stack.append((f"{path}.{key}" if path else str(key), value))
                if isinstance(key, str):
                    stack.append((path, key))
        elif isinstance(node, list):
            stack.extend((f"{path}.{i}" if path else str(i), value) for i, value in enumerate(node))
    return dict(sorted(problems.items()))


class _Sharded:
    """A dict split in ``SHARDS`` by hash: growing one of a million entries rehashes them all in
    one C call (tens of milliseconds, the interpreter held, so the event loop too); here each
    resize rehashes a sixty-fourth of them."""

    SHARDS = 64
    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[dict[Any, Any]] = [{} for _ in range(self.SHARDS)]

    def __contains__(self, key: Any) -> bool:
        return key in self._parts[hash(key) % self.SHARDS]

    def __getitem__(self, key: Any) -> Any:
        return self._parts[hash(key) % self.SHARDS][key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._parts[hash(key) % self.SHARDS][key] = value

    def setdefault(self, key: Any, value: Any) -> Any:
        return self._parts[hash(key) % self.SHARDS].setdefault(key, value)


class _Checker:
    """Uniqueness and references over a schema-valid document, collecting every problem."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.problems: Problems = {}

    def note(self, where: str, text: str) -> None:
        self.problems.setdefault(where, []).append(text)

    def items(self, key: str) -> Iterable[tuple[str, dict[str, Any]]]:
        for i, item in enumerate(self.doc.get(key) or ()):
            yield f"{key}.{i}", item

    def unique(self, key: str, *fields: str, scope: Callable[[dict[str, Any]], Any] | None = None) -> None:
        # Each item's place (``messages.3``) is written out only for a problem: a large import has
        # a hundred thousand places and, as a rule, no problem.
        items = self.doc.get(key) or ()
        for field in fields:
            seen = _Sharded()  # (scope, value) -> the index of the first item that has it
            for i, item in enumerate(items):
                value = item.get(field)
                if value is None:
                    continue
                if isinstance(value, str) and field == "email":
                    value = value.lower()
                first = seen.setdefault((scope(item) if scope else None, value), i)
                if first != i:
                    self.note(f"{key}.{i}.{field}", f"{errors.TAKEN} ({key}.{first}.{field})")

    def refers(self, where: str, value: Any, known: set[Any] | dict[Any, Any], what: str) -> None:
        if value is not None and value not in known:
            self.note(where, f"{value!r} is not the id of a {what} in this document")

    def run(self) -> Problems:
        doc = self.doc
        users = {u["id"] for u in doc.get("users") or ()}
        orgs = {o["id"] for o in doc.get("organizations") or ()}
        flows = {f["id"] for f in doc.get("flows") or ()}
        apps = {a["id"] for a in doc.get("oauth_applications") or ()}
        sources = {s["id"] for s in doc.get("sources") or ()}
        threads = {(t["flow"], t["id"]) for t in doc.get("threads") or ()}

        self.unique("users", "id", "email", "api_token")
        self.unique("organizations", "id", "parameterized_name")
        self.unique("flows", "id", "api_token", "files_id")
        self.unique("flows", "parameterized_name", scope=lambda f: f.get("organization_id"))
        self.unique("messages", "id", scope=lambda m: m.get("flow"))
        self.unique("threads", "id", scope=lambda t: t.get("flow"))
        self.unique("sources", "id", "flow_token")
        self.unique("invitations", "id")
        self.unique("files", "hash")
        self.unique("oauth_applications", "id", "client_id")
        self.unique("oauth_tokens", "token", "refresh_token")
        self.unique("oauth_codes", "code")

        org_members = {
            o["id"]: {m["user"] for m in o.get("members") or ()} for o in doc.get("organizations") or ()
        }
        for where, org in self.items("organizations"):
            self._members(where, org, users)
        for where, flow in self.items("flows"):
            self.refers(f"{where}.organization_id", flow["organization_id"], orgs, "organization")
            self._members(where, flow, users)
            self._in_organization(where, flow, org_members.get(flow["organization_id"]), users)
        last: dict[Any, int] = {}
        for i, message in enumerate(doc.get("messages") or ()):  # places written only for a problem
            flow, number, user = message["flow"], message["id"], message["user"]
            if flow not in flows:
                self.refers(f"messages.{i}.flow", flow, flows, "flow")
            before = last.get(flow, 0)
            if number <= before:
                self.note(f"messages.{i}.id", ASCENDING)
            last[flow] = max(number, before)
            if user != 0 and user not in users:
                self.refers(f"messages.{i}.user", user, users, "user")
            thread = message.get("thread_id")
            if thread is not None and (flow, thread) not in threads:
                self.note(
                    f"messages.{i}.thread_id", f"{thread!r} is not the id of a thread of this message's flow"
                )
        thread_of = _Sharded()
        for m in doc.get("messages") or ():
            thread_of[(m["flow"], m["id"])] = m.get("thread_id")
        for where, thread in self.items("threads"):
            self.refers(f"{where}.flow", thread["flow"], flows, "flow")
            self.refers(f"{where}.source_id", thread.get("source_id"), sources, "source")
            self._initial_message(where, thread, thread_of)
        for where, source in self.items("sources"):
            self.refers(f"{where}.flow", source["flow"], flows, "flow")
            self.refers(f"{where}.application_id", source.get("application_id"), apps, "OAuth application")
            self.refers(f"{where}.creator_id", source.get("creator_id"), users, "user")
        for where, invitation in self.items("invitations"):
            self.refers(f"{where}.flow", invitation["flow"], flows, "flow")
        for where, file in self.items("files"):
            self.refers(f"{where}.flow", file.get("flow"), flows, "flow")
            for j, user in enumerate(file.get("private") or ()):
                self.refers(f"{where}.private.{j}", user, users, "user")
        for where, app in self.items("oauth_applications"):
            self.refers(f"{where}.owner_id", app.get("owner_id"), users, "user")
        for key in ("oauth_tokens", "oauth_codes"):
            for where, grant in self.items(key):
                self.refers(f"{where}.user_id", grant["user_id"], users, "user")
                self.refers(f"{where}.application_id", grant.get("application_id"), apps, "OAuth application")
        self._private(users)
        return dict(sorted(self.problems.items()))

    def _members(self, where: str, group: dict[str, Any], users: set[Any]) -> None:
        seen: set[Any] = set()
        for j, member in enumerate(group.get("members") or ()):
            self.refers(f"{where}.members.{j}.user", member["user"], users, "user")
            if member["user"] in seen:
                self.note(f"{where}.members.{j}.user", f"{errors.TAKEN} (a member twice)")
            seen.add(member["user"])

    def _in_organization(
        self, where: str, flow: dict[str, Any], org_members: set[Any] | None, users: set[Any]
    ) -> None:
        """Every member of a flow belongs to its organization (unknown users and organizations
        are reported as such)."""
        if org_members is None:
            return
        for j, member in enumerate(flow.get("members") or ()):
            if member["user"] in users and member["user"] not in org_members:
                self.note(
                    f"{where}.members.{j}.user",
                    f"{member['user']!r} is not a member of the flow's organization",
                )

    def _initial_message(self, where: str, thread: dict[str, Any], thread_of: _Sharded) -> None:
        """A thread's ``initial_message`` is a message of its flow that belongs to the thread."""
        initial = thread.get("initial_message")
        if initial is None:
            return
        key = (thread["flow"], initial)
        if key not in thread_of:
            self.note(
                f"{where}.initial_message", f"{initial!r} is not the id of a message of this thread's flow"
            )
        elif thread_of[key] != thread["id"]:
            self.note(f"{where}.initial_message", f"message {initial!r} is not in this thread")

    def _private(self, users: set[Any]) -> None:
        pairs: dict[frozenset[Any], str] = {}
        for where, conversation in self.items("private_conversations"):
            a, b = conversation["users"]
            if a == b:
                self.note(f"{where}.users", "a private conversation is between two different users")
            for user in (a, b):
                if user not in users:
                    self.note(f"{where}.users", f"{user!r} is not the id of a user in this document")
            pair = frozenset((a, b))
            if pair in pairs:
                self.note(f"{where}.users", f"{errors.TAKEN} ({pairs[pair]}.users)")
            pairs.setdefault(pair, where)
            for key in conversation.get("open") or {}:
                if not key.isascii() or not key.isdigit() or int(key) not in (a, b):
                    self.note(f"{where}.open.{key}", "is not one of the conversation's users")
            seen: set[Any] = set()
            for j, message in enumerate(conversation.get("messages") or ()):
                if message["user"] not in (a, b):
                    self.note(f"{where}.messages.{j}.user", "is not one of the conversation's users")
                if message["id"] in seen:
                    self.note(f"{where}.messages.{j}.id", errors.TAKEN)
                elif seen and message["id"] < max(seen):
                    self.note(f"{where}.messages.{j}.id", ASCENDING)
                seen.add(message["id"])


def schema_valid(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` is valid against the world schema (the compiled validators, in slices)."""
    return _fast_valid(doc)


def representation_problems(doc: dict[str, Any]) -> Problems:
    """What in ``doc`` no client could read back (``NaN``, lone surrogates, integers beyond 64
    bits), by place; in slices, as ``check_world`` looks for it."""
    return _representation_problems(doc)


def world_problems(doc: Any, config: StoreConfig | None = None) -> Problems:
    """Everything wrong with a world document, by place (empty: it loads)."""
    try:
        check_world(doc, config)
    except errors.ValidationFailed as exc:
        return exc.errors
    return {}


def document_problems(doc: Any, *, representable: bool = False) -> Problems:
    """Checks 1 to 4 of a document, without building it (``check_world`` builds it too);
    ``representable``: the caller has found checks 1 and 2 pass already."""
    if not isinstance(doc, dict):
        return {"base": ["the document must be an object"]}
    problems = {} if representable else _representation_problems(doc) or _schema_problems(doc)
    return problems or _Checker(doc).run()


def check_world(
    doc: Any, config: StoreConfig | None = None, *, representable: bool = False, consume: bool = False
) -> Store:
    """The store ``doc`` describes, built aside; ``ValidationFailed`` listing every problem if broken.

    ``consume``: ``doc`` is the caller's alone, and each record is dropped from it as soon as the
    store has taken what it needs (``Consumed``), so the parsed document and the store built from
    it do not both exist whole: a large import's peak memory is about the larger of the two."""
    from mock_server.store import Store

    problems = document_problems(doc, representable=representable)
    if problems:
        raise errors.ValidationFailed(errors.INVALID_WORLD, problems)
    if consume:
        for key, value in doc.items():
            if isinstance(value, list):
                doc[key] = Consumed.moving(value)
    from mock_server.store.clock import Clock

    host = object.__new__(Store)  # what ``Store.build`` reads of the store it builds for
    host.config = config or _default_config()
    host._credential_random = None
    host.clock = Clock(host.config.clock_start_ms)
    host.events = _NoEvents()  # type: ignore[assignment]
    try:
        return Store.build(host, doc)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise errors.ValidationFailed(
            errors.INVALID_WORLD, {"base": [f"the store cannot load this document: {exc}"]}
        ) from None


class Consumed(list[Any]):
    """A list whose iteration drops each item once it is passed (its place set to None): a
    store's ``load`` reads each array of the document once, in order."""

    @classmethod
    def moving(cls, items: list[Any], step: int = DUMP_ELEMENTS) -> Consumed:
        """``items`` moved into a ``Consumed`` (``items`` left empty), a slice at a time: one
        copy of a million references, or one release of them, is a long C call."""
        out = cls()
        for start in range(0, len(items), step):
            out.extend(items[start : start + step])
        while items:
            del items[-step:]
        return out

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            item = self[i]
            self[i] = None
            yield item


def _default_config() -> StoreConfig:
    from mock_server.store import StoreConfig

    return StoreConfig()


class _NoEvents:
    """Stands in for an event log while a document is built aside (loading emits nothing)."""

    def clear(self) -> None:
        return None
