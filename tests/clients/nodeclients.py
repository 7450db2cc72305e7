"""The one way tests launch the npm clients (node-flowdock, hubot with hubot-flowdock).

They come from tests/clients/node/package-lock.json (``make node-clients``, which ``make test``
runs first) and are pointed at the mock only through their documented knobs
(``FLOWDOCK_API_URL``/``FLOWDOCK_STREAM_URL``, ``HUBOT_FLOWDOCK_API_TOKEN``; README "Streaming
clients"). ``launch_node`` runs a script of tests/clients/node, ``launch_hubot`` a hubot named
after its Flowdock account; each returns a ``Process`` whose output lines are collected in the
background and which the caller stops (``with`` or ``stop()``).
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Self

from tests.clients.conftest import LiveServer

NODE_DIR = Path(__file__).resolve().parent / "node"
COFFEE = str(NODE_DIR / "node_modules" / ".bin" / "coffee")
"""hubot 3's bin/hubot is CoffeeScript, as are hubot-flowdock's sources: run by the lockfile's coffee."""
TIMEOUT = 30.0
"""Seconds a wait for a client's output may take at most (CI's cores are shared)."""


class Process:
    """A child process whose stdout lines are collected in the background; killed at the end."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_line(self, predicate: Any, timeout: float = TIMEOUT) -> str:
        for line in self.seen:
            if predicate(line):
                return line
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no matching output; got:\n" + "".join(self.seen[-40:]))
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError("the process exited:\n" + "".join(self.seen[-40:])) from None
                continue
            self.seen.append(line)
            if predicate(line):
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def node_env(live: LiveServer, **extra: str) -> dict[str, str]:
    """This environment without any Flowdock or hubot setting, pointed at ``live``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWDOCK_", "HUBOT_"))}
    env.update(
        FLOWDOCK_API_URL=live.base_url,
        FLOWDOCK_STREAM_URL=live.base_url + "/stream/flows",
        NO_PROXY="127.0.0.1,localhost",
        **extra,
    )
    return env


def node_binary(package: str = "flowdock") -> str:
    """The ``node`` to run, after checking the lockfile's ``package`` is installed."""
    found = shutil.which("node")
    assert found, "node (Node.js 20) is needed for the npm clients"
    assert (NODE_DIR / "node_modules" / package).is_dir(), (
        "run `make node-clients` (npm ci in tests/clients/node)"
    )
    return found


def launch_node(live: LiveServer, script: str, *args: str, **env: str) -> Process:
    """``node <script> <args>`` in tests/clients/node, pointed at ``live``."""
    return Process([node_binary(), script, *args], node_env(live, **env), NODE_DIR)


def launch_hubot(live: LiveServer, user_id: int) -> Process:
    """A real hubot (hubot-flowdock adapter) logged in as ``user_id`` of ``live``'s world, named
    after that account's nick; it loads tests/clients/node/scripts/."""
    node_binary("hubot-flowdock")
    bot = live.store.users.by_id[user_id]
    return Process(
        [COFFEE, "node_modules/hubot/bin/hubot", "--adapter", "flowdock", "--name", bot.nick],
        node_env(live, HUBOT_FLOWDOCK_API_TOKEN=bot.api_token, HUBOT_LOG_LEVEL="info"),
        NODE_DIR,
    )
