"""Kit tag: the bot-testing kit. Inject events, wait on the event log and the open streams, move
the world's clock (runtime/kit.py, store/clock.py). ``world`` (a query parameter) addresses a
world created through /_mock/worlds; without it, the default world."""

from __future__ import annotations

from typing import Any

from mock_server import errors
from mock_server.binding.request_context import request_server
from mock_server.runtime import activity, kit
from mock_server.runtime.worlds import DEFAULT_ID, Worlds
from mock_server.store.clock import OUT_OF_RANGE, in_range
from mock_server.store.timefmt import parse_iso_ms
from mock_server.stream.hub import StreamHub

__all__ = [
    "create_webhook",
    "delete_webhook",
    "generate_activity",
    "get_clock",
    "inject_event",
    "list_activity",
    "list_events",
    "list_webhook_deliveries",
    "list_webhooks",
    "play_conversation",
    "set_clock",
    "stop_activity",
    "wait_for_event",
    "wait_for_stream",
]

TIMED_OUT = "Timed out"


def _store(worlds: Worlds, world: str | None) -> Any:
    return worlds.get(world or DEFAULT_ID).store


def _webhooks(worlds: Worlds, world: str | None) -> Any:
    return worlds.get(world or DEFAULT_ID).runtime.webhooks


def inject_event(worlds: Worlds, body: dict[str, Any], world: str | None = None) -> Any:
    return {"events": kit.inject(_store(worlds, world), body)}, 201


def list_events(worlds: Worlds, after: int = 0, limit: int = 100, world: str | None = None) -> Any:
    store = _store(worlds, world)
    events = store.events.since(after)[-limit:] if limit > 0 else []
    return {"last_id": store.events.last_seq, "events": [kit.listed(e) for e in events]}, 200


def _timed_out(what: str, seen: dict[str, Any]) -> Any:
    return {"message": TIMED_OUT, "errors": {"timeout": [what]}, "seen": seen}, 408


async def wait_for_event(
    worlds: Worlds,
    after: int = 0,
    timeout: float = 5.0,
    flow: str | None = None,
    user: str | None = None,
    event: str | None = None,
    content: str | None = None,
    regex: str | None = None,
    tag: str | None = None,
    thread_id: str | None = None,
    world: str | None = None,
) -> Any:
    store = _store(worlds, world)
    match = kit.EventFilter.build(
        store, flow=flow, user=user, event=event, content=content, regex=regex, tag=tag, thread_id=thread_id
    )
    try:
        return await kit.wait_for_event(store, match, after, timeout), 200
    except kit.WaitTimedOut as gave_up:
        return _timed_out("no event matched the filter in time", gave_up.seen)


async def wait_for_stream(
    worlds: Worlds, user: int, flow: str, timeout: float = 5.0, world: str | None = None
) -> Any:
    try:
        store = _store(worlds, world)
        return await kit.wait_for_stream(StreamHub.of(store), store, user, flow, timeout), 200
    except kit.WaitTimedOut as gave_up:
        return _timed_out("the user opened no stream on the flow in time", gave_up.seen)


async def play_conversation(worlds: Worlds, body: dict[str, Any], world: str | None = None) -> Any:
    """Play a BotiumScript conversation against the bot connected to the world (converse/)."""
    from mock_server.converse import session  # here: the player is ~10 ms of every start

    store = _store(worlds, world)
    return await session.play(store, StreamHub.of(store), body), 200


def get_clock(worlds: Worlds, world: str | None = None) -> Any:
    return _store(worlds, world).clock.to_dict(), 200


def set_clock(worlds: Worlds, body: dict[str, Any], world: str | None = None) -> Any:
    """``{"freeze": bool, "set": ms or ISO 8601, "advance_ms": n, "reset": bool}``, in that order:
    reset, set, advance, then freeze (true) or resume (false)."""
    clock = _store(worlds, world).clock
    at = body.get("set")
    if at is not None:
        try:
            at = in_range(at if isinstance(at, int) else parse_iso_ms(str(at)))
        except (ValueError, OverflowError):
            raise errors.ValidationFailed.field("set", OUT_OF_RANGE) from None
    freeze = body.get("freeze")
    try:  # checked before anything is applied: a refused change leaves the clock as it was
        clock.change(
            reset=bool(body.get("reset")),
            at_ms=at,
            advance_ms=int(body.get("advance_ms") or 0),
            freeze=freeze if isinstance(freeze, bool) else None,
        )
    except ValueError:  # ``set`` is in range (above): where it and ``advance_ms`` lead is not
        raise errors.ValidationFailed.field("advance_ms", OUT_OF_RANGE) from None
    return clock.to_dict(), 200


def list_webhooks(worlds: Worlds, world: str | None = None) -> Any:
    return {"webhooks": _webhooks(worlds, world).registered()}, 200


def create_webhook(worlds: Worlds, body: dict[str, Any], world: str | None = None) -> Any:
    return _webhooks(worlds, world).register(body, via=request_server()), 201


def delete_webhook(worlds: Worlds, webhook: int, world: str | None = None) -> Any:
    _webhooks(worlds, world).delete(webhook)
    return None, 204


async def list_webhook_deliveries(
    worlds: Worlds,
    limit: int | None = None,
    at_least: int = 0,
    timeout: float = 5.0,
    world: str | None = None,
) -> Any:
    """With ``at_least``, first wait (up to ``timeout``) until that many attempts are recorded."""
    hooks = _webhooks(worlds, world)

    def enough() -> bool:
        return len(hooks.list_deliveries()) >= at_least

    if at_least and not await kit.until(hooks.subscribe, enough, timeout):
        seen = {"deliveries": hooks.list_deliveries(limit)}
        return _timed_out(f"fewer than {at_least} delivery attempts in time", seen)
    return {"deliveries": hooks.list_deliveries(limit)}, 200


def list_activity(worlds: Worlds, world: str | None = None) -> Any:
    return {"schedules": worlds.get(world or DEFAULT_ID).runtime.activity.list()}, 200


def generate_activity(worlds: Worlds, body: dict[str, Any], world: str | None = None) -> Any:
    """One ``activity.user`` now, or a schedule of them (runtime/activity.py)."""
    found = worlds.get(world or DEFAULT_ID)
    store = found.store
    with store.lock:
        user = kit.user_id(store, body["user"], "user")
        flow_id = kit.joined_flow(store, str(body["flow"]), user).id
    kind = body.get("kind", "presence")
    typing = body.get("typing", True)
    if "every_s" in body:
        schedule = found.runtime.activity.start(
            user, flow_id, kind, body["every_s"], body.get("count"), typing
        )
        return {"schedule": schedule}, 201
    return {"events": [activity.emit(store, user, flow_id, kind, typing)]}, 201


def stop_activity(worlds: Worlds, schedule: int, world: str | None = None) -> Any:
    worlds.get(world or DEFAULT_ID).runtime.activity.cancel(schedule)
    return None, 204
