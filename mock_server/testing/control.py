"""The bot-testing kit and worlds on a running mock, over its control API (``/_mock``, through
``mock_server.control_client``) with the standard library only: shared by the pytest plugin
(``mock_server.pytest_plugin``) and the Testcontainers module (``mock_server.testing.container``),
and usable from any test runner.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_server.control_client import HTTP_TIMEOUT, ControlAPI


class _AsMainUser:
    """What a test needs to call the mock as the main user: ``base_url`` and ``user`` given."""

    base_url: str
    user: dict[str, Any]

    @property
    def api_token(self) -> str:
        return str(self.user["api_token"])

    @property
    def auth(self) -> tuple[str, str]:
        """HTTP Basic credentials for requests/httpx: the main user's API token, empty password."""
        return (self.api_token, "")

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")


# --- the bot-testing kit: the same calls as the README's curl lines -------------------------------
class WaitTimedOut(AssertionError):
    """A kit wait ran out of time; ``seen`` is what the mock saw meanwhile (its 408 body)."""

    def __init__(self, what: str, seen: Any) -> None:
        super().__init__(f"flowdock-mock: {what} timed out; seen: {json.dumps(seen)[:2000]}")
        self.seen = seen


class ConversationFailed(AssertionError):
    """A conversation did not pass; ``verdict`` is what ``POST /_mock/converse`` answered."""

    def __init__(self, verdict: dict[str, Any]) -> None:
        from mock_server.converse.report import failures

        super().__init__("flowdock-mock: the conversation failed:\n" + failures(verdict))
        self.verdict = verdict


def _query(params: dict[str, Any]) -> str:
    given = {k: v for k, v in params.items() if v is not None}
    return ("?" + urllib.parse.urlencode(given)) if given else ""


class Webhooks:
    """``/_mock/webhooks`` of one world: register, list, remove, and the delivery attempts."""

    def __init__(self, control: ControlAPI, world: str | None) -> None:
        self.control, self.world = control, world

    def register(
        self, url: str, secret: str, flows: list[str] | None = None, events: list[str] | None = None
    ) -> dict[str, Any]:
        body = {"url": url, "secret": secret, "flows": flows or [], "events": events or []}
        return dict(self.control.call("POST", "/webhooks" + _query({"world": self.world}), body))

    def registered(self) -> list[dict[str, Any]]:
        """The registered webhooks (secrets not shown)."""
        return list(self.control.call("GET", "/webhooks" + _query({"world": self.world}))["webhooks"])

    def delete(self, webhook_id: int) -> None:
        self.control.call("DELETE", f"/webhooks/{webhook_id}" + _query({"world": self.world}))

    def deliveries(self, at_least: int = 0, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Every attempt; with ``at_least``, once that many are recorded (WaitTimedOut otherwise)."""
        path = "/webhooks/deliveries" + _query(
            {"at_least": at_least or None, "timeout": timeout if at_least else None, "world": self.world}
        )
        status, answer, text = self.control.exchange("GET", path, timeout=timeout + HTTP_TIMEOUT)
        if status == 408:
            raise WaitTimedOut(f"{at_least} webhook deliveries", answer.get("seen") if answer else text)
        if status >= 400:
            raise RuntimeError(f"flowdock-mock: GET /_mock{path} answered {status}: {text}")
        return list(answer["deliveries"])


class Clock:
    """``/_mock/clock`` of one world."""

    def __init__(self, control: ControlAPI, world: str | None) -> None:
        self.control, self.world = control, world

    def _change(self, **body: Any) -> dict[str, Any]:
        return dict(self.control.call("POST", "/clock" + _query({"world": self.world}), body))

    def now(self) -> int:
        """Epoch milliseconds on the world's clock."""
        return int(self.control.call("GET", "/clock" + _query({"world": self.world}))["now"])

    def set(self, at: int | str) -> dict[str, Any]:
        """Jump to ``at`` (epoch milliseconds or ISO 8601 with an offset)."""
        return self._change(set=at)

    def advance(self, seconds: float = 0, *, ms: int = 0) -> dict[str, Any]:
        return self._change(advance_ms=int(seconds * 1000) + ms)

    def freeze(self) -> dict[str, Any]:
        return self._change(freeze=True)

    def resume(self) -> dict[str, Any]:
        return self._change(freeze=False)

    def reset(self) -> dict[str, Any]:
        return self._change(reset=True)


class Kit:
    """The bot-testing kit on a mock or a world: play other users, wait instead of sleeping, move
    time. Each method is one control route (docs/bot-testing.md)."""

    def _kit(self) -> tuple[ControlAPI, str | None]:
        raise NotImplementedError

    def inject(
        self,
        event: str,
        as_user: int,
        flow: str | None = None,
        *,
        to: int | None = None,
        content: Any = None,
        unknown: bool = False,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        """``POST /_mock/events``: the events emitted, each ``{"id": log id, "event": body}``.
        ``tags``, ``thread_id``, ``uuid``, ``message`` go in the request; other ``fields`` into
        the event body."""
        control, world = self._kit()
        body: dict[str, Any] = {"event": event, "user": as_user, "content": content}
        if flow is not None:
            body["flow"] = flow
        if to is not None:
            body["to"] = to
        if unknown:
            body["unknown"] = True
        for key in ("tags", "thread_id", "uuid", "message"):
            if key in fields:
                body[key] = fields.pop(key)
        if fields:
            body["fields"] = fields
        return list(control.call("POST", "/events" + _query({"world": world}), body)["events"])

    def say(self, as_user: int, flow: str, content: str, **fields: Any) -> dict[str, Any]:
        """A chat message from ``as_user`` in ``flow`` (id or ``org/flow``): the stored message."""
        events = self.inject("message", as_user, flow, content=content, **fields)
        return dict(next(e["event"] for e in events if e["event"]["event"] == "message"))

    def last_event_id(self) -> int:
        """The newest event's id: take it before acting, then wait ``after`` it."""
        control, world = self._kit()
        return int(control.call("GET", "/events" + _query({"limit": 0, "world": world}))["last_id"])

    def _wait(self, what: str, path: str, params: dict[str, Any], timeout: float) -> Any:
        control, world = self._kit()
        full = path + _query({**params, "timeout": timeout, "world": world})
        status, answer, text = control.exchange("GET", full, timeout=timeout + HTTP_TIMEOUT)
        if status == 408:
            raise WaitTimedOut(what, answer.get("seen") if answer else text)
        if status >= 400:
            raise RuntimeError(f"flowdock-mock: GET /_mock{full} answered {status}: {text}")
        return answer

    def wait_for_stream(self, user: int, flow: str, timeout: float = 5.0) -> dict[str, Any]:
        """Until ``user`` has an open stream carrying ``flow``: that stream."""
        return dict(self._wait("wait for a stream", "/waits/stream", {"user": user, "flow": flow}, timeout))

    def wait_for_event(self, after: int = 0, timeout: float = 5.0, **filters: Any) -> dict[str, Any]:
        """Until an event after ``after`` matches every filter (``flow``, ``user``, ``event``,
        ``content``, ``regex``, ``tag``, ``thread_id``): ``{"id": log id, "event": body}``."""
        return dict(self._wait("wait for an event", "/waits/event", {"after": after, **filters}, timeout))

    def wait_for_message(self, after: int = 0, timeout: float = 5.0, **filters: Any) -> dict[str, Any]:
        """``wait_for_event`` for a ``message`` or ``comment``: the message's body."""
        filters.setdefault("event", "message,comment")
        return dict(self.wait_for_event(after, timeout, **filters)["event"])

    def converse(
        self,
        path: str | os.PathLike[str],
        *,
        bot: int | str | None = None,
        me: int | str | None = None,
        flow: str | None = None,
        timeout: float = 5.0,
        connect_timeout: float = 30.0,
        utterances: list[str | os.PathLike[str]] | None = None,
        check: bool = True,
    ) -> dict[str, Any]:
        """Play the BotiumScript conversation ``path`` (a ``*.convo.txt``) against the bot
        connected here (``POST /_mock/converse``, docs/conversations.md): the verdict. The
        ``*.utterances.txt`` files next to it are sent along unless ``utterances`` names others.
        ``bot`` and ``me`` are user ids, nicks or emails. A failed conversation raises
        ``ConversationFailed`` with the failing step and the transcript (``check=False``: returned)."""
        from mock_server.converse.script import expand, parse_convo, parse_utterances

        convo = Path(path)
        files = sorted(convo.parent.glob("*.utterances.txt")) if utterances is None else map(Path, utterances)
        body: dict[str, Any] = {
            "convo": convo.read_text(encoding="utf-8"),
            "name": convo.name,
            "utterances": [f.read_text(encoding="utf-8") for f in files],
            "timeout": timeout,
            "connect_timeout": connect_timeout,
        }
        body.update({k: v for k, v in {"bot": bot, "me": me, "flow": flow}.items() if v is not None})
        runs = expand(parse_convo(body["convo"], convo.name), dict(map(parse_utterances, body["utterances"])))
        waits = sum(1 for run in runs for step in run.steps if step.kind == "bot")
        control, world = self._kit()
        status, answer, text = control.exchange(
            "POST",
            "/converse" + _query({"world": world}),
            body,
            timeout=connect_timeout + waits * timeout + HTTP_TIMEOUT,
        )
        if status >= 400:
            raise RuntimeError(f"flowdock-mock: POST /_mock/converse answered {status}: {text}")
        if check and not answer["passed"]:
            raise ConversationFailed(answer)
        return dict(answer)

    def activity(
        self,
        as_user: int,
        flow: str,
        kind: str = "presence",
        *,
        typing: bool | str = True,
        every_s: float | None = None,
        count: int | None = None,
    ) -> dict[str, Any]:
        """``POST /_mock/activity``: ``activity.user`` from ``as_user`` in ``flow`` (``presence``,
        or ``typing``: true, false or a thread id). Without ``every_s``, one event now:
        ``{"events": [...]}``; with it, a schedule (``count`` events, or until ``stop_activity``):
        ``{"schedule": {...}}``."""
        control, world = self._kit()
        body: dict[str, Any] = {"user": as_user, "flow": flow, "kind": kind}
        if kind == "typing":
            body["typing"] = typing
        if every_s is not None:
            body["every_s"] = every_s
        if count is not None:
            body["count"] = count
        return dict(control.call("POST", "/activity" + _query({"world": world}), body))

    def stop_activity(self, schedule_id: int) -> None:
        """Stop a schedule ``activity`` started."""
        control, world = self._kit()
        control.call("DELETE", f"/activity/{schedule_id}" + _query({"world": world}))

    @property
    def webhooks(self) -> Webhooks:
        return Webhooks(*self._kit())

    @property
    def clock(self) -> Clock:
        return Clock(*self._kit())


@dataclass
class FlowdockWorld(_AsMainUser, Kit):
    """A world of one's own on a mock server: its id, where the server is, and its credentials.

    ``credentials`` is what ``POST /_mock/worlds`` answered (users with email, password and API
    token; OAuth applications; flows with their Push API tokens; sources with their flow tokens).
    """

    id: str
    base_url: str
    credentials: dict[str, Any]
    user: dict[str, Any]
    """The main user (alice) of this world: ``email``, ``password``, ``api_token``, ``id``..."""
    second_user: dict[str, Any]
    """The second user (bob) of this world, same keys."""
    control: ControlAPI = field(repr=False)

    def reset(self) -> None:
        """Back to the world as it was created (same credentials), no faults, empty journal."""
        self.control.call("POST", f"/worlds/{self.id}/reset")
        self.control.call("DELETE", f"/worlds/{self.id}/faults")
        self.control.call("DELETE", f"/worlds/{self.id}/requests")

    def requests(self) -> list[dict[str, Any]]:
        """This world's request journal, oldest first."""
        return list(self.control.call("GET", f"/worlds/{self.id}/requests")["requests"])

    def state(self) -> dict[str, Any]:
        """This world's whole state as a world document."""
        return dict(self.control.call("GET", f"/worlds/{self.id}/state"))

    def delete(self) -> None:
        self.control.call("DELETE", f"/worlds/{self.id}")

    def _kit(self) -> tuple[ControlAPI, str | None]:
        return self.control, self.id


def create_world(control: ControlAPI, options: dict[str, Any] | None = None) -> FlowdockWorld:
    """``POST /_mock/worlds`` with ``options`` as its body: a new world and its credentials."""
    answer = control.call("POST", "/worlds", options or {})
    users = {u["id"]: u for u in answer["credentials"]["users"]}
    ids = sorted(users)  # alice (1) and bob (2) in generated worlds; the first two otherwise
    first, second = users[ids[0]], users[ids[1] if len(ids) > 1 else ids[0]]
    # The world's own control token opens its routes whatever token created it (a server older
    # than control tokens answers none: then the creating token goes on).
    own = ControlAPI(control.base_url, answer.get("control_token") or control.admin_token)
    return FlowdockWorld(answer["id"], control.base_url, answer["credentials"], first, second, own)
