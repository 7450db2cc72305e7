"""The bot-testing kit: inject any event as a user, and wait on the event log instead of sleeping.

``inject`` delivers an event into a flow or a private conversation exactly as if Flowdock had
streamed it: a persisted kind (``message``, ``status``, ``comment``, ...) goes through the store's
own post, so it gets real ids, tags and threads and is emitted by the write itself; any other kind
is completed with the common fields of a server-side event (docs/flowdock.md §4.1), checked against
its schema in spec/asyncapi.yaml and emitted. Either way streams, webhooks and waits see one
ordinary event of the log. What the real event left in the world, the injected one leaves too
(``STORED_CONSEQUENCES``): an ``emoji-reaction`` updates the message's ``emojiReactions``, an
``action`` is kept among the flow's messages.

The waits block on the log's subscribers (an ``asyncio`` future resolved by the writer, in any
thread), never on a polling loop: they answer as soon as the condition holds, and when the timeout
passes first they give up and report what they saw.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema

from mock_server import errors
from mock_server.contract import load_event_schemas
from mock_server.store.events import ADDRESSED, Event

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.flows import Flow

PERSISTED = ("message", "status", "comment", "activity", "discussion")
"""Kinds injected through the store's post (they become messages of the flow)."""
PRIVATE_PERSISTED = ("message", "status")
"""Kinds a private conversation stores."""
SEEN_LIMIT = 50
"""Events a timed-out wait reports (the newest after its ``after``)."""
MAX_TIMEOUT_S = 60.0

UNKNOWN_TYPE = "is not an event type of spec/asyncapi.yaml; send unknown: true to inject it anyway"
UPLOAD_ONLY = "a file event is injected by uploading the file (POST .../messages, multipart)"
NOT_PRIVATE = "this event type is not stored in a private conversation"
FLOW_OR_TO = "give exactly one of flow and to"
BAD_REGEX = "is not a regular expression RE2 runs (Python syntax without backreferences or lookaround): {why}"


@functools.cache
def _re2_options() -> Any:
    import re2  # google-re2: matching time linear in the text, whatever the pattern (here: the first
    # wait with a regex imports it, not every start)

    options = re2.Options()
    options.log_errors = False  # a refused pattern is the client's 400, not a line on stderr
    return options


def compile_regex(pattern: str) -> Any:
    """``pattern`` compiled by RE2, which searches in time linear in the text whatever the
    pattern: a wait's regex runs on the event loop every world shares, and a backtracking engine
    (Python's ``re``) spends time doubling per character on ``(a+)+$``. What RE2 cannot run
    (backreferences, lookaround) is a 400."""
    options = _re2_options()
    import re2

    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        why = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise errors.ValidationFailed.field("regex", BAD_REGEX.format(why=why)) from None


@functools.cache
def _validators() -> dict[str, jsonschema.Draft7Validator]:
    return {name: jsonschema.Draft7Validator(schema) for name, schema in load_event_schemas().items()}


def known_types() -> frozenset[str]:
    return frozenset(_validators())


def check_event(body: dict[str, Any]) -> None:
    """400 naming the first field of ``body`` its schema refuses (its type must be known)."""
    validator = _validators()[body["event"]]
    problems = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if problems:
        found: dict[str, list[str]] = {}
        for problem in problems[:10]:
            name = ".".join(str(p) for p in problem.absolute_path) or "event"
            found.setdefault(name, []).append(problem.message)
        raise errors.ValidationFailed(errors.VALIDATION_ERROR, found)


def listed(event: Event) -> dict[str, Any]:
    """An event as the control API shows it: its log id and its body."""
    return {"id": event.seq, "event": event.body}


# --- inject -----------------------------------------------------------------------------------------
def joined_flow(store: Store, ref: str, user: int) -> Flow:
    """A flow by id or ``organization/flow`` that ``user`` has joined (404 or 403 otherwise)."""
    if "/" in ref:
        org, _, name = ref.partition("/")
        return store.flows.get_joined(org, name, viewer=user)
    return store.flows.get_joined_by_id(ref, viewer=user)


def user_id(store: Store, value: Any, name: str) -> int:
    try:
        user_id = int(value)
    except (TypeError, ValueError):
        user_id = -1
    if user_id not in store.users.by_id:
        raise errors.ValidationFailed.field(name, errors.INVALID)
    return user_id


def inject(store: Store, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Deliver ``request``'s event as its ``user``; the events the write emitted, oldest first."""
    kind = request["event"]
    known = kind in known_types()
    if not known and not request.get("unknown"):
        raise errors.ValidationFailed.field("event", UNKNOWN_TYPE)
    if kind == "file":
        raise errors.ValidationFailed.field("event", UPLOAD_ONLY)
    flow_ref, to = request.get("flow"), request.get("to")
    if kind not in ADDRESSED and (flow_ref is None) == (to is None):
        raise errors.ValidationFailed.field("flow", FLOW_OR_TO)
    fields = dict(request.get("fields") or {})
    with store.lock:
        user = user_id(store, request["user"], "user")
        before = store.events.last_seq
        if kind in PERSISTED and known:
            body = {"event": kind, **fields}
            for key in ("content", "tags", "thread_id", "uuid", "message"):
                if key in request:
                    body[key] = request[key]
            if to is not None:
                if kind not in PRIVATE_PERSISTED:
                    raise errors.ValidationFailed.field("event", NOT_PRIVATE)
                store.private.send_private_message(user_id(store, to, "to"), body, viewer=user)
            else:
                flow = joined_flow(store, str(flow_ref), user)
                parent = body.get("message") if kind == "comment" else None
                store.messages.post(flow, user, body, parent_id=int(parent) if parent is not None else None)
        else:
            where: dict[str, Any] = {}
            if kind not in ADDRESSED:
                if to is not None:
                    where["to"] = user_id(store, to, "to")
                else:
                    where["flow"] = joined_flow(store, str(flow_ref), user).id
            body = store.events.envelope(kind, request.get("content"), user, **where)
            if "tags" in request:
                body["tags"] = list(request["tags"])
            body.update(fields)
            if known:
                # a kept action is checked as the message it becomes (an id, never edited yet)
                check_event(
                    {**body, "id": 1, "edited": None, "edited_at": None} if kind == "action" else body
                )
            if known and kind in STORED_CONSEQUENCES:
                STORED_CONSEQUENCES[kind](store, body, user)
            else:
                store.events.emit(body)
        return [listed(e) for e in store.events.since(before)]


# --- what an injected event leaves behind, as the real one did ----------------------------------------
def _action(store: Store, body: dict[str, Any], user: int) -> None:
    """An ``action`` is kept among the flow's messages (an id, ``app: null``), as Flowdock kept it."""
    if "flow" not in body:
        raise errors.ValidationFailed.field("event", NOT_PRIVATE)
    store.messages.record_action(body["flow"], user, body["content"])


def _emoji_reaction(store: Store, body: dict[str, Any], user: int) -> None:
    """An ``emoji-reaction`` updates the message's ``emojiReactions`` first, as a real one did."""
    content = body["content"]
    if "flow" in body:
        log: Any = store.messages.log(body["flow"])
    else:
        log = store.private.conversation(int(body["to"]), viewer=user)
    store.messages.react(log, content["message"], user, content["emoji"], content["type"])
    store.events.emit(body)


STORED_CONSEQUENCES: dict[str, Callable[[Store, dict[str, Any], int], None]] = {
    "action": _action,
    "emoji-reaction": _emoji_reaction,
}
"""Injected kinds that change the world as well as being streamed (the others are only emitted)."""


# --- waits ------------------------------------------------------------------------------------------
def text_of(body: dict[str, Any]) -> str:
    """An event's text: its content, a comment's text, an edit's new content (what waits match)."""
    content = body.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        for key in ("text", "updated_content", "title", "emoji"):
            if isinstance(content.get(key), str):
                return str(content[key])
    return ""


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What a wait looks for; every field given must match."""

    flow: str | None = None
    user: str | None = None
    events: frozenset[str] = frozenset()
    content: str | None = None
    regex: Any = None
    """An RE2 pattern (``compile_regex``)."""
    tag: str | None = None
    thread_id: str | None = None

    @classmethod
    def build(
        cls,
        store: Store,
        *,
        flow: str | None = None,
        user: str | int | None = None,
        event: str | None = None,
        content: str | None = None,
        regex: str | None = None,
        tag: str | None = None,
        thread_id: str | None = None,
    ) -> EventFilter:
        flow_id = flow
        if flow is not None and "/" in flow:
            org, _, name = flow.partition("/")
            found = store.flows.find(org, name)
            if found is None:
                raise errors.NotFound()
            flow_id = found.id
        pattern = None if regex is None else compile_regex(regex)
        kinds = frozenset(k.strip() for k in (event or "").split(",") if k.strip())
        return cls(flow_id, None if user is None else str(user), kinds, content, pattern, tag, thread_id)

    def __call__(self, event: Event) -> bool:
        body = event.body
        if self.flow is not None and event.flow != self.flow:
            return False
        if self.user is not None and str(body.get("user")) != self.user:
            return False
        if self.events and body.get("event") not in self.events:
            return False
        if self.tag is not None and self.tag.lstrip("#") not in (
            t.lstrip("#") for t in body.get("tags") or ()
        ):
            return False
        if self.thread_id is not None and body.get("thread_id") != self.thread_id:
            return False
        if self.content is not None and self.content not in text_of(body):
            return False
        return self.regex is None or self.regex.search(text_of(body)) is not None


class WaitTimedOut(Exception):
    """The condition did not hold in time; ``seen`` says what happened meanwhile."""

    def __init__(self, seen: dict[str, Any]) -> None:
        super().__init__("timed out")
        self.seen = seen


def _bounded(timeout: float) -> float:
    if math.isnan(timeout):  # the validator lets "NaN" through (no comparison holds): it would never end
        raise errors.ValidationFailed.field("timeout", errors.NOT_A_NUMBER)
    return min(max(float(timeout), 0.0), MAX_TIMEOUT_S)


async def until(
    subscribe: Callable[[Callable[[Any], None]], Callable[[], None]],
    check: Callable[[], Any],
    timeout: float,
) -> Any:
    """``check()``'s first truthy answer, re-checked on every notification; None after ``timeout``."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def notify(_: Any = None) -> None:
        loop.call_soon_threadsafe(wake.set)

    unsubscribe = subscribe(notify)
    try:
        async with asyncio.timeout(_bounded(timeout)):
            while True:
                wake.clear()
                found = check()
                if found:
                    return found
                await wake.wait()
    except TimeoutError:
        return None
    finally:
        unsubscribe()


async def wait_for_event(store: Store, match: EventFilter, after: int, timeout: float) -> dict[str, Any]:
    """The first event after ``after`` that ``match`` accepts; WaitTimedOut when none came in time."""
    cursor = after

    def check() -> Event | None:
        nonlocal cursor
        for event in store.events.since(cursor):
            cursor = event.seq
            if match(event):
                return event
        return None

    found = await until(store.events.subscribe, check, timeout)
    if found is None:
        seen = store.events.since(after)
        raise WaitTimedOut(
            {"after": after, "count": len(seen), "events": [listed(e) for e in seen[-SEEN_LIMIT:]]}
        )
    return listed(found)


async def wait_for_stream(streams: Any, store: Store, user: int, flow: str, timeout: float) -> dict[str, Any]:
    """The first open stream of ``user`` that carries ``flow`` (id or ``org/flow``); ``streams`` is
    the world's stream hub (``list()`` of its connections, ``watch(callback)`` on each opened)."""
    flow_id = EventFilter.build(store, flow=flow).flow

    def check() -> dict[str, Any] | None:
        for conn in streams.list():
            if int(conn["user"]) == user and flow_id in conn["flows"]:
                return dict(conn)
        return None

    found = await until(streams.watch, check, timeout)
    if found is None:
        raise WaitTimedOut({"streams": streams.list()})
    return dict(found)
