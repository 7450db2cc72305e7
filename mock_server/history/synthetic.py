"""Made-up Flowdock flow exports in the exact format, with every quirk real ones have.

No real people's data: user ids, words and files are drawn from a seeded ``random.Random``, so
the same seed and size give the same archive. The tests load these archives and compare what
the API serves with them; ``make bench`` loads a 200k-message one.

The quirks (docs/history.md): ids ascending but not contiguous; the oldest messages without
``thread_id``; ``uuid`` missing on some; a stale ``thread`` snapshot on each threaded message
(no ``flow``, ``created_at`` null, ``updated_at`` 1970-01-01T00:00:02.020Z); ``edited`` without
``edited_at``; ``:user:``/``:unread:`` mention tags of users who never post; reactions by users
who never post; comments tagged ``influx:<parent>``; integration activity as user ``"0"``; file
messages whose bytes lie in different folders of the zip, one under a percent-encoded name with a
space, one with a thumbnail, and one whose bytes are missing from the archive.
"""

from __future__ import annotations

import base64
import io
import random
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

_VOCABULARY = (
    "deploy build release staging review merge branch ticket sprint standup lunch coffee "
    "backlog hotfix rollback metrics alert pager dashboard query cache index schema migration "
    "design mockup customer feedback invoice roadmap demo retro estimate blocker docs wiki "
    "kubernetes docker queue worker cron backup restore latency throughput tests flaky green"
)
WORDS = tuple(_VOCABULARY.split())
UNICODE_WORDS = ("café", "naïve", "Grüße", "日本語", "🚀", "👍", "ünïcödé")
EMOJI = ("thumbsup", "tada", "heart", "eyes", "rocket", "smile")
STALE_UPDATED_AT = "1970-01-01T00:00:02.020Z"
START_MS = 1_420_070_400_000  # 2015-01-01T00:00:00Z
FILES_ID = 123456


@dataclass
class Export:
    """A synthetic export: its flow's id, its records, and the files its zip holds by entry name."""

    flow_id: str
    messages: list[dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict)
    posters: list[int] = field(default_factory=list)
    lurkers: list[int] = field(default_factory=list)
    """Users only named by mentions and reactions, never posting."""
    missing_file: str | None = None
    """The API path of the file whose bytes the archive does not hold."""

    def messages_json(self) -> bytes:
        return orjson.dumps(self.messages)

    def zip_bytes(self, folder: str | None = None) -> bytes:
        """The archive; ``folder`` puts messages.json in ``<folder>/`` as extracted copies had it."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr(f"{folder}/messages.json" if folder else "messages.json", self.messages_json())
            for name, data in self.files.items():
                zf.writestr(name, data)
        return out.getvalue()

    def write_zip(self, path: str | Path, folder: str | None = None) -> Path:
        target = Path(path)
        target.write_bytes(self.zip_bytes(folder))
        return target

    def write_folder(self, path: str | Path) -> Path:
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        (root / "messages.json").write_bytes(self.messages_json())
        for name, data in self.files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        return root

    def users_file(self, org_admin: int | None = None) -> list[dict[str, Any]]:
        """A users file naming half the posters (the others stay ``User <id>``)."""
        out = []
        for n, uid in enumerate(self.posters[::2]):
            out.append(
                {
                    "id": uid,
                    "email": f"person{n}@synthetic.example.com",
                    "name": f"Person {n}",
                    "nick": f"person{n}",
                    "avatar": None,
                    "website": None,
                    "admin": uid == (org_admin if org_admin is not None else self.posters[0]),
                }
            )
        return out


def _uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _token(rng: random.Random, n: int) -> str:
    """``n`` url-safe characters (Flowdock's thread ids, uuids and file tokens look like this)."""
    return base64.urlsafe_b64encode(
        rng.getrandbits(6 * n + 6).to_bytes(-(-(6 * n + 6) // 8), "big")
    ).decode()[:n]


def generate(messages: int = 300, seed: int = 1, *, users: int = 12) -> Export:
    """An export of about ``messages`` records (at least the few quirk records)."""
    rng = random.Random(seed)
    flow_id = _uuid4(rng)
    posters = sorted(rng.sample(range(100_000, 999_999), users))
    lurkers = sorted(rng.sample(range(1_000_000, 1_999_999), 3))
    export = Export(flow_id, [], posters=posters, lurkers=lurkers)
    records = export.messages
    threads: dict[str, dict[str, Any]] = {}
    clock = START_MS
    next_id = 1000
    old = max(3, messages // 50)  # the oldest messages predate threads: no thread_id
    files_made = 0
    starts: deque[dict[str, Any]] = deque(maxlen=20)

    def sentence(n: int | None = None) -> str:
        words = [rng.choice(WORDS) for _ in range(n or rng.randint(3, 14))]
        if rng.random() < 0.05:
            words.append(rng.choice(UNICODE_WORDS))
        return " ".join(words)

    def add(event: str, content: Any, user: int, thread_id: str | None, **extra: Any) -> dict[str, Any]:
        nonlocal clock, next_id
        clock += rng.randint(1_000, 900_000)
        next_id += rng.choice((1, 1, 1, 2, 3, 7))  # ids ascend but are not contiguous
        record: dict[str, Any] = {
            "id": next_id,
            "event": event,
            "flow": flow_id,
            "user": str(user),
            "content": content,
            "sent": clock,
            "edited": None,
            "tags": extra.pop("tags", []),
            "emojiReactions": extra.pop("emojiReactions", {}),
            "attachments": extra.pop("attachments", []),
            "app": extra.pop("app", "chat"),
        }
        if rng.random() > 0.1:  # uuid: missing on some records
            record["uuid"] = _token(rng, 16)
        if thread_id is not None:
            record["thread_id"] = thread_id
            snapshot = threads.setdefault(
                thread_id,
                {
                    "id": thread_id,
                    "title": str(content)[:100],
                    "body": "",
                    "external_url": None,
                    "status": None,
                },
            )
            # stale: what the snapshot said when the message was exported, not the thread's state
            record["thread"] = {
                **snapshot,
                "fields": [],
                "actions": [],
                "activities": 0,
                "internal_comments": rng.randint(0, 3),
                "external_comments": 0,
                "initial_message": None,
                "created_at": None,
                "updated_at": STALE_UPDATED_AT,
            }
        record.update(extra)
        records.append(record)
        return record

    def file_message(user: int, name: str, where: str | None, *, thumb: bool = False) -> None:
        nonlocal files_made
        files_made += 1
        token = _token(rng, 22)
        data = (f"synthetic file {files_made}\n" + sentence(40) + "\n").encode()
        path = f"/files/{FILES_ID}/{token}/{quote(name, safe='')}"
        content: dict[str, Any] = {
            "path": path,
            "file_name": name,
            "file_size": len(data),
            "content_type": "image/png" if thumb else "text/plain",
            "content_disposition": f'attachment; filename="{name}"',
        }
        if thumb:
            content["image"] = {"width": 640, "height": 480}
            content["thumbnail"] = {
                "path": f"/files/{FILES_ID}/{token}/thumb/{quote(name, safe='')}",
                "width": 160,
                "height": 120,
            }
            export.files[f"files/{token}/thumb/{name}"] = b"thumbnail " + data[:20]
        thread_id = _token(rng, 27) if len(records) >= old else None
        add("file", content, user, thread_id, tags=[":file"], attachments=[dict(content)])
        if where is None:
            export.missing_file = path
        else:
            export.files[where.format(token=token, name=name)] = data

    # the quirk records first: old messages without thread ids, an action, files of every kind
    for _ in range(old):
        add("message", sentence(), rng.choice(posters), None)
    add("action", {"type": "add_people", "description": "person1, person2"}, posters[0], None, app=None)
    add("status", "working from home", posters[1], None)
    file_message(posters[0], "release notes.txt", "files/{token}/{name}")
    file_message(posters[1], "diagram.png", "uploads/2019/{token}/{name}", thumb=True)
    file_message(posters[2], "lost.txt", None)
    while len(records) < messages:
        roll = rng.random()
        user = rng.choice(posters)
        if roll < 0.02:
            file_message(user, f"notes-{files_made}.txt", "files/{token}/{name}")
            continue
        if roll < 0.06 and starts:
            parent = rng.choice(starts)
            add(
                "comment",
                {"title": str(parent["content"])[:100], "text": sentence()},
                user,
                parent["thread_id"],
                tags=[f"influx:{parent['id']}"],
            )
            continue
        if roll < 0.08:
            thread_id = _token(rng, 27)
            common = {"app": "influx", "title": f"opened pull request #{rng.randint(1, 999)}", "body": None}
            author = {"name": "CI bot", "avatar": "https://example.com/ci.png", "email": "ci@example.com"}
            add("activity", None, 0, thread_id, author=author, **common)
            add(
                "discussion",
                None,
                0,
                thread_id,
                author=author,
                **{**common, "title": "commented", "body": sentence()},
            )
            continue
        tags: list[str] = []
        text = sentence()
        if rng.random() < 0.08:
            mentioned = rng.choice(posters + lurkers)
            text = f"@user{mentioned} {text}"
            tags += [f":user:{mentioned}", f":unread:{mentioned}"]
        if rng.random() < 0.05:
            text += " https://example.com/ci/" + str(rng.randint(1, 9999))
            tags.append(":url")
        if rng.random() < 0.05:
            tag = rng.choice(WORDS)
            text += f" #{tag}"
            tags.append(tag)
        reactions: dict[str, list[str]] = {}
        if rng.random() < 0.05:
            reactions[rng.choice(EMOJI)] = sorted({str(rng.choice(posters + lurkers)) for _ in range(2)})
        reply = starts and rng.random() < 0.4
        thread_id = rng.choice(starts)["thread_id"] if reply else _token(rng, 27)
        record = add("message", text, user, thread_id, tags=tags, emojiReactions=reactions)
        if not reply:
            starts.append(record)  # a recent thread's first message: replies and comments pick these
        if rng.random() < 0.03:
            record["edited"] = record["sent"] + rng.randint(1_000, 60_000)
    # every quirk at least once, however small the export
    add(
        "message",
        f"@user{lurkers[0]} ping",
        posters[0],
        _token(rng, 27),
        tags=[f":user:{lurkers[0]}", f":unread:{lurkers[0]}"],
    )
    add("message", "👍 nice", posters[1], None, emojiReactions={"tada": [str(lurkers[1]), str(posters[0])]})
    records[-1]["edited"] = records[-1]["sent"] + 5_000
    return export
