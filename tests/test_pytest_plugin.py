"""The pytest plugin other projects use (mock_server/pytest_plugin.py), run as they would run it."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import base64, json, urllib.request

def call(mock, method, path, body=None, token=None):
    token = token or mock.api_token
    request = urllib.request.Request(mock.url(path), method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode(),
                 "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")

def messages(mock):
    return call(mock, "GET", "/flows/acme/main/messages?limit=100")[1]

def test_serves_the_seeded_world_on_loopback(flowdock_mock):
    assert flowdock_mock.base_url == f"http://127.0.0.1:{flowdock_mock.port}"
    assert flowdock_mock.user["email"] == "alice@example.com"
    status, user = call(flowdock_mock, "GET", "/user")
    assert (status, user["nick"]) == (200, "alice")

def test_a_test_changes_the_world(flowdock_mock):
    assert call(flowdock_mock, "POST", "/flows/acme/main/messages", {"event": "message", "content": "kept?"})[0] == 201
    assert messages(flowdock_mock)[-1]["content"] == "kept?"
    assert [e["operationId"] for e in flowdock_mock.requests()] == ["sendFlowMessage", "listFlowMessages"]

def test_the_next_test_gets_a_fresh_world(flowdock_mock):
    assert all(m["content"] != "kept?" for m in messages(flowdock_mock))
    assert [e["operationId"] for e in flowdock_mock.requests()] == ["listFlowMessages"]

def test_reset_inside_a_test(flowdock_mock):
    call(flowdock_mock, "POST", "/flows/acme/main/messages", {"event": "message", "content": "gone"})
    flowdock_mock.reset()
    assert all(m["content"] != "gone" for m in messages(flowdock_mock))
"""


def test_flowdock_mock__serves_resets_and_journals(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user_suite=USER_TESTS)

    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error", "-q")

    result.assert_outcomes(passed=4)


def test_flowdock_mock_options__configure_the_server(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="session")
def flowdock_mock_options():
    return {"seed": 7, "users": 10, "admin_token": "tok", "journal_size": 2}
"""
    )
    pytester.makepyfile(
        test_options="""
import urllib.request, urllib.error

def test_options_reach_the_server(flowdock_mock):
    assert len(flowdock_mock.app.store.users.by_id) == 10
    assert flowdock_mock.app.store.seed == 7
    assert flowdock_mock.app.runtime.journal.size == 2
    try:
        urllib.request.urlopen(flowdock_mock.url("/_mock/state"), timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 401
    else:
        raise AssertionError("the admin token did not guard /_mock/state")
"""
    )

    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error", "-q")

    result.assert_outcomes(passed=1)


WORLD_TESTS = """
import base64, json, urllib.request

def call(world, method, path, body=None):
    request = urllib.request.Request(world.url(path), method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(f"{world.api_token}:".encode()).decode(),
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")

def test_a_world_per_test_on_the_in_process_server(flowdock_world, flowdock_mock_server):
    assert flowdock_world.base_url == flowdock_mock_server.base_url
    assert flowdock_world.api_token != flowdock_mock_server.api_token
    call(flowdock_world, "POST", "/flows/acme/main/messages", {"event": "message", "content": "mine"})
    assert call(flowdock_world, "GET", "/flows/acme/main/messages?limit=1")[0]["content"] == "mine"
    assert flowdock_world.requests()[-1]["operationId"] == "listFlowMessages"
    assert flowdock_mock_server.requests() == []  # the default world saw nothing
    assert set(flowdock_mock_server.app.worlds.by_id) == {"default", flowdock_world.id}
    flowdock_world.reset()
    assert flowdock_world.requests() == [] and flowdock_world.state()["seed"] == 7
    assert call(flowdock_world, "GET", "/flows/acme/main/messages?limit=1")[0]["content"] != "mine"

def test_the_previous_world_is_gone(flowdock_world, flowdock_mock_server):
    assert set(flowdock_mock_server.app.worlds.by_id) == {"default", flowdock_world.id}
"""


def test_flowdock_world__a_world_per_test_made_from_the_options(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="session")
def flowdock_world_options():
    return {"seed": 7}
"""
    )
    pytester.makepyfile(test_worlds=WORLD_TESTS)

    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error", "-q")

    result.assert_outcomes(passed=2)


def test_flowdock_mock_options__unknown_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="session")
def flowdock_mock_options():
    return {"colour": "blue"}
"""
    )
    pytester.makepyfile(test_options="def test_it(flowdock_mock):\n    pass\n")

    result = pytester.runpytest("-p", "no:cacheprovider", "-q")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown option(s) colour*"])


def test_plugin__is_cheap_to_import() -> None:
    code = "import sys, mock_server.pytest_plugin; print(sorted(m for m in ('connexion', 'uvicorn', 'faker', 'starlette') if m in sys.modules))"

    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )

    assert result.stdout.strip() == "[]"


def test_plugin__is_registered_through_the_pytest11_entry_point() -> None:
    from importlib.metadata import entry_points

    assert [e.value for e in entry_points(group="pytest11") if e.name == "flowdock_mock"] == [
        "mock_server.pytest_plugin"
    ]
