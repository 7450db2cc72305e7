"""Adding read exports to a world document: organizations, users, flows, messages, threads, files.

``with_history`` returns a new document (the given one is not changed) that holds every flow of
the exports besides what the document held; ``check_world`` then checks and builds it as any
world document, so a world holds all of its exports or none of them. What each quirk of an
export becomes is in docs/history.md.

Users: an id the document already holds is that user (it joins the flow and organization); any
other id becomes a user named from the users file (``GET /organizations/:org/users``'s shape) or
``User <id>``, with credentials derived from its id, so the same archive gives the same tokens
on every start (created worlds replace them with fresh ones, as for any template).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mock_server.history.archive import ArchiveError
from mock_server.history.messages import HistoryFlow, rebuild_threads
from mock_server.store.files import StoredFile, file_document

DEFAULT_ORGANIZATION = "history"
"""The organization of an archive loaded without ``ORG/``."""
PASSWORD = "flowdock"
"""Every history user's password (as the default world's anchor users)."""
FIRST_ORGANIZATION_ID = 14849
FIRST_FILES_ID = 100001
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an archive goes: its organization and flow (parameterized names)."""

    organization: str
    flow: str


@dataclass
class Loaded:
    """What loading did, for the banner and the control API: one entry per archive."""

    organization: str
    flow: str
    flow_id: str
    archive: str
    messages: int
    threads: int
    files: int
    missing_files: list[str]
    users: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "flow": self.flow,
            "flow_id": self.flow_id,
            "archive": self.archive,
            "messages": self.messages,
            "threads": self.threads,
            "files": self.files,
            "missing_files": list(self.missing_files),
            "users": list(self.users),
        }


Mint = Callable[[str, Any], str]


def check_slug(text: str, what: str, archive: str) -> str:
    if not SLUG.match(text):
        raise ArchiveError(
            archive, f"{what} {text!r} is not a parameterized name (lower case letters, digits, - and _)"
        )
    return text


def derived(kind: str, key: Any, length: int = 32) -> str:
    """A hex credential derived from what it belongs to: the same on every load of an archive."""
    return hashlib.sha256(f"flowdock-mock history {kind} {key}".encode()).hexdigest()[:length]


def _user(user_id: int, named: dict[str, Any] | None, mint: Mint) -> dict[str, Any]:
    named = named or {}
    return {
        "id": user_id,
        "email": str(named.get("email") or f"user{user_id}@history.example.com"),
        "name": str(named.get("name") or f"User {user_id}"),
        "nick": str(named.get("nick") or f"user{user_id}"),
        "avatar": named.get("avatar") if isinstance(named.get("avatar"), str) else None,
        "website": named.get("website") if isinstance(named.get("website"), str) else None,
        "password": PASSWORD,
        "api_token": mint("user", user_id),
        "status": None,
        "last_activity": 0,
        "last_ping": 0,
    }


def read_users_file(parsed: Any, name: str) -> dict[int, dict[str, Any]]:
    """A users file (a list of user objects with ``id``, as ``GET /organizations/:org/users``
    answers) by id."""
    if not isinstance(parsed, list):
        raise ArchiveError(name, "must be a JSON array of users (GET /organizations/:org/users)")
    out: dict[int, dict[str, Any]] = {}
    for index, user in enumerate(parsed):
        where = f"user {index}"
        if not isinstance(user, dict):
            raise ArchiveError(name, "is not an object", where)
        raw_id = user.get("id")
        text = str(raw_id) if isinstance(raw_id, int) and not isinstance(raw_id, bool) else raw_id
        if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 18:
            raise ArchiveError(name, f"id must be a user id, not {raw_id!r}", where)
        for key in ("email", "name", "nick"):
            if user.get(key) is not None and not isinstance(user[key], str):
                raise ArchiveError(name, f"{key} must be a string", where)
        out[int(text)] = user
    return out


def with_history(
    doc: dict[str, Any],
    flows: list[tuple[Placement, HistoryFlow]],
    users_file: dict[int, dict[str, Any]] | None = None,
    mint: Mint = derived,
) -> tuple[dict[str, Any], list[Loaded]]:
    """``doc`` plus every export as a flow; what each became. ``ArchiveError`` on a clash.

    ``mint(kind, key)`` makes the API tokens of new users (``user``, their id) and flows
    (``flow``, its id): derived from the key by default, the same on every load."""
    users_file = users_file or {}
    out = dict(doc)
    for key in ("users", "organizations", "flows", "messages", "threads", "files"):
        out[key] = list(doc.get(key) or [])
    users = {u["id"]: u for u in out["users"]}
    emails = {str(u["email"]).lower() for u in out["users"]}
    orgs = {o["parameterized_name"]: o for o in out["organizations"]}
    flow_ids = {f["id"] for f in out["flows"]}
    files_ids = {f["files_id"] for f in out["flows"]}
    hashes = {f["hash"] for f in out["files"]}
    loaded: list[Loaded] = []
    copied: set[str] = set()
    for placement, history in flows:
        name = history.archive
        org = orgs.get(placement.organization)
        if org is None:
            org = orgs[placement.organization] = _organization(out, placement.organization)
            copied.add(placement.organization)
        elif placement.organization not in copied:  # the given document's stays as it was
            org = orgs[placement.organization] = dict(org, members=list(org["members"]))
            out["organizations"] = [org if o["id"] == org["id"] else o for o in out["organizations"]]
            copied.add(placement.organization)
        if any(
            f["organization_id"] == org["id"] and f["parameterized_name"] == placement.flow
            for f in out["flows"]
        ):
            raise ArchiveError(
                name, f"flow {placement.organization}/{placement.flow} is already in the world"
            )
        flow_id = history.flow_id or str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"flowdock-mock:{placement.organization}/{placement.flow}")
        )
        if flow_id in flow_ids:
            raise ArchiveError(name, f"flow {flow_id} (the messages' flow) is already in the world")
        flow_ids.add(flow_id)
        for user_id in sorted(history.users | set(users_file)):
            if user_id not in users:
                user = _user(user_id, users_file.get(user_id), mint)
                if user["email"].lower() in emails:
                    raise ArchiveError(name, f"user {user_id}'s email {user['email']} is another user's")
                emails.add(user["email"].lower())
                users[user_id] = user
                out["users"].append(user)
        members = {m["user"] for m in org["members"]}
        for user_id in sorted(history.users | set(users_file)):
            if user_id not in members:
                org["members"].append(
                    {"user": user_id, "admin": bool(users_file.get(user_id, {}).get("admin"))}
                )
                members.add(user_id)
        common = Counter(history.files_ids).most_common(1)
        files_id = common[0][0] if common and common[0][0] not in files_ids else None
        if files_id is None:
            files_id = max(files_ids | {FIRST_FILES_ID - 1}) + 1
        files_ids.add(files_id)
        out["flows"].append(
            {
                "id": flow_id,
                "organization_id": org["id"],
                "name": placement.flow,
                "parameterized_name": placement.flow,
                "access_mode": "organization",
                "api_token": mint("flow", flow_id),
                "files_id": files_id,
                "join_hash": derived("join", flow_id, 16),
                "description": f"Loaded from {name}",
                "disabled": False,
                "members": [
                    {
                        "user": u,
                        "open": True,
                        "disabled": False,
                        "flow_admin": False,
                        "team_notifications": True,
                    }
                    for u in sorted(history.users)
                ],
            }
        )
        for record in history.messages:
            record["flow"] = flow_id
        out["messages"].extend(history.messages)
        threads = rebuild_threads(flow_id, history.messages)
        out["threads"].extend(threads)
        for stored in history.files:
            if stored.token in hashes:
                raise ArchiveError(name, f"file token {stored.token} is already a file of the world")
            hashes.add(stored.token)
            out["files"].append(
                file_document(
                    StoredFile(
                        stored.files_id,
                        stored.token,
                        stored.file_name,
                        stored.content_type,
                        stored.data,
                        flow=flow_id,
                        thumbnail=stored.thumbnail,
                    )
                )
            )
        loaded.append(
            Loaded(
                placement.organization,
                placement.flow,
                flow_id,
                name,
                len(history.messages),
                len(threads),
                len(history.files),
                list(history.missing_files),
                sorted(history.users),
            )
        )
    return out, loaded


def _organization(doc: dict[str, Any], slug: str) -> dict[str, Any]:
    org = {
        "id": max([o["id"] for o in doc["organizations"]] + [FIRST_ORGANIZATION_ID - 1]) + 1,
        "parameterized_name": slug,
        "name": slug,
        "user_limit": 0,
        "active": True,
        "subscription": {"trial": False},
        "billing_method": "invoice",
        "flow_admins": False,
        "members": [],
    }
    doc["organizations"].append(org)
    return org
