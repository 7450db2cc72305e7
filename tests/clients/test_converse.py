"""Conversation tests with real bots (docs/conversations.md): BotiumScript convos in
tests/clients/convos played against a real hubot (hubot-flowdock, scripts ping.js and deploy.js)
and a Python bot on flowdock-api-wrapper (tests/clients/scripts/order_bot.py), through the pytest
plugin's ``flowdock_mock.converse`` (POST /_mock/converse). Each bot is started with the client
variables of ``flowdock-mock run``; the player waits for its stream, never sleeps."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server.pytest_plugin import ConversationFailed, FlowdockMock
from mock_server.runner import client_environment
from tests.clients.conftest import LiveServer
from tests.clients.nodeclients import Process, launch_hubot

pytestmark = pytest.mark.client

CONVOS = Path(__file__).resolve().parent / "convos"
ORDER_BOT = Path(__file__).resolve().parent / "scripts" / "order_bot.py"
AUSTIN = 3
"""The hubot's Flowdock account (the seeded world's third user, nick austin)."""
CONNECT = 30.0


def bot_env(mock: FlowdockMock, user_id: int) -> dict[str, str]:
    """What ``flowdock-mock run`` gives a client, for ``user_id`` instead of the main user."""
    user = mock.app.store.users.by_id[user_id]
    creds = {"api_token": user.api_token, "email": user.email, "password": user.password}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWDOCK_", "HUBOT_"))}
    return {**env, **client_environment(mock.base_url, creds, None), "NO_PROXY": "127.0.0.1"}


@pytest.fixture
def hubot(flowdock_mock: FlowdockMock) -> Iterator[Process]:
    bot = launch_hubot(LiveServer(flowdock_mock.base_url, flowdock_mock.app), AUSTIN)
    yield bot
    bot.stop()
    flowdock_mock.app.streams.close_all("test ended")


@pytest.fixture
def order_bot(flowdock_mock: FlowdockMock) -> Iterator[Process]:
    bot = Process([sys.executable, str(ORDER_BOT)], bot_env(flowdock_mock, 1), ORDER_BOT.parent)
    yield bot
    bot.stop()
    flowdock_mock.app.streams.close_all("test ended")


def play(mock: FlowdockMock, name: str, **options: Any) -> dict[str, Any]:
    options.setdefault("connect_timeout", CONNECT)
    return mock.converse(CONVOS / name, **options)


# --- hubot ------------------------------------------------------------------------------------------
def test_hubot__ping_is_answered_in_its_thread(flowdock_mock: FlowdockMock, hubot: Process) -> None:
    verdict = play(flowdock_mock, "hubot/ping.convo.txt", bot="austin")
    (run,) = verdict["runs"]
    assert verdict["passed"] and run["passed"], run
    assert run["name"] == "Ping gets a PONG in its thread"
    assert run["transcript"][1].startswith("#me  bob in acme/main: austin ping")
    assert run["transcript"][2] == "#bot austin in acme/main (thread): PONG"


def test_hubot__a_capture_is_reused_in_the_thread(flowdock_mock: FlowdockMock, hubot: Process) -> None:
    verdict = play(flowdock_mock, "hubot/deploy.convo.txt", bot=AUSTIN)
    (run,) = verdict["runs"]
    assert run["passed"], run
    assert run["captures"] == {"service": "api"}
    assert "#me  bob in acme/main (thread): @austin deploy api-canary" in run["transcript"]


def test_hubot__private_ping_gets_a_private_pong(flowdock_mock: FlowdockMock, hubot: Process) -> None:
    verdict = play(flowdock_mock, "hubot/private.convo.txt", bot="austin", me="alice")
    (run,) = verdict["runs"]
    assert run["passed"], run
    assert run["transcript"][1:3] == ["#me  alice (private): ping", "#bot austin (private): PONG"]


# --- a Python bot -------------------------------------------------------------------------------------
def test_python_bot__every_utterance_variant_is_its_own_run(
    flowdock_mock: FlowdockMock, order_bot: Process
) -> None:
    verdict = play(flowdock_mock, "orders/greeting.convo.txt")
    assert verdict["passed"], verdict
    assert [r["variant"] for r in verdict["runs"]] == [
        {"GREETING": "hello"},
        {"GREETING": "hi"},
        {"GREETING": "good morning"},
    ]
    assert [r["transcript"][1] for r in verdict["runs"]] == [
        "#me  bob in acme/main: hello",
        "#me  bob in acme/main: hi",
        "#me  bob in acme/main: good morning",
    ]


def test_python_bot__a_captured_order_number_is_asked_about_and_a_negation_holds(
    flowdock_mock: FlowdockMock, order_bot: Process
) -> None:
    verdict = play(flowdock_mock, "orders/order.convo.txt")
    (run,) = verdict["runs"]
    assert run["passed"], run
    assert run["captures"] == {"number": "100"}
    assert "#me  bob in acme/main: status of 100" in run["transcript"]
    assert run["transcript"][-2] == "#bot alice in acme/main: Sorry, I did not get that"


def test_python_bot__a_failing_convo_says_which_step_what_was_expected_and_what_came(
    flowdock_mock: FlowdockMock, order_bot: Process
) -> None:
    with pytest.raises(ConversationFailed) as failed:
        play(flowdock_mock, "failing/wrong.convo.txt")
    (run,) = failed.value.verdict["runs"]
    assert run["failure"] == {
        "step": 2,
        "line": 6,
        "message": "step 2 (#bot, line 6): expected 'Order #$number: soup, confirmed'; "
        "the bot said 'Order #100: salad, confirmed'",
    }
    text = str(failed.value)
    assert "A convo the bot does not pass (wrong.convo.txt): step 2 (#bot, line 6)" in text
    assert "#bot alice in acme/main: Order #100: salad, confirmed" in text


def test_no_bot__every_run_fails_with_why(flowdock_mock: FlowdockMock) -> None:
    verdict = play(flowdock_mock, "orders/greeting.convo.txt", check=False, connect_timeout=0.2)
    assert not verdict["passed"] and len(verdict["runs"]) == 3
    assert verdict["runs"][0]["failure"]["message"] == (
        "the bot (alice, user 1) opened no stream on acme/main within 0.2 s; open streams: 0"
    )


def test_http__a_convo_that_cannot_be_played_is_400_naming_its_line(flowdock_mock: FlowdockMock) -> None:
    status, answer, _ = flowdock_mock._kit()[0].exchange(
        "POST", "/converse", {"convo": "x\n#me\nhi\n#bot\n/(/", "name": "bad.convo.txt"}
    )
    assert status == 400
    assert answer["errors"]["convo"][0].startswith("bad.convo.txt:4: /(/ is not a valid regular expression")
    status, answer, _ = flowdock_mock._kit()[0].exchange(
        "POST", "/converse", {"convo": "#me\nhi", "bot": "nobody"}
    )
    assert status == 400 and "no user 'nobody'" in answer["errors"]["bot"][0]


def test_python_bot__a_speaker_the_world_lacks_fails_the_step_with_why(
    flowdock_mock: FlowdockMock, order_bot: Process, tmp_path: Path
) -> None:
    convo = tmp_path / "who.convo.txt"
    convo.write_text("Who speaks\n\n#me hello\nhi\n\n#me @zed\nhi\n", encoding="utf-8")
    verdict = flowdock_mock.converse(convo, connect_timeout=CONNECT, check=False)
    (run,) = verdict["runs"]
    assert run["failure"]["message"].startswith(
        "step 1 (#me hello, line 3): the mock refused it: 400 Validation error (me: no user 'hello'"
    )
