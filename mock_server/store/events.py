"""The event log: every write becomes the event Flowdock streamed (docs/flowdock.md §4.2, §8.1).

Each write of the store (a post, an edit, a membership or invitation change, a profile change)
calls ``emit`` with the Flowdock-shaped event. The log gives it the next sequence number (``seq``,
the Server-Sent Events ``id:``, never reused, not even across a reset; distinct from a message's
per-flow ``id``), keeps it in a bounded ring for ``Last-Event-ID`` replay, and hands it to every
subscriber synchronously, in the writer's thread, under the store's lock.

Who may read an event is decided per event (``can_read``): a flow event goes to the flow's
unblocked members, a private message to its two participants, an event addressed to one user
(``flow-add``, ``flow-remove``) to that user only. Nothing here knows about HTTP: the stream
endpoints, the webhooks and the journal read the log through ``subscribe`` and ``since``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.store.timefmt import iso_ms

if TYPE_CHECKING:
    from mock_server.store import Store

log = logging.getLogger("flowdock_mock.events")

DEFAULT_LOG_SIZE = 10_000
"""Events kept for replay when the configuration does not say."""

ADDRESSED = frozenset({"flow-add", "flow-remove"})
"""Events about one user's own flow list: streamed to that user only (``user`` names them)."""


@dataclass(slots=True, eq=False)
class Event:
    """One emitted event: its sequence number, its body, and who it is for."""

    seq: int
    body: dict[str, Any]
    flow: str | None = None
    between: tuple[int, int] | None = None
    audience: int | None = None
    wire: dict[str, bytes] = field(default_factory=dict)
    """Encodings cached by their readers (the stream encodes each event once, not per connection)."""


Subscriber = Callable[[Event], None]


def route(body: dict[str, Any]) -> tuple[str | None, tuple[int, int] | None, int | None]:
    """``(flow, private participants, single recipient)`` of an event body; ValueError if none.

    ``flow-add``/``flow-remove`` go to their ``user``; a body with ``to`` is a private message
    between ``user`` and ``to``; anything else needs a ``flow``.
    """
    event = body.get("event")
    if not isinstance(event, str) or not event:
        raise ValueError("an event needs an 'event' type")
    if event in ADDRESSED:
        return None, None, _user_id(body.get("user"), "user")
    if body.get("to") is not None:
        return None, (_user_id(body.get("user"), "user"), _user_id(body["to"], "to")), None
    flow = body.get("flow")
    if not isinstance(flow, str) or not flow:
        raise ValueError(f"a {event!r} event needs a 'flow' (or 'to' for a private message)")
    return flow, None, None


def _user_id(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name!r} must be a user id, got {value!r}") from None


class EventLog:
    """The bounded ring of recent events, the sequence counter and the subscribers."""

    def __init__(self, store: Store, size: int = DEFAULT_LOG_SIZE) -> None:
        self.store = store
        self.size = size
        self._ring: deque[Event] = deque(maxlen=size) if size > 0 else deque(maxlen=0)
        self._next = 1
        self._subscribers: list[Subscriber] = []

    # --- writing ----------------------------------------------------------------------------------
    def emit(self, body: dict[str, Any]) -> Event:
        """Log ``body`` as the next event and deliver it; the body must not be changed afterwards.

        This is also how a test emits an event "as if Flowdock had streamed it": any dict with an
        ``event`` and a ``flow`` (or ``to``, or a ``user`` for ``flow-add``/``flow-remove``).
        """
        flow, between, audience = route(body)
        with self.store.lock:
            event = Event(self._next, body, flow, between, audience)
            self._next += 1
            self._ring.append(event)
            for subscriber in list(self._subscribers):
                try:
                    subscriber(event)
                except Exception:  # a broken reader never undoes or blocks the write
                    log.exception("event subscriber failed")
            return event

    def envelope(
        self,
        event: str,
        content: Any,
        user: int | str,
        *,
        flow: str | None = None,
        to: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A server-side (non-persisted) event body with Flowdock's common fields (docs/flowdock.md §4.1)."""
        sent = self.store.now_ms()
        body: dict[str, Any] = {"event": event}
        if flow is not None:
            body["flow"] = flow
        if to is not None:
            body["to"] = str(to)
        body.update(
            {
                "content": content,
                "sent": sent,
                "created_at": iso_ms(sent),
                # A string like every message's; an integer on flow-add/flow-remove, as observed
                # (docs/flowdock.md §4.1).
                "user": int(user) if event in ADDRESSED else str(user),
                "tags": [],
                "uuid": None,
                "app": None,
                "attachments": [],
                "persist": False,
            }
        )
        body.update(extra)
        return body

    def emit_new(self, event: str, content: Any, user: int | str, **where: Any) -> Event:
        """``emit(envelope(...))``: one call per write in the sub-stores."""
        return self.emit(self.envelope(event, content, user, **where))

    def clear(self) -> None:
        """Forget the recent events (a reset); the sequence keeps counting, subscribers stay."""
        with self.store.lock:
            self._ring.clear()

    # --- reading ----------------------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(event)`` for every event from now on; returns the unsubscribe call."""
        with self.store.lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self.store.lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest event ever emitted (0 before the first)."""
        return self._next - 1

    def since(self, seq: int) -> list[Event]:
        """Events after ``seq`` still in the ring, oldest first (all of the ring if it is older)."""
        with self.store.lock:
            if not self._ring or seq >= self._ring[-1].seq:
                return []
            first = self._ring[0].seq
            start = max(0, seq - first + 1)
            return [self._ring[i] for i in range(start, len(self._ring))]

    def recent(self, limit: int | None = None) -> list[Event]:
        """The newest ``limit`` events of the ring (all when None), oldest first."""
        with self.store.lock:
            events = list(self._ring)
        return events if limit is None else events[-limit:] if limit > 0 else []

    # --- access -----------------------------------------------------------------------------------
    def can_read(self, event: Event, user_id: int) -> bool:
        """Whether ``user_id`` may receive ``event`` now: checked per event, not only at connect."""
        if event.audience is not None:
            return event.audience == user_id
        if event.between is not None:
            return user_id in event.between
        if event.flow is not None:
            return self.can_read_flow(event.flow, user_id)
        return False

    def can_read_flow(self, flow_id: str, user_id: int) -> bool:
        """Joined and not blocked: the members a flow's events are streamed to."""
        flow = self.store.flows.by_id.get(flow_id)
        return flow is not None and flow.is_member(user_id)

    # --- the composite events of one write ----------------------------------------------------------
    def flow_summary(self, flow_id: str, user_id: int) -> dict[str, Any]:
        """``flow-add`` content: ``{id, name, organization, open}`` (docs/flowdock.md §4.2)."""
        flow = self.store.flows.by_id[flow_id]
        org = self.store.organizations.by_id[flow.organization_id]
        member = flow.members.get(user_id)
        return {
            "id": flow.id,
            "name": flow.name,
            "parameterized_name": flow.parameterized_name,
            "organization": {"id": org.id, "name": org.name, "parameterized_name": org.parameterized_name},
            "open": bool(member and member.open),
        }

    def member_added(self, flow_id: str, user_id: int, actor: int) -> None:
        """``user_id`` is now a member (joined, added, unblocked or imported) by ``actor``.

        The flow sees an ``action`` (``join`` when they joined themselves, else ``add_people``
        naming them; kept among its messages) and ``backend.user.join``; the user gets
        ``flow-add`` (docs/flowdock.md §4.2).
        """
        user = self.store.users.by_id[user_id]
        if actor == user_id:
            action = {"type": "join", "description": user.nick}
        else:
            action = {"type": "add_people", "description": user.nick}
        self.store.messages.record_action(flow_id, actor, action)
        self.emit_new("backend.user.join", {"user": user.to_dict()}, user_id, flow=flow_id)
        self.emit_new("flow-add", self.flow_summary(flow_id, user_id), user_id)

    def member_blocked(self, flow_id: str, user_id: int, actor: int) -> None:
        """Called while ``user_id`` still reads the flow: ``action`` ``block`` and ``backend.user.block``."""
        self.store.messages.record_action(flow_id, actor, {"type": "block", "description": {"user": user_id}})
        self.emit_new("backend.user.block", str(user_id), actor, flow=flow_id)

    def member_removed(self, flow_id: str, user_id: int) -> None:
        """``user_id`` left or lost the flow: ``flow-remove`` to them; nothing of the flow after it."""
        self.emit_new("flow-remove", {"id": flow_id}, user_id)

    def user_edited(self, user_id: int) -> None:
        """A nick or name change: ``user-edit`` once per flow the user is in (docs/flowdock.md §4.2)."""
        user = self.store.users.by_id[user_id]
        for flow in self.store.flows.joined_by(user_id):
            self.emit_new("user-edit", {"user": user.to_dict()}, user_id, flow=flow.id)

    def message_edited(self, where: dict[str, Any], message_id: int, editor: int, content: Any) -> None:
        """``message-edit`` (a content edit or a truncating delete); ``where`` is ``flow=`` or ``to=``."""
        self.emit_new("message-edit", {"message": message_id, "updated_content": content}, editor, **where)

    def tags_changed(
        self, where: dict[str, Any], message_id: int, editor: int, old: list[str], new: list[str]
    ) -> None:
        """``tag-change`` with what was added and removed (read receipts remove ``:unread:<id>``)."""
        before, after = set(old), set(new)
        content = {
            "message": message_id,
            "add": [t for t in new if t not in before],
            "remove": [t for t in old if t not in after],
        }
        self.emit_new("tag-change", content, editor, **where)

    # --- who may subscribe ---------------------------------------------------------------------------
    def stream_flows(self, filter: str | None, user_id: int) -> frozenset[str]:
        """The flow ids of a stream ``filter``: 404 unknown or invisible, 403 visible but not joined.

        Entries are ``org/flow``, the legacy ``org:flow`` or flow ids, comma-separated
        (docs/flowdock.md §8.1).
        """
        flows = self.store.flows
        found: set[str] = set()
        with self.store.lock:
            for entry in (e.strip() for e in (filter or "").split(",")):
                if not entry:
                    continue
                org, sep, name = entry.partition("/") if "/" in entry else entry.partition(":")
                if sep and org and name:
                    found.add(flows.get_joined(org, name, viewer=user_id).id)
                else:
                    found.add(flows.get_joined_by_id(entry, viewer=user_id).id)
        return frozenset(found)

    def stream_flow(self, organization: str, flow: str, user_id: int) -> frozenset[str]:
        """The one flow of ``/flows/{organization}/{flow}``, by the same rules."""
        with self.store.lock:
            return frozenset({self.store.flows.get_joined(organization, flow, viewer=user_id).id})
