"""Playing conversations against a bot connected to one world (in the server, on its event loop).

The player speaks through the kit (runtime/kit.py ``inject``: the message is stored and streamed
as if a person had posted it) and listens on the world's event log (``wait_for_event``: it
answers as soon as the bot's message is written, never by polling). Before the first run it waits
until the bot has an open stream carrying the flow (``wait_for_stream`` on the world's hub).

Each ``#bot`` step takes the bot's next ``message`` or ``comment`` after the previous step: in the
flow, in a thread, or privately to the speaker, wherever the bot put it (a ``#bot`` header's place
words make the place part of the check). A step that waits longer than the step timeout fails with
what the bot and everyone else wrote meanwhile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_server import errors
from mock_server.converse.script import BOT, PRIVATE, THREAD, Expectation, Run, Step, substitute
from mock_server.runtime import kit

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.flows import Flow

DEFAULT_STEP_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 30.0
SEEN_SHOWN = 10
"""Events a failed step lists (the newest)."""


@dataclass
class Failure:
    step: int
    """1-based index of the failing step in the run (0: before the first step)."""
    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "line": self.line, "message": self.message}


@dataclass
class Result:
    """The verdict of one run, with its transcript."""

    name: str
    source: str
    variant: dict[str, str]
    transcript: list[str] = field(default_factory=list)
    failure: Failure | None = None
    seconds: float = 0.0
    captures: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "variant": self.variant,
            "passed": self.passed,
            "failure": None if self.failure is None else self.failure.to_dict(),
            "seconds": round(self.seconds, 3),
            "captures": self.captures,
            "transcript": self.transcript,
        }


class StepFailed(Exception):
    pass


# --- who and where ---------------------------------------------------------------------------------
def find_user(store: Store, ref: Any, name: str) -> int:
    """A user by id, nick (any case, ``@`` optional) or email; 400 naming ``name`` otherwise."""
    users = store.users.by_id
    text = str(ref).strip().removeprefix("@")
    if text.isdigit() and int(text) in users:
        return int(text)
    for user in users.values():
        if text.lower() in (user.nick.lower(), user.email.lower()):
            return user.id
    raise errors.ValidationFailed.field(
        name, f"no user {ref!r} in this world (give an id, a nick or an email)"
    )


def flow_path(store: Store, flow: Flow) -> str:
    org = store.organizations.by_id.get(flow.organization_id)
    return f"{org.parameterized_name if org else flow.organization_id}/{flow.parameterized_name}"


def find_flow(store: Store, ref: str | None, bot: int, name: str = "flow") -> Flow:
    """``ref`` (an id, ``org/flow``, or a flow name in the bot's organizations), or the first flow
    the bot joined; 400 when there is none."""
    if ref is None:
        joined = store.flows.joined_by(bot)
        if not joined:
            raise errors.ValidationFailed.field(name, "the bot has joined no flow; name one")
        return joined[0]
    ref = ref.strip().lstrip("#")
    if ref in store.flows.by_id:
        return store.flows.by_id[ref]
    if "/" in ref:
        org, _, flow_name = ref.partition("/")
        found = store.flows.find(org, flow_name)
    else:
        found = next(
            (f for f in store.flows.joined_by(bot) if ref in (f.parameterized_name, f.name)),
            None,
        ) or next((f for f in store.flows.by_id.values() if f.parameterized_name == ref), None)
    if found is None:
        raise errors.ValidationFailed.field(name, f"no flow {ref!r} in this world")
    return found


def default_me(store: Store, bot: int, flow: Flow) -> int:
    """The second user when it is in the flow, else the flow's first other member."""
    members = sorted(u for u in flow.members if flow.is_member(u) and u != bot)
    if 2 in members:
        return 2
    if not members:
        raise errors.ValidationFailed.field("me", "the flow has no member besides the bot; name one")
    return members[0]


# --- playing ---------------------------------------------------------------------------------------
@dataclass
class Cast:
    """Who plays: the bot, the default speaker and the default flow."""

    bot: int
    me: int
    flow: Flow


def _summary(store: Store, body: dict[str, Any]) -> str:
    user = store.users.by_id.get(int(body["user"])) if str(body.get("user", "")).isdigit() else None
    who = user.nick if user else f"user {body.get('user')}"
    place = _place(store, body)
    text = kit.text_of(body) if body.get("event") in ("message", "comment") else f"<{body.get('event')}>"
    return f"{who}{place}: {text}"


def _place(store: Store, body: dict[str, Any]) -> str:
    if "to" in body and "flow" not in body:
        return " (private)"
    flow = store.flows.by_id.get(str(body.get("flow")))
    where = f" in {flow_path(store, flow)}" if flow else ""
    return where + " (thread)" if _in_thread(body) else where


class Player:
    """Plays runs in one world, one after another; ``Result`` per run."""

    def __init__(
        self, store: Store, hub: Any, cast: Cast, *, step_timeout: float = DEFAULT_STEP_TIMEOUT
    ) -> None:
        self.store = store
        self.hub = hub
        self.cast = cast
        self.step_timeout = step_timeout

    async def bot_connected(self, timeout: float) -> str | None:
        """None once the bot has a stream carrying the flow; else why not."""
        path = flow_path(self.store, self.cast.flow)
        try:
            await kit.wait_for_stream(self.hub, self.store, self.cast.bot, self.cast.flow.id, timeout)
        except kit.WaitTimedOut as gave_up:
            nick = self.store.users.by_id[self.cast.bot].nick
            streams = gave_up.seen.get("streams") or []
            return (
                f"the bot ({nick}, user {self.cast.bot}) opened no stream on {path} within {timeout:g} s; "
                f"open streams: {len(streams)}"
            )
        return None

    async def play(self, run: Run) -> Result:
        result = Result(run.name, run.convo.source, dict(run.variant))
        started = time.perf_counter()
        state = _State(cursor=self.store.events.last_seq)
        bot = self.store.users.by_id[self.cast.bot]
        result.transcript.append(
            f"conversation: {run.name} ({run.convo.source}); bot: {bot.nick}; "
            f"flow: {flow_path(self.store, self.cast.flow)}"
        )
        for index, step in enumerate(run.steps, 1):
            try:
                if step.kind == BOT:
                    await self._bot(step, state, result)
                else:
                    self._me(step, state, result)
            except StepFailed as failed:
                result.failure = Failure(
                    index, step.line, f"step {index} ({step.header}, line {step.line}): {failed}"
                )
                result.transcript.append(f"FAILED {result.failure.message}")
                break
            except errors.FlowdockError as refused:
                why = "; ".join(f"{k}: {', '.join(v)}" for k, v in refused.errors.items())
                message = (
                    f"step {index} ({step.header}, line {step.line}): the mock refused it: "
                    f"{refused.status} {refused.message}" + (f" ({why})" if why else "")
                )
                result.failure = Failure(index, step.line, message)
                result.transcript.append(f"FAILED {message}")
                break
        result.seconds = time.perf_counter() - started
        result.captures = dict(state.captures)
        if result.passed:
            result.transcript.append(f"PASSED in {result.seconds:.2f} s")
        return result

    # --- #me ------------------------------------------------------------------------------------
    def _me(self, step: Step, state: _State, result: Result) -> None:
        store = self.store
        text, missing = substitute(step.text, state.captures)
        if missing:
            raise StepFailed(f"uses ${missing[0]}, which no earlier #bot line captured")
        user = find_user(store, step.nick, "me") if step.nick else self.cast.me
        request: dict[str, Any] = {"event": "message", "user": user, "content": text}
        if step.where == PRIVATE:
            request["to"] = self.cast.bot
        else:
            flow = find_flow(store, step.flow, self.cast.bot) if step.flow else self.cast.flow
            request["flow"] = flow.id
            if step.where == THREAD:
                if state.thread is None or state.thread[0] != flow.id:
                    raise StepFailed(
                        "says 'thread' but no message of this conversation started one in the flow yet"
                    )
                request["thread_id"] = state.thread[1]
        emitted = kit.inject(store, request)
        message = next(e for e in emitted if e["event"].get("event") == "message")
        body = message["event"]
        state.cursor = max(e["id"] for e in emitted)
        if body.get("flow") and body.get("thread_id"):
            state.thread = (str(body["flow"]), str(body["thread_id"]))
        result.transcript.append(f"#me  {_summary(store, body)}")

    # --- #bot -----------------------------------------------------------------------------------
    async def _bot(self, step: Step, state: _State, result: Result) -> None:
        store = self.store
        match = kit.EventFilter(user=str(self.cast.bot), events=frozenset({"message", "comment"}))
        try:
            found = await kit.wait_for_event(store, match, state.cursor, self.step_timeout)
        except kit.WaitTimedOut as gave_up:
            seen = [_summary(store, e["event"]) for e in gave_up.seen["events"] if "user" in e["event"]]
            shown = "; ".join(seen[-SEEN_SHOWN:]) or "nothing"
            raise StepFailed(
                f"the bot said nothing within {self.step_timeout:g} s; expected {self._expected(step, state)}; "
                f"seen meanwhile: {shown}"
            ) from None
        state.cursor = int(found["id"])
        body = found["event"]
        said = kit.text_of(body)
        result.transcript.append(f"#bot {_summary(store, body)}")
        if body.get("flow") and body.get("thread_id"):
            state.thread = (str(body["flow"]), str(body["thread_id"]))
        self._check_place(step, body, state)
        texts = step.variants or (step.text,)
        captured: dict[str, str] | None = None
        expectations = [Expectation(text, state.captures, kit.compile_regex) for text in texts]
        if step.text or step.variants:
            for expectation in expectations:
                captured = expectation.match(said)
                if captured is not None:
                    break
        else:
            captured = {}  # an empty #bot block: any message
        if step.negate:
            if captured is not None:
                raise StepFailed(f"the bot said {said!r}, which must not match {self._expected(step, state)}")
            return
        if captured is None:
            raise StepFailed(f"expected {self._expected(step, state)}; the bot said {said!r}")
        state.captures.update(captured)

    def _expected(self, step: Step, state: _State) -> str:
        if step.variants:
            return "one of " + ", ".join(repr(v) for v in step.variants)
        if not step.text:
            return "any message"
        return Expectation(step.text, state.captures, kit.compile_regex).describe()

    def _check_place(self, step: Step, body: dict[str, Any], state: _State) -> None:
        private = "flow" not in body
        if step.where == PRIVATE and not private:
            raise StepFailed(f"expected a private message; the bot wrote{_place(self.store, body)}")
        if step.where != PRIVATE and (step.where or step.flow) and private:
            raise StepFailed("expected an answer in a flow; the bot wrote privately")
        if step.flow:
            flow = find_flow(self.store, step.flow, self.cast.bot)
            if str(body.get("flow")) != flow.id:
                raise StepFailed(
                    f"expected an answer in {flow_path(self.store, flow)}; the bot wrote{_place(self.store, body)}"
                )
        if step.where == THREAD and not _in_thread(body):
            raise StepFailed(f"expected an answer in a thread; the bot wrote{_place(self.store, body)}")


def _in_thread(body: dict[str, Any]) -> bool:
    """A comment, or a message in a thread it did not start."""
    if body.get("event") == "comment":
        return True
    thread = body.get("thread") or {}
    return bool(body.get("thread_id")) and thread.get("initial_message") not in (None, body.get("id"))


@dataclass
class _State:
    cursor: int
    captures: dict[str, str] = field(default_factory=dict)
    thread: tuple[str, str] | None = None
    """(flow id, thread id) of the conversation's latest flow message."""
