"""``flowdock-mock converse`` end to end (docs/conversations.md): the CLI starts the mock (or uses
``--url``), a fresh world and a fresh bot per convo file with ``run``'s client variables, and
reports: a line per run, JUnit XML (validated against junit-10.xsd), a transcript per run, and
an exit status that is 0 only when every run passed."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from mock_server.app import create_app
from tests.clients.conftest import serve
from tests.clients.nodeclients import COFFEE, NODE_DIR, node_binary
from tests.clients.test_run import MOCK, clean_env
from tests.report_schemas import validate_junit

pytestmark = pytest.mark.client

CONVOS = Path(__file__).resolve().parent / "convos"
ORDER_BOT = [sys.executable, str(Path(__file__).resolve().parent / "scripts" / "order_bot.py")]
TIMEOUT = 180


def converse(*args: str, cwd: Path = CONVOS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MOCK, "converse", *args],
        check=False,
        env={**clean_env(), "NO_PROXY": "127.0.0.1"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_cli__hubot_passes_every_convo_of_a_folder_with_reports(tmp_path: Path) -> None:
    node_binary("hubot-flowdock")
    hubot = [COFFEE, "node_modules/hubot/bin/hubot", "--adapter", "flowdock", "--name", "austin"]
    junit, transcripts = tmp_path / "convos.xml", tmp_path / "transcripts"
    done = converse(
        "--bot", "austin", "--junit", str(junit), "--transcripts", str(transcripts),
        str(CONVOS / "hubot"), "--", *hubot,
        cwd=NODE_DIR,  # hubot loads its scripts from its working directory
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        done.stdout.splitlines() == [line for line in done.stdout.splitlines() if line.startswith("PASS ")]
        and len(done.stdout.splitlines()) == 3
    )
    assert "3 of 3 runs passed (3 convo files)" in done.stderr
    text = junit.read_text(encoding="utf-8")
    validate_junit(text)
    root = ET.fromstring(text)
    assert (root.get("tests"), root.get("failures")) == ("3", "0")
    assert {c.get("name") for c in root.iter("testcase")} == {
        "Deploy twice, the second time in the thread, the service captured from the first answer",
        "Ping gets a PONG in its thread",
        "Ping in private gets a private PONG",
    }
    ping = (transcripts / "Ping-gets-a-PONG-in-its-thread.txt").read_text(encoding="utf-8")
    assert "#bot austin in acme/main (thread): PONG\nPASSED in " in ping


def test_cli__a_failing_convo_exits_1_with_the_step_and_the_transcript(tmp_path: Path) -> None:
    junit = tmp_path / "convos.xml"
    done = converse("--junit", str(junit), "orders/order.convo.txt", "failing", "--", *ORDER_BOT)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("PASS An order number is captured and asked about (")
    assert lines[1] == (
        "FAIL A convo the bot does not pass: step 2 (#bot, line 6): expected 'Order #$number: soup, "
        "confirmed'; the bot said 'Order #100: salad, confirmed'"
    )
    assert "    #bot alice in acme/main: Order #100: salad, confirmed" in lines
    text = junit.read_text(encoding="utf-8")
    validate_junit(text)
    (failure,) = ET.fromstring(text).iter("failure")
    assert failure.get("message", "").startswith("step 2 (#bot, line 6): expected")
    assert "#me  bob in acme/main: order a salad" in (failure.text or "")


def test_cli__each_utterance_variant_runs_with_a_fresh_world_and_bot_per_file() -> None:
    done = converse("orders", "--", *ORDER_BOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split(" (")[0] for line in done.stdout.splitlines()] == [
        "PASS Every greeting is welcomed [GREETING='hello']",
        "PASS Every greeting is welcomed [GREETING='hi']",
        "PASS Every greeting is welcomed [GREETING='good morning']",
        "PASS An order number is captured and asked about",  # order #100 again: a fresh bot
    ]


def test_cli__url_plays_on_a_running_mock_in_worlds_it_removes_afterwards() -> None:
    with serve(create_app()) as live:
        done = converse("--url", live.base_url, "orders/order.convo.txt", "--", *ORDER_BOT)
        assert done.returncode == 0, done.stdout + done.stderr
        worlds = requests.get(f"{live.base_url}/_mock/worlds", timeout=10).json()["worlds"]
        assert [w["id"] for w in worlds] == ["default"]  # the convo's world was removed
        said = [e.body.get("content") for e in live.app.store.events.since(0)]
        assert "order a pizza" not in said  # the default world saw nothing of it


def test_cli__a_bot_that_exits_fails_its_convo_at_once() -> None:
    done = converse("orders/order.convo.txt", "--", sys.executable, "-c", "raise SystemExit(3)")
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        "FAIL An order number is captured and asked about: "
        "the bot exited with status 3 before it opened a stream on the flow"
    )


def test_cli__usage_errors_and_a_command_that_is_not_there(tmp_path: Path) -> None:
    assert converse("orders").returncode == 2  # no -- COMMAND
    bad = tmp_path / "bad.convo.txt"
    bad.write_text("x\n#me\nhi\n#begin\n", encoding="utf-8")
    done = converse(str(bad), "--", "true")
    assert done.returncode == 2 and f"{bad}:4: #begin is not a section this player knows" in done.stderr
    missing = converse("orders/order.convo.txt", "--", "no-such-bot-command")
    assert missing.returncode == 127 and "no-such-bot-command: command not found" in missing.stderr


def test_cli__url_with_a_create_only_token_plays_with_each_worlds_own_token() -> None:
    with serve(create_app(admin_token="admin-secret", create_token="create-secret")) as live:
        done = converse(
            "--url",
            live.base_url,
            "--create-token",
            "create-secret",
            "orders/order.convo.txt",
            "--",
            *ORDER_BOT,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        listed = requests.get(
            f"{live.base_url}/_mock/worlds", headers={"Authorization": "Bearer admin-secret"}, timeout=10
        ).json()["worlds"]
        assert [w["id"] for w in listed] == ["default"]  # removed with its own token
