"""Private conversations between two users and their messages.

A conversation is named after the other participant's user id, so the pair ``{a, b}`` is seen as
``/private/b`` by ``a`` and as ``/private/a`` by ``b``; only those two can reach it, because the
path is always resolved against the caller. Each side has its own ``open`` flag, which a new
message turns back on for its recipient (docs/flowdock.md §3.5). Messages follow the flow rules (ids per
conversation, listing, edit and delete permissions, uuid retries) and carry ``to`` instead of
``flow``; every new one is tagged ``:unread:<recipient>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.errors import BLANK, INVALID, NOT_SUPPORTED_HERE, NotFound, ValidationFailed
from mock_server.store import tags as tagging
from mock_server.store.listing import ListQuery, Log, matcher
from mock_server.store.message_model import POSTABLE, Message, tags_param
from mock_server.store.records import message_from_record, record

if TYPE_CHECKING:
    from mock_server.store import Store

PRIVATE_EVENTS = ("message", "file")
"""What a private conversation takes: chat (the docs) and files (observed, docs/flowdock.md §3.5)."""


@dataclass
class Conversation(Log):
    """Messages between two users and each participant's ``open`` flag."""

    users: tuple[int, int] = (0, 0)
    open: dict[int, bool] = field(default_factory=dict)
    files_id: int | None = None

    def other(self, user_id: int) -> int:
        a, b = self.users
        return b if a == user_id else a


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a <= b else (b, a)


class PrivateStore:
    """All private conversations, keyed by the sorted pair of participant ids."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conversations: dict[tuple[int, int], Conversation] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("private_conversations", []):
            a, b = raw["users"]
            conv = Conversation(
                users=pair(a, b),
                open={int(k): v for k, v in raw.get("open", {}).items()},
                files_id=raw.get("files_id"),
            )
            for m in raw.get("messages", []):
                conv.add(message_from_record(m))
            self.conversations[conv.users] = conv

    def export(self) -> dict[str, Any]:
        out = []
        for conv in self.conversations.values():
            raw: dict[str, Any] = {
                "users": list(conv.users),
                "open": {str(k): v for k, v in conv.open.items()},
                "messages": [record(m) for m in conv.messages],
            }
            if conv.files_id is not None:
                raw["files_id"] = conv.files_id
            out.append(raw)
        return {"private_conversations": out}

    # --- lookups ------------------------------------------------------------------------------------
    def conversation(self, other: int, create: bool = True, *, viewer: int) -> Conversation:
        """The viewer's conversation with ``other``: 404 unless ``other`` is someone they can see."""
        if (
            other == viewer
            or other not in self.store.users.by_id
            or other not in self.store.users.visible_ids(viewer=viewer)
        ):
            raise NotFound()
        key = pair(viewer, other)
        conv = self.conversations.get(key)
        if conv is None:
            if not create:
                raise NotFound()
            conv = self.conversations[key] = Conversation(users=key, open={viewer: False, other: False})
        return conv

    def to_dict(self, conv: Conversation, *, viewer: int) -> dict[str, Any]:
        """The conversation as ``viewer`` sees it (docs/flowdock.md §3.5)."""
        other = conv.other(viewer)
        users = self.store.users.by_id
        unread = conv.unread.get(viewer, 0)
        return {
            "id": other,
            "url": f"{self.store.config.base_url}/private/{other}",
            "name": "@" + users[other].nick,
            "open": conv.open.get(viewer, False),
            "activity": {"inbox": False, "mentions": unread, "chat": unread > 0},
            "users": [users[viewer].to_dict(), users[other].to_dict()],
        }

    def message_dict(self, conv: Conversation, message: Message) -> dict[str, Any]:
        """A private message: ``to`` is the recipient (the participant who did not send it)."""
        return self.store.messages.to_dict(None, message, to=conv.other(message.user))

    # --- conversations ------------------------------------------------------------------------------
    def list_private_conversations(self, *, viewer: int) -> list[dict[str, Any]]:
        with self.store.lock:
            convs = [c for key, c in sorted(self.conversations.items()) if viewer in key]
            return [self.to_dict(c, viewer=viewer) for c in sorted(convs, key=lambda c: c.other(viewer))]

    def get_private_conversation(self, other: int, *, viewer: int) -> dict[str, Any]:
        """Created (``open: false``) when it does not exist yet."""
        with self.store.lock:
            return self.to_dict(self.conversation(other, viewer=viewer), viewer=viewer)

    def update_private_conversation(
        self, other: int, changes: dict[str, Any], *, viewer: int
    ) -> dict[str, Any]:
        with self.store.lock:
            conv = self.conversation(other, viewer=viewer)
            if changes.get("open") is not None:
                conv.open[viewer] = bool(changes["open"])
            return self.to_dict(conv, viewer=viewer)

    # --- messages -----------------------------------------------------------------------------------
    def list_private_messages(self, other: int, query: ListQuery, *, viewer: int) -> list[dict[str, Any]]:
        with self.store.lock:
            conv = self.conversation(other, viewer=viewer)
            page = conv.timeline.page(query, matcher(query, self.store.messages.all_nicks()))
            return [self.message_dict(conv, m) for m in page]

    def send_private_message(
        self, other: int, body: dict[str, Any], upload: Any = None, *, viewer: int
    ) -> dict[str, Any]:
        """Chat or a file; tagged ``:unread:<recipient>`` first, as observed (docs/flowdock.md §3.5)."""
        upload = self.store.messages.read_upload(upload)
        with self.store.lock:
            conv = self.conversation(other, viewer=viewer)
            event = body.get("event")
            if not event:
                raise ValidationFailed.field("event", BLANK)
            if event not in PRIVATE_EVENTS:
                raise ValidationFailed.field("event", NOT_SUPPORTED_HERE if event in POSTABLE else INVALID)
            uuid = body.get("uuid")
            if uuid and uuid in conv.by_uuid:
                return self.message_dict(conv, conv.by_uuid[uuid])
            messages = self.store.messages

            def files_id() -> int:
                if conv.files_id is None:
                    conv.files_id = self.store.files.next_private_files_id()
                return conv.files_id

            content, attachments, meta = messages.compose_content(
                event, body, upload, files_id, {"private": conv.users}
            )
            users = self.store.users.by_id
            nicks = {users[u].nick.lower(): u for u in conv.users}
            text = content if isinstance(content, str) else ""
            message = Message(
                id=conv.next_id,
                event=event,
                content=content,
                user=viewer,
                sent=messages.tick(),
                uuid=uuid or None,
            )
            message.attachments = attachments
            explicit = tags_param(body.get("tags"))
            generated = tagging.build(explicit, text, nicks, viewer, list(conv.users), meta)
            message.tags = tagging.dedup([f":unread:{other}", *generated])
            conv.add(message)
            conv.open[other] = True
            conv.open[viewer] = True
            rendered = self.message_dict(conv, message)
            self.store.events.emit(self.message_dict(conv, message))
            return rendered

    def show_private_message(self, other: int, message_id: int, *, viewer: int) -> dict[str, Any]:
        with self.store.lock:
            conv = self.conversation(other, create=False, viewer=viewer)
            found = conv.by_id.get(message_id)
            if found is None:
                raise NotFound()
            return self.message_dict(conv, found)

    def edit_private_message(
        self, other: int, message_id: int, changes: dict[str, Any], *, viewer: int
    ) -> dict[str, Any]:
        with self.store.lock:
            conv = self.conversation(other, create=False, viewer=viewer)
            found = conv.by_id.get(message_id)
            if found is None:
                raise NotFound()
            return self.store.messages.edit(conv, found, changes, {"to": other}, viewer=viewer)

    def delete_private_message(self, other: int, message_id: int, *, viewer: int) -> bool:
        """True when removed completely (own file, 204); False when truncated (own chat, 200 ``{}``)."""
        with self.store.lock:
            conv = self.conversation(other, create=False, viewer=viewer)
            found = conv.by_id.get(message_id)
            if found is None:
                raise NotFound()
            messages = self.store.messages
            if messages.deletion(found, viewer=viewer) == "truncate":
                found.content = ""
                found.edited = messages.tick()
                self.store.events.message_edited({"to": other}, found.id, viewer, "")
                return False
            conv.remove(found)
            if found.event == "file" and isinstance(found.content, dict):
                self.store.files.discard(str(found.content.get("path") or ""))
            return True
