"""Flow messages: posting (chat, status, comments, files, integrations' inbox items), listing,
showing, editing and deleting them, and the deprecated Push API.

Operations here are named after the contract's operations (sendMessage -> ``send_message``). The
entities and the rules about one message are in message_model.py, where they are kept and paged
in listing.py, threads in threads.py, their JSON in representation.py; private conversations
(private.py) reuse the logs, the composition helpers and the listing rules.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from mock_server.errors import (
    BLANK,
    COMMENT_ON_COMMENT,
    DELETED_MESSAGE,
    INVALID,
    NO_SUCH_MESSAGE,
    NO_WHITESPACE,
    NOT_DELETABLE,
    NOT_EDITABLE,
    NOT_SUPPORTED_HERE,
    NOT_YOUR_MESSAGE,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from mock_server.store import tags as tagging
from mock_server.store.files import Upload
from mock_server.store.listing import FlowLog, ListQuery, Log, matcher
from mock_server.store.message_model import (
    CONTENT_EDITABLE,
    INBOX_APPS,
    INBOX_EVENTS,
    POSTABLE,
    THREAD_TITLE_LENGTH,
    Message,
    Thread,
    counter_of,
    tags_param,
    text_content,
    title_of,
)
from mock_server.store.records import message_from_record, record, thread_from_record
from mock_server.store.representation import clone, message_dict
from mock_server.store.timefmt import iso_ms

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.flows import Flow
    from mock_server.store.sources import Source


@dataclass(slots=True)
class _Draft:
    """What a post becomes before it is stored: its content, attachments, text, meta tags, thread."""

    content: Any
    attachments: list[dict[str, Any]]
    text: str  # what mentions and hashtags are read from
    meta: list[str]
    thread: Thread | None


def _event_of(body: dict[str, Any], parent_id: int | None, events: tuple[str, ...]) -> str:
    event = body.get("event") or ("comment" if parent_id is not None else None)
    if event is None:
        raise ValidationFailed.field("event", BLANK)
    if event not in events:
        raise ValidationFailed.field("event", NOT_SUPPORTED_HERE if event in POSTABLE else INVALID)
    return str(event)


def _external_user_name(body: dict[str, Any]) -> str | None:
    """An integration's ``external_user_name``: one word when given."""
    external = body.get("external_user_name")
    if external is not None and (
        not isinstance(external, str) or not external or any(c.isspace() for c in external)
    ):
        raise ValidationFailed.field("external_user_name", NO_WHITESPACE)
    return external


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
            thread = thread_from_record(raw)
            self.log(thread.flow).add_thread(thread)
        for raw in world.get("messages", []):
            self.append(raw["flow"], message_from_record(raw))

    def export(self) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        threads: list[dict[str, Any]] = []
        for flow_id, log in self.logs.items():
            threads.extend(record(t) for t in log.threads.values())
            messages.extend({"flow": flow_id, **record(m)} for m in log.messages)
        return {"messages": messages, "threads": threads}

    def export_json(self, *, snapshot: bool = False) -> Iterator[tuple[str, Iterator[bytes]]]:
        """``export``'s records as JSON, each encoded from the stored object as it comes (the
        bytes ``orjson.dumps`` writes of the record ``export`` makes): ``Store.export_json``.
        With ``snapshot``, the lists of records are copied first (readable without the lock)."""
        logs = [
            (flow_id, log.messages[:] if snapshot else log.messages, list(log.threads.values()))
            for flow_id, log in self.logs.items()
        ]
        yield "messages", self._messages_json(logs)
        yield "threads", (orjson.dumps(t) for _, _, threads in logs for t in threads)

    @staticmethod
    def _messages_json(logs: list[tuple[str, list[Message], list[Thread]]]) -> Iterator[bytes]:
        for flow_id, messages, _ in logs:
            head = b'{"flow":' + orjson.dumps(flow_id) + b","
            for message in messages:
                yield head + orjson.dumps(message)[1:]

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

    def to_dict(self, flow_id: str | None, message: Message, to: int | None = None) -> dict[str, Any]:
        """The message object (representation.py), with its thread when it is in one."""
        thread = None
        if message.thread_id is not None and flow_id is not None:
            found = self.logs[flow_id].threads.get(message.thread_id)
            if found is not None:
                thread = self.store.threads.to_dict(found)
        return message_dict(message, flow_id, thread=thread, to=to)

    def page_dicts(self, flow_id: str, page: list[Message]) -> list[dict[str, Any]]:
        """The message objects of one page of the flow's messages, as ``to_dict`` renders each,
        except that each thread the page shows is rendered once and that one object is the
        ``thread`` of each of its messages on the page. A page is an answer: the handler returns
        it and it is encoded at once, never edited (the events a write emits are rendered on
        their own), so a copy per message would be CPU spent for nothing; nothing in the page
        is the store's, as before (tests/unit/test_representation.py checks both)."""
        threads = self.log(flow_id).threads
        rendered: dict[str, dict[str, Any] | None] = {}
        out = []
        for message in page:
            thread = None
            thread_id = message.thread_id
            if thread_id is not None:
                if thread_id in rendered:
                    thread = rendered[thread_id]
                else:
                    found = threads.get(thread_id)
                    thread = rendered[thread_id] = (
                        None if found is None else self.store.threads.to_dict(found)
                    )
            out.append(message_dict(message, flow_id, thread=thread))
        return out

    def flow_stats(self, flow: Flow, *, viewer: int) -> dict[str, Any]:
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
    def joined_flow(self, organization: str, flow: str, *, viewer: int | None) -> Flow:
        """The flow at this path, which ``viewer`` has joined (401 without a user)."""
        if viewer is None:
            raise Unauthorized()
        return self.store.flows.get_joined(organization, flow, viewer=viewer)

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
        event = _event_of(body, parent_id, events)
        uuid = body.get("uuid")
        if uuid and uuid in log.by_uuid:
            return log.by_uuid[uuid]
        external = _external_user_name(body)
        nicks, members = self.member_nicks(flow)
        explicit = tags_param(body.get("tags"))
        thread_id = path_thread or body.get("thread_id")
        thread = (
            self.store.threads.find(log, thread_id, from_path=path_thread is not None) if thread_id else None
        )
        if event == "comment":
            draft = self._comment(log, body, parent_id, thread, list(meta))
        elif event in ("activity", "discussion"):
            thread = self.store.threads.for_inbox_item(flow, log, body, thread, source_id)
            draft = _Draft(None, copy.deepcopy(body.get("attachments") or []), "", list(meta), thread)
        else:
            draft = self._chat_or_file(flow, event, body, upload, thread, list(meta))
        message = self._new_message(log, event, user, draft.content, body)
        message.attachments = draft.attachments
        message.tags = tagging.build(explicit, draft.text, nicks, user or None, members, draft.meta)
        if external is not None:
            message.user, message.external_user_name = 0, external
        if event in ("activity", "discussion"):
            message.user, message.app = 0, "influx"
            message.title, message.body = body.get("title"), body.get("body")
            message.author = copy.deepcopy(body.get("author"))
        self._thread_message(flow, message, draft, body)
        log.add(message)
        self.store.events.emit(self.to_dict(flow.id, message))
        return message

    def _comment(
        self,
        log: FlowLog,
        body: dict[str, Any],
        parent_id: int | None,
        thread: Thread | None,
        meta: list[str],
    ) -> _Draft:
        """A comment on a message of the flow (never on a comment), in the parent's thread."""
        parent_id = parent_id if parent_id is not None else body.get("message")
        if parent_id is None:
            raise ValidationFailed.field("message", BLANK)
        parent = log.by_id.get(parent_id) if isinstance(parent_id, int) else None
        if parent is None:
            raise NotFound()
        if parent.event == "comment":
            raise ValidationFailed.field("message", COMMENT_ON_COMMENT)
        text = text_content(body.get("content"))
        meta.append(f"influx:{parent.id}")
        if thread is None and parent.thread_id is not None:
            thread = log.threads.get(parent.thread_id)
        return _Draft({"title": title_of(parent), "text": text}, [], text, meta, thread)

    def _chat_or_file(
        self,
        flow: Flow,
        event: str,
        body: dict[str, Any],
        upload: Any,
        thread: Thread | None,
        meta: list[str],
    ) -> _Draft:
        """A chat message, a status or a file (the file saved under the flow)."""
        files_id = flow.files_id
        content, attachments, file_meta = self.compose_content(
            event, body, upload, lambda: files_id, {"flow": flow.id}
        )
        text = content if isinstance(content, str) else ""
        return _Draft(content, attachments, text, file_meta + meta, thread)

    def _thread_message(self, flow: Flow, message: Message, draft: _Draft, body: dict[str, Any]) -> None:
        """Put the message in its thread (a chat message or file starts one) and count it there."""
        event, thread = message.event, draft.thread
        if thread is None and event in ("message", "file"):
            title = (
                f"Uploaded File {draft.content['file_name']}"
                if event == "file"
                else draft.text[:THREAD_TITLE_LENGTH]
            )
            thread = self.store.threads.create(flow, title, message.sent, initial_message=message.id)
        if thread is None:
            return
        if thread.initial_message is None:
            thread.initial_message = message.id
        if isinstance(body.get("thread"), dict) and event in ("activity", "discussion"):
            self.store.threads.apply_state(thread, body["thread"])
        message.thread_id = thread.id
        thread.updated_at = message.sent
        counter = counter_of(event)
        if counter is not None:
            setattr(thread, counter, getattr(thread, counter) + 1)

    # --- server-side events that leave a trace in the flow ------------------------------------------
    def record_action(self, flow_id: str, user: int, content: Any) -> Message:
        """An ``action`` (``join``, ``add_people``, ``block``, ``invite``...) kept among the flow's
        messages as Flowdock kept it (docs/flowdock.md §4.2): an id, ``app: null``, no thread, no
        tags, ``uuid: null`` (the server made it); emitted like any stored message."""
        log = self.log(flow_id)
        message = self._new_message(log, "action", user, content, {})
        message.app = None
        log.add(message)
        self.store.events.emit(self.to_dict(flow_id, message))
        return message

    def react(self, log: Log, message_id: Any, user: int, emoji: str, kind: str) -> Message:
        """An emoji reaction (``type`` ``add`` or ``remove``) applied to a message's
        ``emojiReactions``, as Flowdock's own reactions were (docs/flowdock.md §4.1): the reacting
        user's id (a string) is listed once under the emoji; the last one removed drops it."""
        message = log.by_id.get(message_id) if isinstance(message_id, int) else None
        if message is None:
            raise ValidationFailed.field("content.message", NO_SUCH_MESSAGE)
        reactions = dict(message.reactions or {})
        users = [u for u in reactions.get(emoji, []) if u != str(user)]
        if kind == "add":
            users.append(str(user))
        if users:
            reactions[emoji] = users
        else:
            reactions.pop(emoji, None)
        message.reactions = reactions or None
        return message

    # --- flows: operations ------------------------------------------------------------------------
    def send_message(self, body: dict[str, Any], *, viewer: int | None) -> dict[str, Any]:
        """POST /messages with user credentials: the flow comes from the ``flow`` id."""
        with self.store.lock:
            if viewer is None:
                raise Unauthorized()
            flow_id = body.get("flow")
            if not flow_id:
                raise ValidationFailed.field("flow", BLANK)
            flow = self.store.flows.get_joined_by_id(str(flow_id), viewer=viewer)
            return self.to_dict(flow.id, self.post(flow, viewer, body))

    def post_integration_message(self, flow_token: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /messages with a source's ``flow_token``: stored as user "0"; answered ``{}``."""
        with self.store.lock:
            return self._post_as(self.store.sources.authenticate_flow_token(flow_token), body)

    def post_as_source(self, source_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """As :meth:`post_integration_message`, for a source the security layer authenticated."""
        with self.store.lock:
            return self._post_as(self.store.sources.live(source_id), body)

    def _post_as(self, source: Source, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
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
        self, organization: str, flow: str, body: dict[str, Any], upload: Any = None, *, viewer: int
    ) -> dict[str, Any]:
        upload = self.read_upload(upload)
        with self.store.lock:
            found = self.joined_flow(organization, flow, viewer=viewer)
            return self.to_dict(found.id, self.post(found, viewer, body, upload=upload))

    def post_thread_message(
        self,
        organization: str,
        flow: str,
        thread_id: str,
        body: dict[str, Any],
        upload: Any = None,
        *,
        viewer: int,
    ) -> dict[str, Any]:
        upload = self.read_upload(upload)
        with self.store.lock:
            found = self.joined_flow(organization, flow, viewer=viewer)
            self.store.threads.find(self.log(found.id), thread_id, from_path=True)
            message = self.post(found, viewer, body, path_thread=thread_id, upload=upload)
            return self.to_dict(found.id, message)

    def create_comment(self, body: dict[str, Any], *, viewer: int) -> dict[str, Any]:
        """POST /comments: ``flow`` id and parent ``message`` id in the body."""
        with self.store.lock:
            flow = self.store.flows.get_joined_by_id(str(body.get("flow") or ""), viewer=viewer)
            message = body.get("message")
            if message is None:
                raise ValidationFailed.field("message", BLANK)
            comment = self.post(flow, viewer, {**body, "event": "comment"}, parent_id=message)
            return self.to_dict(flow.id, comment)

    def create_message_comment(
        self, organization: str, flow: str, message_id: int, body: dict[str, Any], *, viewer: int
    ) -> dict[str, Any]:
        with self.store.lock:
            found = self.joined_flow(organization, flow, viewer=viewer)
            comment = self.post(found, viewer, {**body, "event": "comment"}, parent_id=message_id)
            return self.to_dict(found.id, comment)

    def list_flow_messages(
        self, organization: str, flow: str, query: ListQuery, *, viewer: int
    ) -> list[dict[str, Any]]:
        with self.store.lock:
            found = self.joined_flow(organization, flow, viewer=viewer)
            log = self.log(found.id)
            page = log.timeline.page(query, matcher(query, self.all_nicks()))
            return self.page_dicts(found.id, page)

    def _message(self, log: Log, message_id: int) -> Message:
        found = log.by_id.get(message_id)
        if found is None:
            raise NotFound()
        return found

    def show_message(self, organization: str, flow: str, message_id: int, *, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            found = self.joined_flow(organization, flow, viewer=viewer)
            return self.to_dict(found.id, self._message(self.log(found.id), message_id))

    def edit(
        self, log: Log, message: Message, changes: dict[str, Any], where: dict[str, Any], *, viewer: int
    ) -> dict[str, Any]:
        """Content: only the author's chat messages and comments. Tags: anyone who sees it.

        ``where`` addresses the events (``flow=<id>`` or ``to=<the other participant>``).
        """
        if "content" in changes and changes["content"] is not None:
            if message.event not in CONTENT_EDITABLE:
                raise Forbidden(NOT_EDITABLE)
            if message.user != viewer or message.user == 0:
                raise Forbidden(NOT_YOUR_MESSAGE)
            if message.content == "":
                # A truncating delete is final (docs/flowdock.md §3.3, op 13): its content stays empty.
                raise Forbidden(DELETED_MESSAGE)
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
        self, organization: str, flow: str, message_id: int, changes: dict[str, Any], *, viewer: int
    ) -> dict[str, Any]:
        with self.store.lock:
            found = self.joined_flow(organization, flow, viewer=viewer)
            log = self.log(found.id)
            return self.edit(log, self._message(log, message_id), changes, {"flow": found.id}, viewer=viewer)

    @staticmethod
    def deletion(message: Message, *, viewer: int) -> str:
        """``"remove"`` (204), ``"truncate"`` (200 ``{}``) or 403 (docs/flowdock.md §3.3 op 14)."""
        if message.app in INBOX_APPS or message.event in INBOX_EVENTS:
            return "remove"
        own = message.user == viewer and message.user != 0
        if own and message.event == "file":
            return "remove"
        if own and message.event in CONTENT_EDITABLE:
            return "truncate"
        raise Forbidden(NOT_DELETABLE)

    def delete_message(self, organization: str, flow: str, message_id: int, *, viewer: int) -> bool:
        """True when the message was removed completely (204), False when truncated (200 ``{}``)."""
        with self.store.lock:
            found = self.joined_flow(organization, flow, viewer=viewer)
            log = self.log(found.id)
            message = self._message(log, message_id)
            if self.deletion(message, viewer=viewer) == "truncate":
                message.content = ""
                message.edited = self.tick()
                self.store.events.message_edited({"flow": found.id}, message.id, viewer, "")
                return False
            log.remove(message)
            thread = log.threads.get(message.thread_id or "")
            counter = counter_of(message.event)
            if thread is not None and counter is not None:
                setattr(thread, counter, max(0, getattr(thread, counter) - 1))
            if thread is not None and thread.initial_message == message.id:
                # the thread now starts with its next message (none left: no initial message)
                rest = log.thread_timelines.get(thread.id)
                thread.initial_message = rest.items[0].id if rest is not None and rest.items else None
            if message.event == "file" and isinstance(message.content, dict):
                self.store.files.discard(str(message.content.get("path") or ""))
            return True

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
