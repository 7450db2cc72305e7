"""Shared fixtures: one app per session, a fresh world for every test, clients acting as users.

Building the Connexion app parses and validates the whole spec, so it is built once; the store
behind it is reset to the seeded world before each test, which gives every test the same fresh
world (the flaskr/fakeredis habit) without paying for a new app each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.runtime.worlds import DEFAULT_ID
from mock_server.store import Store
from mock_server.world import MAIN_USER, SECOND_USER

ALICE = MAIN_USER
"""The main user: admin of acme; member of acme/main, acme/dev and acme/support."""
BOB = SECOND_USER
"""Member of acme (not admin) and of globex; in acme/main, acme/dev and globex/general."""
CAROL_ID, DAVE_ID, ERIN_ID, FRANK_ID = 3, 4, 5, 6
"""Carol is in acme/main, dev, random; Dave in main, random, secret; Frank is globex's admin."""


_FIGURES: dict[str, dict[str, str]] = {}
"""Figures the tests measured (the container's start and stop times), by section, from their reports."""

_GROUPS = {
    "tests/container/": "container",  # one image, built once, by one worker
    "tests/cluster/test_cluster.py": "cluster",  # its tests run in order over one cluster
    "tests/docs/test_examples.py": "docs",  # its pages' pytest examples run as one batch, once
}
"""Tests that run on one pytest-xdist worker, in order, under `pytest -n` (as `make test` runs)."""


def _group(nodeid: str) -> str | None:
    return next((group for prefix, group in _GROUPS.items() if nodeid.startswith(prefix)), None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The groups are scheduled first, so the image build overlaps the rest of the suite instead of
    # trailing it.
    items.sort(key=lambda item: _group(item.nodeid) is None)  # stable: the order within stays


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's ``loadgroup``, grouping by path: pytest 9 ignores the node id suffix xdist's own
    ``xdist_group`` marker relies on, so the marker no longer keeps a group on one worker."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None  # a distribution asked for by name (loadfile, worksteal, ...)
    from xdist.scheduler import LoadGroupScheduling

    class PathGroups(LoadGroupScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid) or nodeid

    return PathGroups(config, log)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for section, figures in report.user_properties:
        if isinstance(figures, dict):
            _FIGURES.setdefault(str(section), {}).update(figures)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for section, figures in _FIGURES.items():
        terminalreporter.section(section)
        for what, figure in figures.items():
            terminalreporter.write_line(f"{what}: {figure}")


@pytest.fixture(scope="session")
def app() -> Any:
    """The mock, with response validation on: a response that breaks the spec fails the test."""
    return create_app(validate_responses=True)


@pytest.fixture
def store(app: Any) -> Iterator[Store]:
    """The app's store, reset to the seeded world."""
    app.store.reset()
    yield app.store


def delete_created_worlds(registry: Any) -> None:
    """Delete every world of ``registry`` (an app's ``worlds``) but the default one."""
    for world_id in list(registry.by_id):
        if world_id != DEFAULT_ID:
            registry.delete(world_id)


@pytest.fixture
def worlds_app(app: Any, store: Store) -> Iterator[Any]:
    """The session app; every world a test creates is deleted after it."""
    yield app
    delete_created_worlds(app.worlds)


@pytest.fixture
def client(app: Any, store: Store) -> Any:
    """An unauthenticated test client on a fresh world."""
    return app.test_client()


@pytest.fixture
def as_user(app: Any, store: Store) -> Callable[[int], Any]:
    """``as_user(id)``: a test client authenticated with that user's API token (empty password)."""

    def make(user_id: int) -> Any:
        c = app.test_client()
        c.auth = (store.users.by_id[user_id].api_token, "")
        return c

    return make


@pytest.fixture
def alice(as_user: Callable[[int], Any]) -> Any:
    """The main user's client."""
    return as_user(ALICE["id"])


@pytest.fixture
def bob(as_user: Callable[[int], Any]) -> Any:
    """The second user's client."""
    return as_user(BOB["id"])


def assert_error(
    response: Any, status: int, message: str, errors: dict[str, list[str]] | None = None
) -> None:
    """A Flowdock-shaped error: the status, the exact message, and the exact ``errors`` when given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["message"] == message, body
    if errors is not None:
        assert body.get("errors") == errors, body
