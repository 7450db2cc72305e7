"""Private conversations between two users and their messages.

A conversation is named after the other participant's user id, so the pair ``{a, b}`` is seen as
``/private/b`` by ``a`` and as ``/private/a`` by ``b``. Each side has its own ``open`` flag.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server.store.messages import Message

if TYPE_CHECKING:
    from mock_server.store import Store


@dataclass
class Conversation:
    """Messages between two users (ascending id) and each participant's ``open`` flag."""

    users: tuple[int, int]
    open: dict[int, bool] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    by_id: dict[int, Message] = field(default_factory=dict)
    next_id: int = 1


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
            conv = Conversation(users=pair(a, b), open={int(k): v for k, v in raw.get("open", {}).items()})
            for m in raw.get("messages", []):
                message = Message(**copy.deepcopy(m))
                conv.messages.append(message)
                conv.by_id[message.id] = message
                conv.next_id = max(conv.next_id, message.id + 1)
            self.conversations[conv.users] = conv

    def export(self) -> dict[str, Any]:
        return {
            "private_conversations": [
                {
                    "users": list(conv.users),
                    "open": {str(k): v for k, v in conv.open.items()},
                    "messages": [asdict(m) for m in conv.messages],
                }
                for conv in self.conversations.values()
            ]
        }
