"""pytest plugin: a live flowdock-mock server for your own test suite.

Installed with the package and registered through the ``pytest11`` entry point, so after
``pip install flowdock-mock`` the fixtures below exist in every pytest run:

- ``flowdock_mock``: the server, with the seeded world, no faults and an empty journal at the
  start of each test (function scope; the server itself starts once per session).
- ``flowdock_mock_server``: the same object without the per-test reset (session scope).
- ``flowdock_mock_options``: override it (session scope) to configure the server with the
  ``serve`` options: ``seed``, ``fixtures``, ``organizations``, ``users``, ``flows``,
  ``messages_per_flow``, ``strict``, ``latency_ms``, ``journal_size``, ``admin_token``,
  ``create_token``, ``max_worlds``, ``world_idle_timeout``, ``event_log_size``, ``stream_keepalive``.
- ``flowdock_world``: a world of its own for this test (created before it, deleted after it), on
  the session's in-process server or, with ``--flowdock-mock-url URL`` (or ``FLOWDOCK_MOCK_URL``),
  on a mock that is already running (a CI service container). Its credentials reach only it, so
  tests in parallel workers (``pytest -n 4``) sharing one server never see each other's writes.
  Its control calls (reset, journal, kit) carry the world's own control token, so a job needs no
  admin token on a shared service: it creates worlds with nothing, or with the create-only token
  from ``FLOWDOCK_MOCK_CREATE_TOKEN``.
- ``flowdock_worker_world``: the same, one per session, i.e. one per xdist worker.
- ``flowdock_world_options``: override it (session scope) to say what worlds are made of: the
  body of ``POST /_mock/worlds`` (``{}``: the default world; ``{"seed": 7, "sizes": {...}}``).

The server runs in-process (uvicorn in a thread) on a free 127.0.0.1 port. This module imports
only the standard library, pytest, ``mock_server.control_client`` and ``mock_server.testing.control``
(the control API client and the kit, the standard library only): the plugin is loaded in every
pytest run of an environment where flowdock-mock is installed, so the server's own imports wait
until a fixture asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from mock_server.control_client import HTTP_TIMEOUT, ControlAPI
from mock_server.testing.control import (
    Clock,
    ConversationFailed,
    FlowdockWorld,
    Kit,
    WaitTimedOut,
    Webhooks,
    _AsMainUser,
    create_world,
)

__all__ = [
    "HTTP_TIMEOUT",
    "Clock",
    "ControlAPI",
    "ConversationFailed",
    "FlowdockMock",
    "FlowdockWorld",
    "Kit",
    "WaitTimedOut",
    "Webhooks",
    "create_world",
    "start_server",
]

OPTION_NAMES = (
    "seed",
    "fixtures",
    "organizations",
    "users",
    "flows",
    "messages_per_flow",
    "strict",
    "latency_ms",
    "journal_size",
    "admin_token",
    "create_token",
    "log_level",
    "max_worlds",
    "world_idle_timeout",
    "event_log_size",
    "stream_keepalive",
)
URL_OPTION = "--flowdock-mock-url"
URL_ENV = "FLOWDOCK_MOCK_URL"
ADMIN_TOKEN_ENV = "FLOWDOCK_MOCK_ADMIN_TOKEN"
CREATE_TOKEN_ENV = "FLOWDOCK_MOCK_CREATE_TOKEN"


@dataclass
class FlowdockMock(_AsMainUser, Kit):
    """A running mock: where it is, who can log in, and how to put it back to its starting state."""

    base_url: str
    host: str
    port: int
    user: dict[str, Any]
    """The main user (alice): ``email``, ``password``, ``api_token``, ``id``, ``nick``, ``name``."""
    second_user: dict[str, Any]
    """The second user (bob), same keys."""
    app: Any = field(repr=False)
    """The ASGI app itself, with ``app.store`` and ``app.runtime`` for white-box checks."""

    def reset(self) -> None:
        """Back to the seeded world, with no faults and an empty request journal (coverage is kept)."""
        runtime = self.app.runtime
        runtime.reset_state()
        runtime.faults.clear()
        runtime.journal.clear()

    def requests(self) -> list[dict[str, Any]]:
        """The request journal (what ``GET /_mock/requests`` returns), oldest first."""
        return list(self.app.runtime.journal.list())

    def _kit(self) -> tuple[ControlAPI, str | None]:
        return ControlAPI(self.base_url, self.app.runtime.admin_token), None


def _settings(options: dict[str, Any]) -> Any:
    from mock_server.settings import Settings
    from mock_server.world import Sizes

    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise pytest.UsageError(
            f"flowdock_mock_options: unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTION_NAMES)}"
        )
    opts = dict(options)
    size_keys = ("organizations", "users", "flows", "messages_per_flow")
    sizes = Sizes(**{k: opts.pop(k) for k in size_keys if k in opts})
    opts.setdefault("log_level", "warning")
    return Settings(host="127.0.0.1", port=0, sizes=sizes, **opts)


def start_server(options: dict[str, Any] | None = None) -> tuple[FlowdockMock, Any]:
    """Start a mock in a background thread; returns it and a ``stop()`` callable."""
    from mock_server.runner import serve_in_thread
    from mock_server.world import MAIN_USER, SECOND_USER

    settings = _settings(options or {})
    served = serve_in_thread(settings)
    mock = FlowdockMock(
        served.base_url, settings.host, served.port, dict(MAIN_USER), dict(SECOND_USER), served.app
    )
    return mock, served.stop


@pytest.fixture(scope="session")
def flowdock_mock_options() -> dict[str, Any]:
    """Options for the session's mock server (override this fixture to change them)."""
    return {}


@pytest.fixture(scope="session")
def flowdock_mock_server(flowdock_mock_options: dict[str, Any]) -> Iterator[FlowdockMock]:
    """One mock server for the whole session, stopped at its end."""
    mock, stop = start_server(flowdock_mock_options)
    try:
        yield mock
    finally:
        stop()


@pytest.fixture
def flowdock_mock(flowdock_mock_server: FlowdockMock) -> FlowdockMock:
    """The session's mock server, reset to the seeded world (no faults, empty journal) for this test."""
    flowdock_mock_server.reset()
    return flowdock_mock_server


# --- worlds: one per test or per worker, on one server ------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        URL_OPTION,
        default=None,
        help=(
            f"run flowdock_world fixtures against the flowdock-mock at this URL instead of an "
            f"in-process one (env {URL_ENV}; admin token from {ADMIN_TOKEN_ENV}, or a create-only "
            f"token from {CREATE_TOKEN_ENV})"
        ),
    )


@pytest.fixture(scope="session")
def flowdock_world_options() -> dict[str, Any]:
    """The body of ``POST /_mock/worlds`` for each world (override this fixture to change it)."""
    return {}


@pytest.fixture(scope="session")
def flowdock_world_control(request: pytest.FixtureRequest) -> ControlAPI:
    """The control API of the server worlds are made on: ``--flowdock-mock-url`` (or
    ``FLOWDOCK_MOCK_URL``) when given, else the session's in-process server."""
    url = request.config.getoption(URL_OPTION) or os.environ.get(URL_ENV)
    if url:
        token = os.environ.get(ADMIN_TOKEN_ENV) or os.environ.get(CREATE_TOKEN_ENV) or None
        return ControlAPI(url, token)
    server: FlowdockMock = request.getfixturevalue("flowdock_mock_server")
    return ControlAPI(server.base_url, server.app.runtime.admin_token)


@pytest.fixture(scope="session")
def flowdock_worker_world(
    flowdock_world_control: ControlAPI, flowdock_world_options: dict[str, Any]
) -> Iterator[FlowdockWorld]:
    """A world for this session: with pytest-xdist, one per worker."""
    world = create_world(flowdock_world_control, flowdock_world_options)
    try:
        yield world
    finally:
        world.delete()


@pytest.fixture
def flowdock_world(
    flowdock_world_control: ControlAPI, flowdock_world_options: dict[str, Any]
) -> Iterator[FlowdockWorld]:
    """A world for this test only, deleted after it."""
    world = create_world(flowdock_world_control, flowdock_world_options)
    try:
        yield world
    finally:
        world.delete()
