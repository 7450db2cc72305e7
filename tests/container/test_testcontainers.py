"""``mock_server.testing.container.FlowdockMockContainer`` against the image, through podman's
Docker-compatible API (``podman system service``), as a Testcontainers user runs it.

Three settings make Testcontainers work with podman here (docs/containers.md): Ryuk off (its
image cannot be pulled; each test removes its own container), the ``docker_host`` connection
mode (this machine looks like a container to Testcontainers), and the port published on
127.0.0.1 (the module's default).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from mock_server.testing.control import WaitTimedOut
from tests.container.conftest import (
    COMMAND_TIMEOUT,
    FIGURES,
    PODMAN,
    SESSION_LABEL,
    needs_podman,
    podman_env,
    wait_for,
)

if TYPE_CHECKING:
    from mock_server.testing.container import FlowdockMockContainer

pytestmark = [pytest.mark.container, needs_podman]

TESTCONTAINERS_ENV = {
    "TESTCONTAINERS_RYUK_DISABLED": "true",
    "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
}


@pytest.fixture(scope="module")
def docker_api(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """podman's Docker-compatible API on a unix socket of this module, stopped (by its PID) after it;
    DOCKER_HOST and the Testcontainers settings point there meanwhile."""
    assert PODMAN is not None
    socket_path = tmp_path_factory.mktemp("podman-api") / "podman.sock"
    url = f"unix://{socket_path}"
    log = (socket_path.parent / "service.log").open("w")
    service = subprocess.Popen(
        [PODMAN, "system", "service", "--time=0", url], env=podman_env(), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        api = httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path)), timeout=2.0)

        def answers() -> bool:
            if service.poll() is not None:
                pytest.fail(f"podman system service exited {service.returncode}")
            # httpx's Unix-socket transport leaks its socket when the connect fails (a
            # ResourceWarning, an error here): it is asked only once the socket accepts.
            with socket.socket(socket.AF_UNIX) as probe:
                if probe.connect_ex(str(socket_path)) != 0:
                    return False
            try:
                return api.get("http://podman/_ping").text == "OK"
            except httpx.TransportError:
                return False

        with api:
            wait_for("podman's API socket", answers, 30, lambda: Path(log.name).read_text())
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DOCKER_HOST", url)
            for name, value in TESTCONTAINERS_ENV.items():
                patch.setenv(name, value)
            # Testcontainers reads its settings when first imported; set them on the object too,
            # in case another test of this session imported it first.
            from testcontainers.core.config import ConnectionMode, testcontainers_config

            patch.setattr(testcontainers_config, "ryuk_disabled", True)
            patch.setattr(testcontainers_config, "connection_mode_override", ConnectionMode.docker_host)
            yield url
    finally:
        service.terminate()
        try:
            service.wait(timeout=10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait(timeout=10)
        log.close()


def container(image: str, **options: Any) -> FlowdockMockContainer:
    from mock_server.testing.container import FlowdockMockContainer

    # Labelled like every container of this session, so the session's clean-up finds it even if
    # a test is interrupted before its `with` block removes it.
    name, value = SESSION_LABEL.split("=", 1)
    return FlowdockMockContainer(image, startup_timeout=COMMAND_TIMEOUT, labels={name: value}, **options)


@pytest.fixture(scope="module")
def mock(docker_api: str, image: str) -> Iterator[FlowdockMockContainer]:
    began = time.monotonic()
    with container(image) as started:
        FIGURES["Testcontainers start() until /_mock/health answers"] = f"{time.monotonic() - began:.2f} s"
        yield started


def test_it_serves_the_api_on_a_loopback_port_as_a_non_root_user(mock: FlowdockMockContainer) -> None:
    assert mock.api_url().startswith("http://127.0.0.1:")
    flows = httpx.get(mock.api_url() + "/flows", auth=(mock.token, ""), timeout=10)
    assert flows.status_code == 200
    # The server was told where it is published: the URLs it writes point there.
    assert all(flow["url"].startswith(mock.api_url() + "/") for flow in flows.json())
    bindings = mock.get_wrapped_container().attrs["HostConfig"]["PortBindings"]["8080/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
    assert mock.exec(["id", "-u"]).output.decode().strip() == "10001"


def test_the_stream_url_streams(mock: FlowdockMockContainer) -> None:
    world = mock.new_world()
    try:
        flow_path = "acme/main"
        with httpx.stream(
            "GET", mock.stream_url(), params={"filter": flow_path}, auth=(world.api_token, ""), timeout=10
        ) as stream:
            # The mock registers a stream before its headers go out: what is said now is on it.
            assert stream.status_code == 200
            said = world.say(world.second_user["id"], flow_path, "over the stream")
            first = next(line for line in stream.iter_lines() if line.strip())
        event = json.loads(first)
        assert (event["event"], event["id"], event["content"]) == ("message", said["id"], "over the stream")
    finally:
        world.delete()


def test_new_world_and_wait_for_message(mock: FlowdockMockContainer) -> None:
    world = mock.new_world()
    try:
        assert world.api_token != mock.token
        flow_path = "acme/main"
        after = world.last_event_id()
        posted = httpx.post(
            f"{mock.api_url()}/flows/{flow_path}/messages",
            json={"event": "message", "content": "deployed v1.2"},
            auth=(world.api_token, ""),
            timeout=10,
        )
        assert posted.status_code == 201, posted.text
        message = world.wait_for_message(after=after, content="deployed v1.2", timeout=10)
        assert message["user"] == str(world.user["id"])
        # Another world's traffic never reaches the default world.
        with pytest.raises(WaitTimedOut):
            mock.wait_for_message(after=mock.last_event_id(), content="deployed v1.2", timeout=0.5)
    finally:
        world.delete()


def test_its_options_configure_it_and_sigterm_ends_it_with_0(docker_api: str, image: str) -> None:
    name, value = SESSION_LABEL.split("=", 1)
    with container(image, seed=7, strict=True, admin_token="s3cret") as started:
        assert httpx.get(started.api_url() + "/_mock/state", timeout=10).status_code == 401
        assert started.control.call("GET", "/state")["seed"] == 7
        strict = httpx.get(started.api_url() + "/flows?undeclared=1", auth=(started.token, ""), timeout=10)
        assert strict.status_code == 400
        wrapped = started.get_wrapped_container()
        wrapped.stop(timeout=10)
        wrapped.reload()
        assert wrapped.attrs["State"]["ExitCode"] == 0
        assert wrapped.labels[name] == value  # the session's clean-up would have found it
