"""pytest plugin: a live flowdock-mock server for your own test suite.

Installed with the package and registered through the ``pytest11`` entry point, so after
``pip install flowdock-mock`` the fixtures below exist in every pytest run:

- ``flowdock_mock``: the server, with the seeded world, no faults and an empty journal at the
  start of each test (function scope; the server itself starts once per session).
- ``flowdock_mock_server``: the same object without the per-test reset (session scope).
- ``flowdock_mock_options``: override it (session scope) to configure the server with the
  ``serve`` options: ``seed``, ``fixtures``, ``organizations``, ``users``, ``flows``,
  ``messages_per_flow``, ``strict``, ``latency_ms``, ``journal_size``, ``admin_token``.

The server runs in-process (uvicorn in a thread) on a free 127.0.0.1 port. This module imports
only the standard library and pytest: the plugin is loaded in every pytest run of an environment
where flowdock-mock is installed, so the server's own imports wait until a fixture asks for it.
"""

from __future__ import annotations

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
)


@dataclass
class FlowdockMock:
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

    @property
    def api_token(self) -> str:
        return str(self.user["api_token"])

    @property
    def auth(self) -> tuple[str, str]:
        """HTTP Basic credentials for requests/httpx: the main user's API token, empty password."""
        return (self.api_token, "")

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

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
