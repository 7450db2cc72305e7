"""The Faker world generator: a seed and a few sizes in, a complete world document out.

The same seed and sizes give the same document (fixtures/default-world.json is this module's
output for the defaults, and a test regenerates and compares it); another seed gives another
world. The anchors below are fixed whatever the seed, so the README, the tests and users' own
test suites can rely on them: the main user's credentials, the organization and flow names.

Run ``python -m mock_server.world --write PATH`` (``make fixtures``) to rewrite the default file.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

DEFAULT_SEED = 20230815
"""Flowdock's shutdown day."""

MAIN_USER = {
    "id": 1,
    "email": "alice@example.com",
    "password": "flowdock",
    "api_token": "a11ce0000000000000000000000000a1",
    "nick": "alice",
    "name": "Alice Anderson",
}
SECOND_USER = {
    "id": 2,
    "email": "bob@example.com",
    "password": "flowdock",
    "api_token": "b0b00000000000000000000000000b0b",
    "nick": "bob",
    "name": "Bob Brown",
}
OAUTH_APP = {
    "id": 1,
    "name": "CI Notifier",
    "client_id": "ci-notifier",
    "client_secret": "ci-notifier-secret",
    "redirect_uri": "http://127.0.0.1:9999/callback",
}
INTEGRATION_APP = {
    "id": 2,
    "name": "GitHub",
    "client_id": "github-integration",
    "client_secret": "github-integration-secret",
    "redirect_uri": "http://127.0.0.1:9999/github/callback",
}
EPOCH_MS = 1_688_169_600_000
"""2023-07-01T00:00:00Z: fixture messages are spread over the weeks before the shutdown."""

# (organization, flow name, access mode, members by user id, flow admins)
# alice (1) has joined main, dev and support; "random" is an organization flow she has not
# joined, and "secret" is invitation-only without her, so she cannot see it at all.
CORE_FLOWS = [
    ("acme", "Main", "organization", [1, 2, 3, 4, 5], [1]),
    ("acme", "Dev", "invitation", [1, 2, 3], [1]),
    ("acme", "Random", "organization", [3, 4], [3]),
    ("acme", "Secret", "invitation", [4, 5], [4]),
    ("acme", "Support", "link", [1, 5], [1]),
    ("globex", "General", "organization", [2, 6, 7, 8], [6]),
]


@dataclass(frozen=True)
class Sizes:
    """How big a generated world is; the defaults are the documented default dataset."""

    organizations: int = 2
    users: int = 8
    flows: int = 6
    messages_per_flow: int = 18


class _Builder:
    def __init__(self, seed: int, sizes: Sizes) -> None:
        from faker import Faker  # imported here: only generation needs it, not serving

        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.seed = seed
        self.sizes = sizes
        self.clock = EPOCH_MS
        self.world: dict[str, Any] = {"seed": seed}

    # --- helpers --------------------------------------------------------------------------------
    def hex(self, n: int = 32) -> str:
        return self.fake.hexify("^" * n)

    def urlsafe(self, n: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return "".join(self.fake.random_element(alphabet) for _ in range(n))

    def tick(self) -> int:
        self.clock += self.fake.random_int(30_000, 3_600_000)
        return self.clock

    # --- parts ----------------------------------------------------------------------------------
    def users(self) -> None:
        users = []
        for i in range(1, max(self.sizes.users, 8) + 1):
            anchor = {1: MAIN_USER, 2: SECOND_USER}.get(i)
            if anchor:
                user = dict(anchor)
            else:
                first, last = self.fake.unique.first_name(), self.fake.last_name()
                user = {
                    "id": i,
                    "email": f"{first.lower()}.{last.lower()}@example.com",
                    "password": self.fake.password(length=12),
                    "api_token": self.hex(),
                    "nick": first.lower(),
                    "name": f"{first} {last}",
                }
            user.update(
                avatar=f"https://d2cxspbh1aoie1.cloudfront.net/avatars/{self.hex()}/",
                website=self.fake.url() if i % 3 else None,
                status=self.fake.sentence(nb_words=3) if i % 2 else None,
                last_activity=EPOCH_MS - self.fake.random_int(0, 86_400_000),
                last_ping=EPOCH_MS - self.fake.random_int(0, 60_000),
            )
            users.append(user)
        self.world["users"] = users

    def organizations(self) -> None:
        n_users = len(self.world["users"])
        orgs: list[dict[str, Any]] = [
            {
                "id": 14849,
                "parameterized_name": "acme",
                "name": "Acme Inc",
                "admins": [1],
                "members": [1, 2, 3, 4, 5],
            },
            {
                "id": 14850,
                "parameterized_name": "globex",
                "name": "Globex Corporation",
                "admins": [6],
                "members": [2, 6, 7, 8],
            },
        ]
        for k in range(2, max(self.sizes.organizations, 2)):
            company = self.fake.unique.company()
            slug = "".join(c if c.isalnum() else "-" for c in company.lower()).strip("-")
            members = sorted({1 + (k + j) % n_users for j in range(4)})
            orgs.append(
                {
                    "id": 14849 + k,
                    "parameterized_name": slug,
                    "name": company,
                    "admins": members[:1],
                    "members": members,
                }
            )
        extra = list(range(9, n_users + 1))
        for j, uid in enumerate(extra):  # users beyond the core eight join an organization each
            orgs[j % len(orgs)]["members"].append(uid)
        out = []
        for org in orgs:
            trial = org["id"] == 14850
            subscription = (
                {"trial": True, "trial_ends": "2023-09-01"}
                if trial
                else {"trial": False, "billing_date": "2023-08-31"}
            )
            out.append(
                {
                    "id": org["id"],
                    "parameterized_name": org["parameterized_name"],
                    "name": org["name"],
                    "user_limit": 0,
                    "active": True,
                    "subscription": subscription,
                    "billing_method": "invoice" if not trial else "credit_card",
                    "flow_admins": False,
                    "members": [
                        {"user": u, "admin": u in org["admins"]} for u in sorted(set(org["members"]))
                    ],
                }
            )
        self.world["organizations"] = out

    def flows(self) -> None:
        orgs = {o["parameterized_name"]: o for o in self.world["organizations"]}
        specs = list(CORE_FLOWS)
        org_list = self.world["organizations"]
        for k in range(len(CORE_FLOWS), max(self.sizes.flows, len(CORE_FLOWS))):
            org = org_list[k % len(org_list)]
            members = [m["user"] for m in org["members"]]
            name = f"{self.fake.unique.word().capitalize()} {k}"
            specs.append((org["parameterized_name"], name, "organization", members, members[:1]))
        flows = []
        for n, (org_name, name, mode, members, admins) in enumerate(specs):
            slug = name.lower().replace(" ", "-")
            flows.append(
                {
                    "id": self.fake.uuid4(),
                    "organization_id": orgs[org_name]["id"],
                    "name": name,
                    "parameterized_name": slug,
                    "access_mode": mode,
                    "api_token": self.hex(),
                    "files_id": 151242 + n,
                    "join_hash": self.hex(16),
                    "description": self.fake.sentence(nb_words=6),
                    "disabled": False,
                    "members": [
                        {
                            "user": u,
                            "open": True,
                            "disabled": False,
                            "flow_admin": u in admins,
                            "team_notifications": True,
                        }
                        for u in members
                    ],
                }
            )
        self.world["flows"] = flows

    def oauth_and_sources(self) -> None:
        self.world["oauth_applications"] = [
            {**OAUTH_APP, "icon_url": None, "owner_id": 1},
            {
                **INTEGRATION_APP,
                "icon_url": "https://d2cxspbh1aoie1.cloudfront.net/app-icons/github.png",
                "owner_id": 1,
            },
        ]
        self.world["oauth_tokens"] = []
        main = self.world["flows"][0]
        self.world["sources"] = [
            {
                "id": 1,
                "flow": main["id"],
                "name": "acme/api",
                "flow_token": self.hex(),
                "created_at": EPOCH_MS,
                "updated_at": EPOCH_MS,
                "application_id": 2,
                "creator_id": 1,
                "external_url": "https://github.com/acme/api",
                "configuration_url": None,
                "error_message": "",
                "deleted": False,
            },
            {
                "id": 2,
                "flow": self.world["flows"][1]["id"],
                "name": "acme/web",
                "flow_token": self.hex(),
                "created_at": EPOCH_MS,
                "updated_at": EPOCH_MS,
                "application_id": 2,
                "creator_id": 2,
                "external_url": "https://github.com/acme/web",
                "configuration_url": None,
                "error_message": "",
                "deleted": False,
            },
        ]

    def messages(self) -> None:
        users = {u["id"]: u for u in self.world["users"]}
        messages: list[dict[str, Any]] = []
        threads: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        for flow_index, flow in enumerate(self.world["flows"]):
            members = [m["user"] for m in flow["members"]]
            source = next((s for s in self.world["sources"] if s["flow"] == flow["id"]), None)
            fb = _FlowBuilder(self, flow, members, users, source)
            fb.fill(self.sizes.messages_per_flow, with_file=flow_index == 0)
            messages.extend(fb.messages)
            threads.extend(fb.threads.values())
            files.extend(fb.files)
        self.world["messages"] = messages
        self.world["threads"] = threads
        self.world["files"] = files

    def private(self) -> None:
        convs = []
        for other, count in ((2, 6), (3, 3)):
            msgs = []
            for i in range(1, count + 1):
                sender = 1 if i % 2 else other
                msgs.append(
                    {
                        "id": i,
                        "event": "message",
                        "content": self.fake.sentence(nb_words=8),
                        "user": sender,
                        "sent": self.tick(),
                        "tags": [],
                        "uuid": self.urlsafe(16),
                        "app": "chat",
                    }
                )
            convs.append({"users": [1, other], "open": {"1": True, str(other): other == 2}, "messages": msgs})
        self.world["private_conversations"] = convs

    def invitations(self) -> None:
        flows = self.world["flows"]
        self.world["invitations"] = [
            {
                "id": 1,
                "flow": flows[1]["id"],
                "email": "newcomer@example.com",
                "state": "pending",
                "message": "Join us!",
                "created_at": EPOCH_MS,
            },
            {
                "id": 2,
                "flow": flows[1]["id"],
                "email": self.world["users"][2]["email"],
                "state": "accepted",
                "message": None,
                "created_at": EPOCH_MS,
            },
            {
                "id": 3,
                "flow": flows[0]["id"],
                "email": self.fake.unique.email(),
                "state": "pending",
                "message": None,
                "created_at": EPOCH_MS,
            },
        ]

    def build(self) -> dict[str, Any]:
        self.users()
        self.organizations()
        self.flows()
        self.oauth_and_sources()
        self.messages()
        self.private()
        self.invitations()
        return self.world


class _FlowBuilder:
    """Builds one flow's history: chat threads with replies, statuses, comments, inbox items."""

    def __init__(
        self, b: _Builder, flow: dict[str, Any], members: list[int], users: dict[int, Any], source: Any
    ) -> None:
        self.b, self.flow, self.members, self.users, self.source = b, flow, members, users, source
        self.messages: list[dict[str, Any]] = []
        self.threads: dict[str, dict[str, Any]] = {}
        self.files: list[dict[str, Any]] = []
        self.next_id = 1

    def add(self, event: str, content: Any, user: int, thread_id: str | None, **extra: Any) -> dict[str, Any]:
        sent = self.b.tick()
        msg = {
            "id": self.next_id,
            "event": event,
            "content": content,
            "user": user,
            "sent": sent,
            "tags": extra.pop("tags", []),
            "uuid": self.b.urlsafe(16) if user else self.b.urlsafe(22),
            "app": extra.pop("app", "chat"),
            "thread_id": thread_id,
            "attachments": extra.pop("attachments", []),
            **extra,
        }
        self.next_id += 1
        self.messages.append({"flow": self.flow["id"], **msg})
        if thread_id is not None:
            thread = self.threads[thread_id]
            thread["updated_at"] = sent
            if event == "activity":
                thread["activities"] += 1
            elif event == "discussion":
                thread["external_comments"] += 1
            elif event in ("message", "comment", "file"):
                thread["internal_comments"] += 1
        return msg

    def new_thread(self, title: str, **extra: Any) -> str:
        tid = self.b.urlsafe(27)
        self.threads[tid] = {
            "id": tid,
            "flow": self.flow["id"],
            "title": title,
            "created_at": self.b.clock + 1,
            "updated_at": self.b.clock + 1,
            "initial_message": None,
            "body": "",
            "external_url": None,
            "status": None,
            "fields": [],
            "actions": [],
            "source_id": None,
            "external_thread_id": None,
            "activities": 0,
            "internal_comments": 0,
            "external_comments": 0,
            **extra,
        }
        return tid

    def chat(self, user: int, text: str, tags: list[str] | None = None) -> dict[str, Any]:
        tid = self.new_thread(text[:100])
        msg = self.add("message", text, user, tid, tags=tags or [])
        self.threads[tid]["initial_message"] = msg["id"]
        return msg

    def fill(self, count: int, with_file: bool) -> None:
        fake, members = self.b.fake, self.members

        def pick() -> int:
            return int(fake.random_element(members))

        start = len(self.messages)
        # A mention, a hashtag and a link, with the tags Flowdock would have generated (docs/flowdock.md §5).
        other = members[1] if len(members) > 1 else members[0]
        nick = self.users[other]["nick"]
        self.chat(
            members[0],
            f"@{nick} can you look at https://example.com/build/{fake.random_int(1, 999)} #ci",
            [f":user:{other}", f":unread:{other}", "ci", ":url"],
        )
        self.add("action", {"type": "join", "description": ""}, pick(), None, app=None)
        while len(self.messages) - start < count:
            step = (len(self.messages) - start) % 9
            if step in (0, 4):
                root = self.chat(pick(), fake.sentence(nb_words=fake.random_int(3, 12)))
                for _ in range(fake.random_int(0, 2)):
                    self.add("message", fake.sentence(), pick(), root["thread_id"])
            elif step == 1:
                self.add("status", fake.sentence(nb_words=4), pick(), None)
            elif step == 2:
                parents = [m for m in self.messages if m["event"] == "message"]
                parent = fake.random_element(parents)
                self.add(
                    "comment",
                    {"title": str(parent["content"])[:100], "text": fake.sentence()},
                    pick(),
                    parent["thread_id"],
                    tags=[f"influx:{parent['id']}"],
                )
            elif step in (3, 6) and self.source is not None:
                self.integration_item()
            else:
                self.chat(pick(), fake.sentence(nb_words=fake.random_int(3, 12)))
        if with_file:
            self.upload(members[0])

    def integration_item(self) -> None:
        fake = self.b.fake
        number = fake.random_int(1, 500)
        tid = self.new_thread(
            f"Fix {fake.bs()}",
            body=fake.paragraph(),
            external_url=f"{self.source['external_url']}/pull/{number}",
            status={"color": "green", "value": "open"},
            fields=[{"label": "repository", "value": self.source["name"]}],
            actions=[
                {"@type": "ViewAction", "url": f"{self.source['external_url']}/pull/{number}", "name": "Diff"}
            ],
            source_id=self.source["id"],
            external_thread_id=f"pr-{number}",
        )
        author = {
            "name": fake.name(),
            "avatar": "https://avatars.githubusercontent.com/u/1",
            "email": fake.email(),
        }
        common = {"app": "influx", "author": author, "external_user_name": None}
        self.add("activity", None, 0, tid, title=f"opened pull request #{number}", body=None, **common)
        self.add("discussion", None, 0, tid, title="commented", body=fake.sentence(), **common)

    def upload(self, user: int) -> None:
        data = ("\n".join(self.b.fake.paragraphs(nb=3)) + "\n").encode()
        file_hash = self.b.urlsafe(22)
        name = "release notes.txt"
        meta = {
            "path": f"/files/{self.flow['files_id']}/{file_hash}/{quote(name, safe='')}",
            "file_name": name,
            "file_size": len(data),
            "content_type": "text/plain",
            "content_disposition": f"inline; filename*=UTF-8''{name.replace(' ', '%20')}",
        }
        tid = self.new_thread(f"Uploaded File {name}")
        msg = self.add("file", dict(meta), user, tid, tags=[":file"], attachments=[dict(meta)])
        self.threads[tid]["initial_message"] = msg["id"]
        self.files.append(
            {
                "files_id": self.flow["files_id"],
                "hash": file_hash,
                "file_name": name,
                "content_type": "text/plain",
                "data": base64.b64encode(data).decode("ascii"),
                "flow": self.flow["id"],
                "private": None,
            }
        )


def generate(seed: int = DEFAULT_SEED, sizes: Sizes | None = None) -> dict[str, Any]:
    """A complete world document for ``seed`` and ``sizes``."""
    return _Builder(seed, sizes or Sizes()).build()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mock_server.world", description=__doc__)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--write", metavar="PATH", help="write the document here instead of stdout")
    args = parser.parse_args(argv)
    text = json.dumps(generate(args.seed), indent=1, sort_keys=True) + "\n"
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
