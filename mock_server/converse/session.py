"""``POST /_mock/converse``: a convo file's runs played in one world, the verdict of each."""

from __future__ import annotations

from typing import Any

from mock_server import errors
from mock_server.converse.player import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_STEP_TIMEOUT,
    Cast,
    Failure,
    Player,
    Result,
    default_me,
    find_flow,
    find_user,
)
from mock_server.converse.script import BOT, Expectation, ScriptError, expand, parse_convo, parse_utterances
from mock_server.runtime import kit
from mock_server.world import MAIN_USER

__all__ = ["main_user", "play"]


def _seconds(request: dict[str, Any], key: str, default: float) -> float:
    value = request.get(key)
    return default if value is None else float(value)


def main_user(store: Any) -> int:
    """The world's main user (the generator's alice), else its first user: the default bot."""
    users = store.users.by_id
    if MAIN_USER["id"] in users or not users:
        return int(str(MAIN_USER["id"]))
    return int(min(users))


async def play(store: Any, hub: Any, request: dict[str, Any]) -> dict[str, Any]:
    """``POST /_mock/converse``: parse the convo and utterances of ``request``, wait for the bot's
    stream, play every run in this world; the verdict (``passed`` and one result per run).

    A file that cannot be played is a 400 naming its line; a bot that never connects fails every
    run with that reason.
    """
    source = str(request.get("name") or "convo")
    try:
        utterances: dict[str, tuple[str, ...]] = {}
        for i, text in enumerate(request.get("utterances") or []):
            name, variants = parse_utterances(str(text), f"utterances[{i}]")
            utterances[name] = variants
        convo = parse_convo(str(request["convo"]), source)
        runs = expand(convo, utterances)
    except ScriptError as bad:
        field = "convo" if bad.source == source else "utterances"
        raise errors.ValidationFailed.field(field, str(bad)) from None
    for step in convo.steps:  # the player matches with RE2 (kit.compile_regex): what it cannot run
        if step.kind == BOT:
            try:
                Expectation(step.text, {}, kit.compile_regex)
            except errors.ValidationFailed as bad:
                why = bad.errors["regex"][0]
                raise errors.ValidationFailed.field(
                    "convo", f"{source}:{step.line}: {step.text} {why}"
                ) from None
    with store.lock:
        bot = find_user(store, request["bot"], "bot") if request.get("bot") is not None else main_user(store)
        flow = find_flow(store, request.get("flow"), bot)
        me = (
            find_user(store, request["me"], "me")
            if request.get("me") is not None
            else default_me(store, bot, flow)
        )
    player = Player(
        store, hub, Cast(bot, me, flow), step_timeout=_seconds(request, "timeout", DEFAULT_STEP_TIMEOUT)
    )
    not_connected = await player.bot_connected(_seconds(request, "connect_timeout", DEFAULT_CONNECT_TIMEOUT))
    results = []
    for run in runs:
        if not_connected:
            result = Result(run.name, run.convo.source, dict(run.variant))
            result.failure = Failure(0, 0, not_connected)
            result.transcript.append(f"FAILED {not_connected}")
        else:
            result = await player.play(run)
        results.append(result.to_dict())
    return {"passed": all(r["passed"] for r in results), "connected": not not_connected, "runs": results}
