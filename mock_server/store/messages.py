"""Flow messages and threads: per-flow logs ordered by id, threads with their counters.

Message ids are unique within their flow and only grow, so each flow's log is a ``Timeline``: a
list of ids beside the list of messages, in id order. An id-bounded page bisects to its start and
walks ``limit`` matches from the chosen end, O(log n + limit) whatever the flow's size; each
thread keeps its own timeline, so a thread's messages are found without scanning the flow. Per-flow
counters (``:unread:<uid>`` tags) make ``flow_stats`` O(1).

Operations here are named after the contract's operations (sendMessage -> ``send_message``);
private conversations reuse ``Log``, the composition helpers and the listing rules.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.errors import (
    BLANK,
    COMMENT_ON_COMMENT,
    INVALID,
    NO_WHITESPACE,
    NOT_DELETABLE,
    NOT_EDITABLE,
    NOT_SUPPORTED_HERE,
    NOT_YOUR_MESSAGE,
    TOO_LONG,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from mock_server.store import tags as tagging
from mock_server.store.files import Upload
from mock_server.store.timefmt import iso_ms, parse_iso_ms


def clone(value: Any) -> Any:
    """A copy of JSON-shaped data, so a response never shares a mutable object with the store.

    The same result as ``copy.deepcopy`` for the dicts, lists and scalars messages hold, at a
    fraction of its cost (no memo dict); strings, numbers and None are returned as they are.
    """
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.flows import Flow

MAX_CONTENT = 8096
"""Longest `content` Flowdock accepted (docs/flowdock.md §3.3)."""
POSTABLE = ("message", "status", "comment", "file", "activity", "discussion")
"""Events a client may post (`action` and the stream-only events are server-side)."""
CONTENT_EDITABLE = ("message", "comment")
INBOX_APPS = ("influx",)
INBOX_EVENTS = ("activity", "discussion", "mail")
THREAD_TITLE_LENGTH = 100


@dataclass(slots=True)
class Message:
    """One stored event. ``user`` is 0 for integrations and anonymous posts (shown as ``"0"``)."""

    id: int
    event: str
    content: Any
    user: int
    sent: int
    tags: list[str] = field(default_factory=list)
    uuid: str | None = None
    app: str | None = "chat"
    thread_id: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    edited: int | None = None
    external_user_name: str | None = None
    title: str | None = None
    body: str | None = None
    author: dict[str, Any] | None = None


@dataclass(slots=True)
class Thread:
    """A thread: every chat message starts one; integrations address theirs by external id."""

    id: str
    flow: str
    title: str
    created_at: int
    updated_at: int
    initial_message: int | None = None
    body: str = ""
    external_url: str | None = None
    status: dict[str, Any] | None = None
    fields: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    source_id: int | None = None
    external_thread_id: str | None = None
    activities: int = 0
    internal_comments: int = 0
    external_comments: int = 0


# --- listing ----------------------------------------------------------------------------------------
class Timeline:
    """Messages in ascending id order with a parallel id list for bisection."""

    __slots__ = ("ids", "items")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.items: list[Message] = []

    def __len__(self) -> int:
        return len(self.items)

    def append(self, message: Message) -> None:
        self.ids.append(message.id)
        self.items.append(message)

    def remove(self, message_id: int) -> None:
        i = bisect_left(self.ids, message_id)
        if i < len(self.ids) and self.ids[i] == message_id:
            del self.ids[i]
            del self.items[i]

    def page(self, query: ListQuery, match: Callable[[Message], bool] | None) -> list[Message]:
        """``skip`` then ``limit`` matches from the ``sort`` end, returned ascending by id."""
        ids, items = self.ids, self.items
        lo, hi = 0, len(ids)
        if not query.search:  # id bounds are ignored for search requests (docs/flowdock.md §3.3)
            if query.since_id is not None:
                lo = bisect_right(ids, query.since_id)
            if query.until_id is not None:
                hi = bisect_left(ids, query.until_id)
        want = query.skip + query.limit
        picked: list[Message] = []
        indexes = range(hi - 1, lo - 1, -1) if query.sort == "desc" else range(lo, hi)
        for i in indexes:
            message = items[i]
            if match is None or match(message):
                picked.append(message)
                if len(picked) >= want:
                    break
        picked = picked[query.skip :]
        if query.sort == "desc":
            picked.reverse()
        return picked


@dataclass(slots=True)
class ListQuery:
    """The listing parameters of listFlowMessages, listThreadMessages and listPrivateMessages."""

    event: str | None = None
    tags: str | list[str] | None = None
    tag_mode: str = "and"
    limit: int = 30
    since_id: int | None = None
    until_id: int | None = None
    sort: str = "desc"
    search: str | None = None
    skip: int = 0
    app: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ListQuery:
        """The listing parameters among a handler's keyword arguments (the rest is ignored)."""
        return cls(**{name: params[name] for name in cls.__dataclass_fields__ if name in params})


def searchable_text(message: Message) -> str:
    """The words a search looks at: chat text, comment text, file name, inbox title and body."""
    content = message.content
    parts: list[str] = []
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, dict):
        parts.extend(str(content.get(k) or "") for k in ("text", "title", "file_name", "subject", "content"))
    parts.extend(p for p in (message.title, message.body) if p)
    return " ".join(parts)


def matcher(query: ListQuery, nicks: dict[str, int]) -> Callable[[Message], bool] | None:
    """The filter of a listing, or None when every message matches (the fast path)."""
    events = {e.strip() for e in (query.event or "").split(",") if e.strip()}
    wanted = tagging.filter_tags(query.tags, nicks)
    keywords = tagging.words(query.search or "")
    app = query.app
    if not (events or wanted or keywords or app):
        return None
    any_tag = query.tag_mode == "or"

    def by_tags(m: Message) -> bool:
        have = {t.lower() for t in m.tags}
        return any(t in have for t in wanted) if any_tag else all(t in have for t in wanted)

    def by_search(m: Message) -> bool:
        return keywords <= tagging.words(searchable_text(m))

    def match(m: Message) -> bool:
        if events and m.event not in events:
            return False
        if app and m.app != app:
            return False
        if keywords and wanted and any_tag:  # observed: search with tag_mode=or is a union
            return by_search(m) or by_tags(m)
        if wanted and not by_tags(m):
            return False
        return not (keywords and not by_search(m))

    return match


# --- one container of messages: a flow's log or a private conversation -----------------------------
@dataclass
class Log:
    """Messages by id and uuid, their timeline, and per-user ``:unread:`` counts."""

    timeline: Timeline = field(default_factory=Timeline)
    by_id: dict[int, Message] = field(default_factory=dict)
    by_uuid: dict[str, Message] = field(default_factory=dict)
    unread: Counter[int] = field(default_factory=Counter)
    next_id: int = 1

    @property
    def messages(self) -> list[Message]:
        return self.timeline.items

    def add(self, message: Message) -> Message:
        """Store a message whose id is already set (greater than every id here)."""
        self.timeline.append(message)
        self.by_id[message.id] = message
        if message.uuid:
            self.by_uuid.setdefault(message.uuid, message)
        self.next_id = max(self.next_id, message.id + 1)
        self._count(message.tags, 1)
        return message

    def remove(self, message: Message) -> None:
        self.timeline.remove(message.id)
        del self.by_id[message.id]
        if message.uuid and self.by_uuid.get(message.uuid) is message:
            del self.by_uuid[message.uuid]
        self._count(message.tags, -1)

    def retag(self, message: Message, tags: list[str]) -> None:
        self._count(message.tags, -1)
        message.tags = tags
        self._count(tags, 1)

    def _count(self, tags: Iterable[str], delta: int) -> None:
        for tag in tags:
            if tag.startswith(":unread:") and tag[8:].isdigit():
                self.unread[int(tag[8:])] += delta


@dataclass
class FlowLog(Log):
    """One flow's messages and threads (each thread with its own timeline)."""

    threads: dict[str, Thread] = field(default_factory=dict)
    thread_timelines: dict[str, Timeline] = field(default_factory=dict)
    external: dict[tuple[int | None, str], str] = field(default_factory=dict)

    def add(self, message: Message) -> Message:
        super().add(message)
        if message.thread_id is not None:
            self.thread_timelines.setdefault(message.thread_id, Timeline()).append(message)
        return message

    def remove(self, message: Message) -> None:
        super().remove(message)
        if message.thread_id is not None and message.thread_id in self.thread_timelines:
            self.thread_timelines[message.thread_id].remove(message.id)

    def add_thread(self, thread: Thread) -> Thread:
        self.threads[thread.id] = thread
        self.thread_timelines.setdefault(thread.id, Timeline())
        if thread.external_thread_id is not None:
            self.external[(thread.source_id, thread.external_thread_id)] = thread.id
        return thread


# --- composing a new message ------------------------------------------------------------------------
def text_content(value: Any, name: str = "content") -> str:
    """A required chat text: a non-blank string of at most 8096 characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.field(name, BLANK)
    if len(value) > MAX_CONTENT:
        raise ValidationFailed.field(name, TOO_LONG)
    return value


def title_of(message: Message) -> str:
    """What a comment calls its parent (`content.title`)."""
    c = message.content
    if isinstance(c, str):
        return c[:THREAD_TITLE_LENGTH]
    if isinstance(c, dict):
        return str(c.get("file_name") or c.get("subject") or c.get("text") or "")[:THREAD_TITLE_LENGTH]
    return message.title or ""


def counter_of(event: str) -> str | None:
    """Which thread counter an event feeds (docs/flowdock.md §3.4)."""
    if event == "activity":
        return "activities"
    if event == "discussion":
        return "external_comments"
    if event in ("message", "comment", "file"):
        return "internal_comments"
    return None


def tags_param(value: Any) -> list[str] | str | None:
    if value is None:
        return value
    if isinstance(value, str | list):
        if any(tagging.is_json_object(item) for item in ([value] if isinstance(value, str) else value)):
            raise ValidationFailed.field("tags", INVALID)  # a form field holding an object's JSON
        return value
    raise ValidationFailed.field("tags", INVALID)


class MessageStore:
    """Messages and threads of every flow."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.logs: dict[str, FlowLog] = {}
        self._clock = 0

    def log(self, flow_id: str) -> FlowLog:
        found = self.logs.get(flow_id)
        if found is None:
            found = self.logs[flow_id] = FlowLog()
        return found

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("threads", []):
            thread = Thread(**copy.deepcopy(raw))
            self.log(thread.flow).add_thread(thread)
        for raw in world.get("messages", []):
            raw = copy.deepcopy(raw)
            flow_id = raw.pop("flow")
            self.append(flow_id, Message(**raw))

    def export(self) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        threads: list[dict[str, Any]] = []
        for flow_id, log in self.logs.items():
            threads.extend(asdict(t) for t in log.threads.values())
            messages.extend({"flow": flow_id, **asdict(m)} for m in log.messages)
        return {"messages": messages, "threads": threads}

    def append(self, flow_id: str, message: Message) -> Message:
        """Store a message whose id is already set (greater than every id in the flow)."""
        return self.log(flow_id).add(message)

    def tick(self) -> int:
        """Now in ms, strictly increasing: messages and thread updates never share an instant."""
        self._clock = max(self.store.now_ms(), self._clock + 1)
        return self._clock

    # --- people who can be mentioned ------------------------------------------------------------
    def member_nicks(self, flow: Flow) -> tuple[dict[str, int], list[int]]:
        """Nick -> id of the flow's unblocked members (disabled users are ignored, docs/flowdock.md §5)."""
        members = [uid for uid, m in flow.members.items() if not m.disabled]
        users = self.store.users.by_id
        return {users[uid].nick.lower(): uid for uid in members if uid in users}, members

    def all_nicks(self) -> dict[str, int]:
        return {u.nick.lower(): u.id for u in self.store.users.by_id.values()}

    # --- representations ------------------------------------------------------------------------
    def thread_dict(self, thread: Thread) -> dict[str, Any]:
        source = None
        if thread.source_id is not None:
            found = self.store.sources.by_id.get(thread.source_id)
            if found is not None:
                source = self.store.sources.compact(found)
        return {
            "id": thread.id,
            "title": thread.title,
            "body": thread.body,
            "external_url": thread.external_url,
            "status": clone(thread.status),
            "fields": clone(thread.fields),
            "actions": clone(thread.actions),
            "source": source,
            "activities": thread.activities,
            "internal_comments": thread.internal_comments,
            "external_comments": thread.external_comments,
            "initial_message": thread.initial_message,
            "flow": thread.flow,
            "created_at": iso_ms(thread.created_at),
            "updated_at": iso_ms(thread.updated_at),
        }

    def to_dict(self, flow_id: str | None, message: Message, to: int | None = None) -> dict[str, Any]:
        """The message object (docs/flowdock.md §4.1): ``flow`` on flow messages, ``to`` on private ones."""
        out: dict[str, Any] = {"id": message.id, "event": message.event}
        if flow_id is not None:
            out["flow"] = flow_id
        if to is not None:
            out["to"] = str(to)
        out.update(
            {
                "content": clone(message.content),
                "sent": message.sent,
                "user": str(message.user),
                "created_at": iso_ms(message.sent),
                "tags": list(message.tags),
                "uuid": message.uuid,
                "app": message.app,
                "attachments": clone(message.attachments),
                "edited": message.edited,
                "edited_at": iso_ms(message.edited) if message.edited is not None else None,
                "emojiReactions": {},
            }
        )
        if message.thread_id is not None and flow_id is not None:
            out["thread_id"] = message.thread_id
            thread = self.logs[flow_id].threads.get(message.thread_id)
            if thread is not None:
                out["thread"] = self.thread_dict(thread)
        if message.external_user_name is not None:
            out["external_user_name"] = message.external_user_name
        if message.event in ("activity", "discussion"):
            out["title"] = message.title
            out["body"] = message.body
            if message.author is not None:
                out["author"] = clone(message.author)
        return out

    def flow_stats(self, flow: Flow, viewer: int) -> dict[str, Any]:
        """Unread mentions of ``viewer`` and the newest message, for the flow object: O(1)."""
        log = self.logs.get(flow.id)
        if log is None or not len(log.timeline):
            return {"unread_mentions": 0, "last_message_id": None, "last_message_at": None}
        last = log.timeline.items[-1]
        return {
            "unread_mentions": log.unread.get(viewer, 0),
            "last_message_id": last.id,
            "last_message_at": iso_ms(last.sent),
        }

    # --- the shared parts of posting --------------------------------------------------------------
    def compose_content(
        self,
        event: str,
        body: dict[str, Any],
        upload: Any,
        files_id: Callable[[], int],
        owner: dict[str, Any],
    ) -> tuple[Any, list[dict[str, Any]], list[str]]:
        """``(content, attachments, meta tags)`` of a chat, status or file post."""
        if event == "file":
            content = body.get("content")
            if isinstance(upload, Upload):
                file = upload
            elif isinstance(content, dict):
                file = Upload.from_base64(content, self.store.config.max_upload_bytes)
            else:
                raise ValidationFailed.field("content", BLANK)
            meta = self.store.files.save(file, files_id(), **owner)
            return meta, [dict(meta)], [":file"]
        return text_content(body.get("content")), [], []

    def _new_message(self, log: Log, event: str, user: int, content: Any, body: dict[str, Any]) -> Message:
        return Message(
            id=log.next_id,
            event=event,
            content=content,
            user=user,
            sent=self.tick(),
            uuid=body.get("uuid") or None,
        )

    # --- flows: posting ---------------------------------------------------------------------------
    def _joined_flow(self, organization: str, flow: str, viewer: int | None) -> Flow:
        if viewer is None:
            raise Unauthorized()
        return self.store.flows.get_joined(organization, flow, viewer)

    def _thread(self, log: FlowLog, thread_id: str, from_path: bool) -> Thread:
        thread = log.threads.get(thread_id)
        if thread is None:
            if from_path:
                raise NotFound()
            raise ValidationFailed.field("thread_id", INVALID)
        return thread

    def _new_thread(self, flow: Flow, title: str, sent: int, **extra: Any) -> Thread:
        log = self.log(flow.id)
        thread_id = self.store.token_urlsafe(27)
        while thread_id in log.threads:
            thread_id = self.store.token_urlsafe(27)
        return log.add_thread(
            Thread(id=thread_id, flow=flow.id, title=title, created_at=sent, updated_at=sent, **extra)
        )

    @staticmethod
    def _apply_thread_state(thread: Thread, state: Any) -> None:
        """A posted ``thread`` object replaces the thread's state (docs/flowdock.md §4.4)."""
        if not isinstance(state, dict):
            raise ValidationFailed.field("thread", INVALID)
        title = state.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ValidationFailed.field("thread.title", BLANK)
        thread.title = title
        thread.body = state.get("body") or ""
        thread.external_url = state.get("external_url")
        thread.status = copy.deepcopy(state.get("status"))
        thread.fields = copy.deepcopy(state.get("fields") or [])
        thread.actions = copy.deepcopy(state.get("actions") or [])

    def post(
        self,
        flow: Flow,
        user: int,
        body: dict[str, Any],
        *,
        path_thread: str | None = None,
        parent_id: int | None = None,
        upload: Any = None,
        source_id: int | None = None,
        events: tuple[str, ...] = POSTABLE,
        meta: Iterable[str] = (),
    ) -> Message:
        """Validate, tag, thread and store one post to ``flow``; a repeated ``uuid`` returns the first."""
        log = self.log(flow.id)
        event = body.get("event") or ("comment" if parent_id is not None else None)
        if event is None:
            raise ValidationFailed.field("event", BLANK)
        if event not in events:
            raise ValidationFailed.field("event", NOT_SUPPORTED_HERE if event in POSTABLE else INVALID)
        uuid = body.get("uuid")
        if uuid and uuid in log.by_uuid:
            return log.by_uuid[uuid]
        external = body.get("external_user_name")
        if external is not None and (
            not isinstance(external, str) or not external or any(c.isspace() for c in external)
        ):
            raise ValidationFailed.field("external_user_name", NO_WHITESPACE)
        nicks, members = self.member_nicks(flow)
        explicit = tags_param(body.get("tags"))
        meta = list(meta)
        thread: Thread | None = None
        thread_id = path_thread or body.get("thread_id")
        if thread_id:
            thread = self._thread(log, thread_id, from_path=path_thread is not None)

        if event == "comment":
            parent_id = parent_id if parent_id is not None else body.get("message")
            if parent_id is None:
                raise ValidationFailed.field("message", BLANK)
            parent = log.by_id.get(parent_id) if isinstance(parent_id, int) else None
            if parent is None:
                raise NotFound()
            if parent.event == "comment":
                raise ValidationFailed.field("message", COMMENT_ON_COMMENT)
            text = text_content(body.get("content"))
            content: Any = {"title": title_of(parent), "text": text}
            attachments: list[dict[str, Any]] = []
            meta.append(f"influx:{parent.id}")
            if thread is None and parent.thread_id is not None:
                thread = log.threads.get(parent.thread_id)
        elif event in ("activity", "discussion"):
            content, attachments, text = None, copy.deepcopy(body.get("attachments") or []), ""
            thread = self._inbox_thread(flow, log, body, thread, source_id)
        else:
            files_id = flow.files_id
            content, attachments, file_meta = self.compose_content(
                event, body, upload, lambda: files_id, {"flow": flow.id}
            )
            meta = file_meta + meta
            text = content if isinstance(content, str) else ""

        message = self._new_message(log, event, user, content, body)
        message.attachments = attachments
        message.tags = tagging.build(explicit, text, nicks, user or None, members, meta)
        if external is not None:
            message.user, message.external_user_name = 0, external
        if event in ("activity", "discussion"):
            message.user, message.app = 0, "influx"
            message.title, message.body = body.get("title"), body.get("body")
            message.author = copy.deepcopy(body.get("author"))
        if thread is None and event in ("message", "file"):
            title = f"Uploaded File {content['file_name']}" if event == "file" else text[:THREAD_TITLE_LENGTH]
            thread = self._new_thread(flow, title, message.sent, initial_message=message.id)
        if thread is not None:
            if thread.initial_message is None:
                thread.initial_message = message.id
            if isinstance(body.get("thread"), dict) and event in ("activity", "discussion"):
                self._apply_thread_state(thread, body["thread"])
            message.thread_id = thread.id
            thread.updated_at = message.sent
            counter = counter_of(event)
            if counter is not None:
                setattr(thread, counter, getattr(thread, counter) + 1)
        log.add(message)
        self.store.events.emit(self.to_dict(flow.id, message))
        return message

    def _inbox_thread(
        self, flow: Flow, log: FlowLog, body: dict[str, Any], thread: Thread | None, source_id: int | None
    ) -> Thread:
        """Activity/discussion: check the fields, then find or create the thread they belong to."""
        problems: dict[str, list[str]] = {}
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            problems["title"] = [BLANK]
        author = body.get("author")
        if not isinstance(author, dict) or not str(author.get("name") or "").strip():
            problems["author.name"] = [BLANK]
        external_id = body.get("external_thread_id")
        if thread is None and not external_id:
            problems["external_thread_id"] = [BLANK]
        state = body.get("thread")
        if state is not None and (not isinstance(state, dict) or not str(state.get("title") or "").strip()):
            problems["thread.title"] = [BLANK]
        if thread is None and external_id and (source_id, external_id) not in log.external and state is None:
            problems["thread"] = [BLANK]
        if problems:
            raise ValidationFailed(errors=problems)
        if thread is not None:
            return thread
        key = (source_id, str(external_id))
        if key in log.external:
            return log.threads[log.external[key]]
        title = str(state["title"]) if isinstance(state, dict) else ""
        return self._new_thread(
            flow, title, self.tick(), source_id=source_id, external_thread_id=str(external_id)
        )

    # --- flows: operations ------------------------------------------------------------------------
    def send_message(self, viewer: int | None, body: dict[str, Any]) -> dict[str, Any]:
        """POST /messages with user credentials: the flow comes from the ``flow`` id."""
        with self.store.lock:
            if viewer is None:
                raise Unauthorized()
            flow_id = body.get("flow")
            if not flow_id:
                raise ValidationFailed.field("flow", BLANK)
            flow = self.store.flows.get_joined_by_id(str(flow_id), viewer)
            return self.to_dict(flow.id, self.post(flow, viewer, body))

    def post_integration_message(self, flow_token: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /messages with a source's ``flow_token``: stored as user "0"; answered ``{}``."""
        with self.store.lock:
            source = self.store.sources.authenticate_flow_token(flow_token)
            flow = self.store.flows.by_id.get(source.flow)
            if flow is None:
                raise NotFound()
            body = {k: v for k, v in body.items() if k != "flow_token"}
            if body.get("event") == "message" and not body.get("external_user_name"):
                body["external_user_name"] = source.name.replace(" ", "_")[:16] or "integration"
            self.post(flow, 0, body, source_id=source.id, events=("message", "activity", "discussion"))
            return {}

    def read_upload(self, part: Any) -> Upload | None:
        """A multipart file part read (and closed) at once, before any other check can fail."""
        return None if part is None else Upload.from_part(part, self.store.config.max_upload_bytes)

    def send_flow_message(
        self, organization: str, flow: str, viewer: int, body: dict[str, Any], upload: Any = None
    ) -> dict[str, Any]:
        upload = self.read_upload(upload)
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            return self.to_dict(found.id, self.post(found, viewer, body, upload=upload))

    def post_thread_message(
        self,
        organization: str,
        flow: str,
        thread_id: str,
        viewer: int,
        body: dict[str, Any],
        upload: Any = None,
    ) -> dict[str, Any]:
        upload = self.read_upload(upload)
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            self._thread(self.log(found.id), thread_id, from_path=True)
            message = self.post(found, viewer, body, path_thread=thread_id, upload=upload)
            return self.to_dict(found.id, message)

    def create_comment(self, viewer: int, body: dict[str, Any]) -> dict[str, Any]:
        """POST /comments: ``flow`` id and parent ``message`` id in the body."""
        with self.store.lock:
            flow = self.store.flows.get_joined_by_id(str(body.get("flow") or ""), viewer)
            message = body.get("message")
            if message is None:
                raise ValidationFailed.field("message", BLANK)
            comment = self.post(flow, viewer, {**body, "event": "comment"}, parent_id=message)
            return self.to_dict(flow.id, comment)

    def create_message_comment(
        self, organization: str, flow: str, message_id: int, viewer: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            comment = self.post(found, viewer, {**body, "event": "comment"}, parent_id=message_id)
            return self.to_dict(found.id, comment)

    def list_flow_messages(
        self, organization: str, flow: str, viewer: int, query: ListQuery
    ) -> list[dict[str, Any]]:
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            log = self.log(found.id)
            page = log.timeline.page(query, matcher(query, self.all_nicks()))
            return [self.to_dict(found.id, m) for m in page]

    def _message(self, log: Log, message_id: int) -> Message:
        found = log.by_id.get(message_id)
        if found is None:
            raise NotFound()
        return found

    def show_message(self, organization: str, flow: str, message_id: int, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            return self.to_dict(found.id, self._message(self.log(found.id), message_id))

    def edit(
        self, log: Log, message: Message, viewer: int, changes: dict[str, Any], where: dict[str, Any]
    ) -> dict[str, Any]:
        """Content: only the author's chat messages and comments. Tags: anyone who sees it.

        ``where`` addresses the events (``flow=<id>`` or ``to=<the other participant>``).
        """
        if "content" in changes and changes["content"] is not None:
            if message.event not in CONTENT_EDITABLE:
                raise Forbidden(NOT_EDITABLE)
            if message.user != viewer or message.user == 0:
                raise Forbidden(NOT_YOUR_MESSAGE)
        text = text_content(changes["content"]) if changes.get("content") is not None else None
        new_tags = None
        if changes.get("tags") is not None:
            new_tags = tagging.dedup(tagging.split_tags(tags_param(changes["tags"])))
        if text is None and new_tags is None:
            return {}
        if text is not None:
            if message.event == "comment" and isinstance(message.content, dict):
                message.content = {**message.content, "text": text}
            else:
                message.content = text
        old_tags = message.tags
        if new_tags is not None:
            log.retag(message, new_tags)
        message.edited = self.tick()
        if text is not None:
            self.store.events.message_edited(where, message.id, viewer, clone(message.content))
        if new_tags is not None and new_tags != old_tags:
            self.store.events.tags_changed(where, message.id, viewer, old_tags, new_tags)
        return {}

    def edit_message(
        self, organization: str, flow: str, message_id: int, viewer: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            log = self.log(found.id)
            return self.edit(log, self._message(log, message_id), viewer, changes, {"flow": found.id})

    @staticmethod
    def deletion(message: Message, viewer: int) -> str:
        """``"remove"`` (204), ``"truncate"`` (200 ``{}``) or 403 (docs/flowdock.md §3.3 op 14)."""
        if message.app in INBOX_APPS or message.event in INBOX_EVENTS:
            return "remove"
        own = message.user == viewer and message.user != 0
        if own and message.event == "file":
            return "remove"
        if own and message.event in CONTENT_EDITABLE:
            return "truncate"
        raise Forbidden(NOT_DELETABLE)

    def delete_message(self, organization: str, flow: str, message_id: int, viewer: int) -> bool:
        """True when the message was removed completely (204), False when truncated (200 ``{}``)."""
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            log = self.log(found.id)
            message = self._message(log, message_id)
            if self.deletion(message, viewer) == "truncate":
                message.content = ""
                message.edited = self.tick()
                self.store.events.message_edited({"flow": found.id}, message.id, viewer, "")
                return False
            log.remove(message)
            thread = log.threads.get(message.thread_id or "")
            counter = counter_of(message.event)
            if thread is not None and counter is not None:
                setattr(thread, counter, max(0, getattr(thread, counter) - 1))
            if message.event == "file" and isinstance(message.content, dict):
                self.store.files.discard(str(message.content.get("path") or ""))
            return True

    # --- threads ----------------------------------------------------------------------------------
    def list_flow_threads(
        self,
        organization: str,
        flow: str,
        viewer: int,
        limit: int = 30,
        since: str | None = None,
        until: str | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Newest updated first; a ``Link: rel="next"`` header when older threads remain."""
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            since_ms, until_ms = _instant(since, "since"), _instant(until, "until")
            threads = sorted(
                self.log(found.id).threads.values(), key=lambda t: (t.updated_at, t.id), reverse=True
            )
            chosen = [
                t
                for t in threads
                if (since_ms is None or t.updated_at > since_ms)
                and (until_ms is None or t.updated_at < until_ms)
            ]
            page = chosen[:limit]
            headers = {}
            if len(chosen) > limit:
                org = self.store.organizations.by_id[found.organization_id]
                url = f"{self.store.config.base_url}/flows/{org.parameterized_name}/{found.parameterized_name}/threads"
                headers["Link"] = f'<{url}?until={iso_ms(page[-1].updated_at)}>; rel="next"'
            return [self.thread_dict(t) for t in page], headers

    def get_thread(self, organization: str, flow: str, thread_id: str, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            return self.thread_dict(self._thread(self.log(found.id), thread_id, from_path=True))

    def list_thread_messages(
        self, organization: str, flow: str, thread_id: str, viewer: int, query: ListQuery
    ) -> list[dict[str, Any]]:
        with self.store.lock:
            found = self._joined_flow(organization, flow, viewer)
            log = self.log(found.id)
            self._thread(log, thread_id, from_path=True)
            timeline = log.thread_timelines.setdefault(thread_id, Timeline())
            return [self.to_dict(found.id, m) for m in timeline.page(query, matcher(query, self.all_nicks()))]

    # --- Push API (docs/flowdock.md §8.2) ---------------------------------------------------------
    def _push_flows(self, tokens: str) -> list[Flow]:
        flows = []
        for token in (t.strip() for t in tokens.split(",")):
            flow = self.store.flows.by_api_token(token) if token else None
            if flow is None:
                raise NotFound()
            flows.append(flow)
        return flows

    def push_chat_message(self, tokens: str, body: dict[str, Any]) -> dict[str, Any]:
        """An anonymous chat message (``external_user_name``) in each flow; a comment with ``message_id``."""
        with self.store.lock:
            name = body.get("external_user_name")
            if not isinstance(name, str) or not name.strip():
                raise ValidationFailed.field("external_user_name", BLANK)
            text_content(body.get("content"))
            for flow in self._push_flows(tokens):
                post: dict[str, Any] = {
                    k: body[k]
                    for k in ("content", "tags", "uuid", "thread_id", "external_user_name")
                    if k in body
                }
                if body.get("message_id") is not None:
                    self.post(flow, 0, {**post, "event": "comment"}, parent_id=int(body["message_id"]))
                else:
                    self.post(flow, 0, {**post, "event": "message"})
            return {}

    def push_team_inbox_message(self, tokens: str, body: dict[str, Any]) -> dict[str, Any]:
        """A team inbox item (event ``mail``, ``app: influx``) tagged ``:source:<source>`` in each flow."""
        with self.store.lock:
            problems = {
                k: [BLANK] for k in ("source", "from_address", "subject", "content") if not body.get(k)
            }
            if problems:
                raise ValidationFailed(errors=problems)
            sender = {"name": body.get("from_name") or "", "address": body["from_address"]}
            content = {
                "subject": body["subject"],
                "from": [sender],
                "to": [],
                "cc": [],
                "bcc": [],
                "replyTo": body.get("reply_to"),
                "sender": sender,
                "contentType": "text/html",
                "content": body["content"],
            }
            for key in ("project", "link"):
                if body.get(key):
                    content[key] = body[key]
            for flow in self._push_flows(tokens):
                log = self.log(flow.id)
                message = self._new_message(log, "mail", 0, copy.deepcopy(content), body)
                message.app = "influx"
                explicit = tagging.normalize_explicit(tags_param(body.get("tags")), {}, None, [])
                message.tags = tagging.dedup([*explicit, f":source:{body['source']}"])
                log.add(message)
                self.store.events.emit(self.to_dict(flow.id, message))
            return {}


def _instant(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_iso_ms(value)
    except ValueError:
        raise ValidationFailed.field(name, INVALID) from None
