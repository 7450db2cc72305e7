"""The image, built and run with podman (Debian's; no Docker engine, no registry).

`make image-test` builds the image and runs this package; `make test` installs podman (`make
podman`) and runs it with the rest, the ``image`` fixture building the image first (`make image`,
cached: a few seconds when nothing changed). Only where podman is absent are these tests skipped,
with that reason. Every container is started with a label of this session, removed by its test
and again, by label, when the session ends; every podman call is bounded by a timeout.
The figures the README quotes (image size, start to first 200, stop) are printed at the end.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.testing.container import free_port
from mock_server.world import MAIN_USER
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PODMAN = shutil.which("podman")
CONTAINERS_CONF = ROOT / ".container" / "containers.conf"
"""Written by `make containers-conf` (runc, the host's ulimits): podman reads it, never /etc."""
IMAGE_ENV = "FLOWDOCK_MOCK_IMAGE"
"""`make image-test` names the image it just built; otherwise the fixture builds this one:"""
DEFAULT_IMAGE = f"flowdock-mock:test-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
"""A tag of this checkout's own: podman's image store is the machine's, shared by every checkout."""
SESSION_LABEL = f"flowdock-mock-test={uuid.uuid4().hex[:12]}"
COMMAND_TIMEOUT = 120.0
"""Seconds any one podman command may take (two busy cores, a cold store)."""
BUILD_TIMEOUT = 900.0
"""`make image` on an empty store: mmdebstrap 45-200 s, the build 20-90 s."""
READY_TIMEOUT = 60.0
AUTH = (str(MAIN_USER["api_token"]), "")

needs_podman = pytest.mark.skipif(
    PODMAN is None, reason="podman is not installed: `make podman` installs it (`make test` does)"
)

FIGURES: dict[str, str] = {}
"""What the session measured, printed in the terminal summary."""


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(
    *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True
) -> subprocess.CompletedProcess[str]:
    assert PODMAN is not None
    done = subprocess.run(
        [PODMAN, *args], env=podman_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done


def make(*targets: str, timeout: float) -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"make {' '.join(targets)} exited {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}"
        )


def wait_for(what: str, condition: Callable[[], Any], timeout: float, on_timeout: Callable[[], str]) -> Any:
    """Polls ``condition`` until it answers something true (a wait on a condition, bounded): each
    poll asks podman or the container, so every 50 ms, not as often as a socket read."""
    return wait_until(condition, timeout, what, details=on_timeout, interval=0.05)


@dataclass
class Running:
    """A container of the image, published on 127.0.0.1:port."""

    name: str
    port: int
    started: float
    """``time.monotonic()`` just before ``podman run``."""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return (done.stdout + done.stderr)[-3000:]

    def get(self, path: str, **kwargs: Any) -> httpx.Response | None:
        """One request; None while nothing answers on the port yet."""
        try:
            return httpx.get(self.url(path), timeout=5.0, **kwargs)
        except httpx.TransportError:
            return None

    def wait_ready(self, path: str = "/_mock/health", **kwargs: Any) -> float:
        """Until ``path`` answers 200: the seconds since ``podman run``."""

        def ok() -> bool:
            response = self.get(path, **kwargs)
            return response is not None and response.status_code == 200

        wait_for(f"{self.name} answering 200 on {path}", ok, READY_TIMEOUT, self.logs)
        return time.monotonic() - self.started

    def exec(self, *command: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        return podman("exec", *(("--user", user) if user else ()), self.name, *command, check=False)


def remove(name: str) -> None:
    podman("rm", "--force", "--time", "0", name, check=False)


def remove_session_containers() -> None:
    left = podman("ps", "--all", "--quiet", "--filter", f"label={SESSION_LABEL}", check=False).stdout.split()
    if left:
        podman("rm", "--force", "--time", "0", *left, check=False)


@pytest.fixture(scope="session")
def image() -> Iterator[str]:
    """The image under test: ``$FLOWDOCK_MOCK_IMAGE`` as built by `make image-test`, else built now."""
    if PODMAN is None:
        pytest.skip("podman is not installed: `make podman` installs it (`make test` does)")
    name = os.environ.get(IMAGE_ENV)
    if name:
        make("containers-conf", timeout=COMMAND_TIMEOUT)
    else:
        name = DEFAULT_IMAGE
        began = time.monotonic()
        make("image", f"IMAGE={name}", timeout=BUILD_TIMEOUT)
        FIGURES["make image (this run)"] = f"{time.monotonic() - began:.1f} s"
    if podman("image", "exists", name, check=False).returncode != 0:
        pytest.fail(f"image {name} does not exist: `make image IMAGE={name}` builds it")
    size = int(podman("image", "inspect", "--format", "{{.Size}}", name).stdout.strip())
    FIGURES["image size"] = f"{size / 1e6:.0f} MB ({name})"
    try:
        yield name
    finally:
        remove_session_containers()


def run_container(image: str, *options: str, command: tuple[str, ...] = ()) -> Running:
    """``podman run --detach`` of the image on a free loopback port, labelled with the session;
    the caller removes it (``remove(running.name)``)."""
    name = f"flowdock-mock-test-{uuid.uuid4().hex[:10]}"
    port = free_port("127.0.0.1")
    began = time.monotonic()
    podman(
        "run", "--detach", "--name", name, "--label", SESSION_LABEL,
        "--publish", f"127.0.0.1:{port}:8080", *options, image, *command,
    )  # fmt: skip
    return Running(name, port, began)


@pytest.fixture
def start(image: str) -> Iterator[Callable[..., Running]]:
    """``start(*podman_run_options, command=(...))``: a container of the image (``run_container``),
    removed after the test whatever happens."""
    names: list[str] = []

    def run(*options: str, command: tuple[str, ...] = ()) -> Running:
        running = run_container(image, *options, command=command)
        names.append(running.name)
        return running

    try:
        yield run
    finally:
        for name in names:
            remove(name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """The figures so far ride on each test's report: under xdist only reports reach the controller,
    whose terminal summary (tests/conftest.py) prints them."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" and FIGURES:
        report.user_properties.append(("flowdock-mock image", dict(FIGURES)))
