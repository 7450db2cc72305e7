"""Four pytest-xdist workers share one mock server, each test in a world of its own.

The user suite below is what a project would write: every test renames the organization, posts
messages and deletes a flow, then asserts exact counts and names, which holds only if no other
test touches its world at the same time. It runs with ``-n 4`` against one server started here,
reached by URL as a CI service container is (tests/test_pytest_plugin.py covers the in-process
server the plugin starts when no URL is given).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.pytest_plugin import FlowdockMock, start_server

pytest_plugins = ["pytester"]

USER_TESTS = """
import base64, json, os, urllib.request, urllib.error
import pytest

def call(world, method, path, body=None, token=None):
    token = token or world.api_token
    request = urllib.request.Request(world.url(path), method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode(),
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")

@pytest.mark.parametrize("n", range(8))
def test_a_world_of_my_own(flowdock_world, n):
    name = f"renamed-{n}"
    assert call(flowdock_world, "PUT", "/organizations/acme", {"parameterized_name": name})[0] == 200
    status, org = call(flowdock_world, "GET", f"/organizations/{name}")
    assert (status, org["parameterized_name"]) == (200, name)
    status, flows = call(flowdock_world, "GET", "/flows")
    before = len(call(flowdock_world, "GET", f"/flows/{name}/main/messages?limit=100&event=message")[1])
    for i in range(n + 1):
        sent = call(flowdock_world, "POST", f"/flows/{name}/main/messages", {"event": "message", "content": f"{n}.{i}"})
        assert sent[0] == 201, sent
    after = call(flowdock_world, "GET", f"/flows/{name}/main/messages?limit=100&event=message")[1]
    assert len(after) == before + n + 1
    assert [m["content"] for m in after[-(n + 1):]] == [f"{n}.{i}" for i in range(n + 1)]
    assert [e["operationId"] for e in flowdock_world.requests()][:2] == ["updateOrganization", "getOrganization"]
    # the default world is not this one
    assert call(flowdock_world, "GET", "/flows", token="a11ce0000000000000000000000000a1")[1] != flows

@pytest.mark.parametrize("n", range(4))
def test_one_world_per_worker(flowdock_worker_world, flowdock_world, n):
    assert flowdock_worker_world.id != flowdock_world.id
    assert flowdock_worker_world.api_token != flowdock_world.api_token
    assert call(flowdock_worker_world, "GET", "/user")[1]["email"] == "alice@example.com"
    with open(os.environ["WORKERS_SEEN"], "a") as fh:
        fh.write(" ".join((os.environ["PYTEST_XDIST_WORKER"], flowdock_worker_world.id,
                           os.environ["PYTEST_XDIST_WORKER_COUNT"])) + "\\n")
"""


@pytest.fixture
def server() -> Iterator[FlowdockMock]:
    mock, stop = start_server({"log_level": "warning"})
    yield mock
    stop()


def run_user_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, url: str) -> Any:
    """The user suite with four workers; the worker -> world lines its tests wrote."""
    pytester.makepyfile(test_user_suite=USER_TESTS)
    seen = pytester.path / "workers.txt"
    monkeypatch.setenv("WORKERS_SEEN", str(seen))
    monkeypatch.setenv("FLOWDOCK_MOCK_URL", url)
    result = pytester.runpytest_subprocess(
        "-p", "xdist", "-n", "4", "-p", "no:cacheprovider", "-q", timeout=300
    )
    result.assert_outcomes(passed=12)
    lines = [line.split() for line in seen.read_text().splitlines()]
    assert {count for _, _, count in lines} == {"4"}
    worker_worlds = {worker: {w for k, w, _ in lines if k == worker} for worker, _, _ in lines}
    # one world per worker, a different one for each worker
    assert all(len(ids) == 1 for ids in worker_worlds.values()), worker_worlds
    assert len({next(iter(ids)) for ids in worker_worlds.values()}) == len(worker_worlds)
    return worker_worlds


def test_four_workers_share_one_server_by_url(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: FlowdockMock
) -> None:
    worlds = server.app.worlds
    created: list[str] = []
    create = worlds.create

    def counting_create(*args: Any, **kwargs: Any) -> Any:
        world = create(*args, **kwargs)
        created.append(world.id)
        return world

    monkeypatch.setattr(worlds, "create", counting_create)

    worker_worlds = run_user_suite(pytester, monkeypatch, server.base_url)

    # every test's world and every worker's world was made on this one server, and deleted after
    assert len(created) == 12 + len(worker_worlds)
    assert {next(iter(ids)) for ids in worker_worlds.values()} <= set(created)
    assert list(worlds.by_id) == ["default"]
    assert all(owner is worlds.default for owner in worlds.index.owner.values())


JOB_TESTS = """
import base64, json, urllib.request

def test_my_world_with_its_own_control_token(flowdock_world):
    request = urllib.request.Request(flowdock_world.url("/flows/acme/main/messages"), method="POST",
        data=json.dumps({"event": "message", "content": "from a job"}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(f"{flowdock_world.api_token}:".encode()).decode(),
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
    assert [e["operationId"] for e in flowdock_world.requests()] == ["sendFlowMessage"]
    flowdock_world.reset()
    assert flowdock_world.requests() == []
    assert flowdock_world.state()["users"]
    # the world's control token opens its world only: not the server's default world
    assert flowdock_world.control.exchange("GET", "/state")[0] == 403
    assert flowdock_world.control.exchange("GET", "/worlds")[1]["worlds"][0]["id"] == flowdock_world.id

def test_another_world(flowdock_world):
    assert len(flowdock_world.control.exchange("GET", "/worlds")[1]["worlds"]) == 1
"""


def test_a_shared_service__a_job_holds_only_the_create_only_token(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock, stop = start_server({"log_level": "warning", "admin_token": "operator", "create_token": "jobs"})
    try:
        pytester.makepyfile(test_job=JOB_TESTS)
        monkeypatch.setenv("FLOWDOCK_MOCK_URL", mock.base_url)
        monkeypatch.setenv("FLOWDOCK_MOCK_CREATE_TOKEN", "jobs")
        monkeypatch.delenv("FLOWDOCK_MOCK_ADMIN_TOKEN", raising=False)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=120)
        result.assert_outcomes(passed=2)
        assert list(mock.app.worlds.by_id) == ["default"]  # each deleted with its own token
    finally:
        stop()
