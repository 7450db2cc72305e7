"""What the documentation's examples leave to the reader, so that the examples run as written.

- ``MyBot`` (docs/pytest.md, docs/worlds.md): the reader's bot object, announcing in ``acme/main``.
- the reader's bot, running (``<!-- docs-test: bot NICK -->`` on a block): ``python stand_ins.py``
  streams ``acme/main`` as the user whose API token it is given (``FLOWDOCK_API_URL``,
  ``HUBOT_FLOWDOCK_API_TOKEN``, as a hubot adapter reads them) and answers a message that names
  it, in the message's thread: ``... deploy api`` with ``deploying api``, ``... ping`` with ``PONG``.

The docs test (tests/docs/test_examples.py) copies this module next to the examples it runs; a
pytest example starts with ``from stand_ins import *``. Keep each stand-in the smallest thing that
does what the example's prose says the reader's own code does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import requests

__all__ = ["MyBot", "running_bot"]

FLOW = "acme/main"
TIMEOUT = 10


class MyBot:
    """The reader's bot (docs/pytest.md, docs/worlds.md): announces in ``acme/main`` with its token."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url
        self.token = token

    def announce(self, text: str) -> None:
        answer = requests.post(
            f"{self.api_url}/flows/{FLOW}/messages",
            auth=(self.token, ""),
            json={"event": "message", "content": text},
            timeout=TIMEOUT,
        )
        answer.raise_for_status()


def reply(nick: str, content: str) -> str | None:
    """The bot's answer to ``content``, or None when it is not named or not asked anything it knows."""
    if not re.search(rf"(^|@){re.escape(nick)}\b", content, re.IGNORECASE):
        return None
    if deploy := re.search(r"\bdeploy\s+(\S+)", content):
        return f"deploying {deploy[1]}"
    if re.search(r"\bping\b", content, re.IGNORECASE):
        return "PONG"
    return None


def main() -> None:
    """Stream the flow and answer, until killed (the docs test stops the process)."""
    api, auth = os.environ["FLOWDOCK_API_URL"], (os.environ["HUBOT_FLOWDOCK_API_TOKEN"], "")
    me = requests.get(f"{api}/user", auth=auth, timeout=TIMEOUT).json()
    with requests.get(
        f"{api}/stream/flows/{FLOW}", auth=auth, stream=True, timeout=(TIMEOUT, None)
    ) as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            if not line.strip():
                continue  # a keep-alive
            event = json.loads(line)
            if event.get("event") != "message" or str(event.get("user")) == str(me["id"]):
                continue
            answer = reply(me["nick"], str(event.get("content", "")))
            if answer is not None:
                requests.post(
                    f"{api}/flows/{FLOW}/messages",
                    auth=auth,
                    json={"event": "message", "content": answer, "thread_id": event["thread_id"]},
                    timeout=TIMEOUT,
                ).raise_for_status()


@contextmanager
def running_bot(api_url: str, token: str) -> Iterator[subprocess.Popen[bytes]]:
    """The stand-in bot in a child process for the block; the example itself waits for its stream."""
    env = dict(os.environ, FLOWDOCK_API_URL=api_url, HUBOT_FLOWDOCK_API_TOKEN=token)
    bot = subprocess.Popen([sys.executable, __file__], env=env, stdin=subprocess.DEVNULL)
    try:
        yield bot
    finally:
        bot.kill()
        bot.wait(TIMEOUT)


if __name__ == "__main__":
    main()
