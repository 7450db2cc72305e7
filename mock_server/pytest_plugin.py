"""pytest plugin: a live flowdock-mock server for your own test suite.

Installed with the package and registered through the ``pytest11`` entry point, so after
``pip install flowdock-mock`` the fixtures below exist in every pytest run:

- ``flowdock_mock``: the server, with the seeded world, no faults and an empty journal at the
  start of each test (function scope; the server itself starts once per session).
- ``flowdock_mock_server``: the same object without the per-test reset (session scope).
- ``flowdock_mock_options``: override it (session scope) to configure the server with the
  ``serve`` options: ``seed``, ``fixtures``, ``organizations``, ``users``, ``flows``,
  ``messages_per_flow``, ``strict``, ``latency_ms``, ``journal_size``, ``admin_token``,
  ``max_worlds``, ``world_idle_timeout``, ``event_log_size``, ``stream_keepalive``.
- ``flowdock_world``: a world of its own for this test (created before it, deleted after it), on
  the session's in-process server or, with ``--flowdock-mock-url URL`` (or ``FLOWDOCK_MOCK_URL``),
  on a mock that is already running (a CI service container). Its credentials reach only it, so
  tests in parallel workers (``pytest -n 4``) sharing one server never see each other's writes.
- ``flowdock_worker_world``: the same, one per session, i.e. one per xdist worker.
- ``flowdock_world_options``: override it (session scope) to say what worlds are made of: the
  body of ``POST /_mock/worlds`` (``{}``: the default world; ``{"seed": 7, "sizes": {...}}``).

The server runs in-process (uvicorn in a thread) on a free 127.0.0.1 port. This module imports
only the standard library and pytest: the plugin is loaded in every pytest run of an environment
where flowdock-mock is installed, so the server's own imports wait until a fixture asks for it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

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
    "log_level",
    "max_worlds",
    "world_idle_timeout",
    "event_log_size",
    "stream_keepalive",
)
URL_OPTION = "--flowdock-mock-url"
URL_ENV = "FLOWDOCK_MOCK_URL"
ADMIN_TOKEN_ENV = "FLOWDOCK_MOCK_ADMIN_TOKEN"
HTTP_TIMEOUT = 30.0


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


@dataclass
class FlowdockMock(_AsMainUser):
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


def _settings(options: dict[str, Any]) -> Any:
    from mock_server.cli import Settings
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
class ControlAPI:
    """The control API of a running mock, over HTTP (the standard library only)."""

    def __init__(self, base_url: str, admin_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.admin_token = admin_token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.admin_token:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        request = urllib.request.Request(
            f"{self.base_url}/_mock{path}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            raise RuntimeError(
                f"flowdock-mock: {method} /_mock{path} answered {error.code}: {text}"
            ) from None
        return json.loads(raw) if raw else None


@dataclass
class FlowdockWorld(_AsMainUser):
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


def create_world(control: ControlAPI, options: dict[str, Any] | None = None) -> FlowdockWorld:
    """``POST /_mock/worlds`` with ``options`` as its body: a new world and its credentials."""
    answer = control.call("POST", "/worlds", options or {})
    users = {u["id"]: u for u in answer["credentials"]["users"]}
    ids = sorted(users)  # alice (1) and bob (2) in generated worlds; the first two otherwise
    first, second = users[ids[0]], users[ids[1] if len(ids) > 1 else ids[0]]
    return FlowdockWorld(answer["id"], control.base_url, answer["credentials"], first, second, control)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        URL_OPTION,
        default=None,
        help=(
            f"run flowdock_world fixtures against the flowdock-mock at this URL instead of an "
            f"in-process one (env {URL_ENV}; admin token from {ADMIN_TOKEN_ENV})"
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
        return ControlAPI(url, os.environ.get(ADMIN_TOKEN_ENV) or None)
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
