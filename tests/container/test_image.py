"""The image as a CI service uses it: published port, HEALTHCHECK, SIGTERM, non-root, environment,
a state document mounted read-only. Each test starts its containers with podman and removes them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mock_server.world import DEFAULT_SEED, generate
from tests.container.conftest import (
    AUTH,
    FIGURES,
    ROOT,
    Running,
    needs_podman,
    podman,
    remove,
    run_container,
)

pytestmark = [pytest.mark.container, needs_podman]

UID = 10001
"""The image's user (Dockerfile: USER 10001)."""


@pytest.fixture(scope="module")
def served(image: str) -> Iterator[Running]:
    """One container of the image with its defaults, for the read-only checks; it also gives the
    figure "start to first 200": from `podman run` to the first 200 of GET /flows."""
    running = run_container(image)
    try:
        seconds = running.wait_ready("/flows", auth=AUTH)
        FIGURES["container start to first 200 (GET /flows)"] = f"{seconds:.2f} s"
        yield running
    finally:
        remove(running.name)


def test_get_flows_answers_200_through_a_loopback_port(served: Running) -> None:
    response = served.get("/flows", auth=AUTH)
    assert response is not None and response.status_code == 200
    assert {"Main", "Dev", "Support"} <= {flow["name"] for flow in response.json()}
    # Published on the loopback address only, never on every interface.
    assert podman("port", served.name).stdout.split() == ["8080/tcp", "->", f"127.0.0.1:{served.port}"]
    # And the wrong token is refused: the 200 above is the mock's answer, not any server's.
    refused = served.get("/flows", auth=("not-a-token", ""))
    assert refused is not None and refused.status_code == 401


def test_the_healthcheck_passes_once_ready(served: Running, image: str) -> None:
    check = json.loads(podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}", image).stdout)
    assert check["Test"] == ["CMD", "flowdock-mock", "health"], "built without --format docker?"
    done = podman("healthcheck", "run", served.name, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_healthcheck_fails_when_nothing_serves(start: Callable[..., Running]) -> None:
    # The same image with a command that serves nothing: the check must say unhealthy.
    idle = start(command=("python3", "-c", "import time; time.sleep(120)"))
    done = podman("healthcheck", "run", idle.name, check=False)
    assert done.returncode != 0
    assert "unhealthy" in done.stdout + done.stderr


PROCESSES = """
import json, os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode().strip()
        uids = next(line.split()[1:] for line in open(f"/proc/{pid}/status") if line.startswith("Uid:"))
    except OSError:
        continue  # gone meanwhile
    print(json.dumps([cmd, uids]))
"""
"""Every process of the container with its uids (real, effective, saved, file system), one JSON
array a line."""


def test_the_server_runs_as_a_non_root_user(served: Running) -> None:
    listed = served.exec("python3", "-c", PROCESSES)
    assert listed.returncode == 0, listed.stderr
    processes = dict(map(json.loads, listed.stdout.splitlines()))
    # tini (PID 1), the server, and this exec itself: none of them root.
    assert "tini -e 143 -- flowdock-mock serve" in processes, processes
    assert any(cmd.endswith("bin/flowdock-mock serve") for cmd in processes), processes
    assert all(uids == [str(UID)] * 4 for uids in processes.values()), processes


def stop(running: Running) -> tuple[str, float, float]:
    """``podman stop`` (STOPSIGNAL, SIGTERM; SIGKILL only after 10 s, which exits 137): the exit
    status, the seconds until the container exited, the seconds until the command returned."""
    began, wall = time.monotonic(), time.time()
    podman("stop", "--time", "10", running.name)
    returned = time.monotonic() - began
    status, finished = podman(
        "inspect", "--format", "{{.State.ExitCode}} {{.State.FinishedAt.UnixNano}}", running.name
    ).stdout.split()  # fmt: skip
    return status, int(finished) / 1e9 - wall, returned


def test_sigterm_stops_it_with_exit_0(start: Callable[..., Running]) -> None:
    running = start()
    running.wait_ready()
    status, exited, returned = stop(running)
    assert status == "0", running.logs()
    assert exited < 10, "SIGTERM was not enough: podman had to kill it"
    FIGURES["podman stop (SIGTERM): the container exited after"] = f"{exited:.2f} s"
    FIGURES["podman stop (SIGTERM): the command returned after"] = f"{returned:.2f} s"


def test_sigterm_while_starting_up_exits_0_too(start: Callable[..., Running]) -> None:
    # A job that stops its service at once, before the server is up (Python still importing):
    # as PID 1 the process ignores a signal it has no handler for, so this needs one early.
    running = start()
    status, exited, _ = stop(running)
    assert status == "0", running.logs()
    assert exited < 10, "SIGTERM was ignored while starting: podman had to kill it"


def test_flowdock_mock_variables_configure_it(start: Callable[..., Running], served: Running) -> None:
    token = "s3cret-admin"
    running = start(
        "--env", "FLOWDOCK_MOCK_SEED=7",
        "--env", f"FLOWDOCK_MOCK_ADMIN_TOKEN={token}",
        "--env", "FLOWDOCK_MOCK_STRICT=1",
    )  # fmt: skip
    running.wait_ready()
    admin = {"Authorization": f"Bearer {token}"}
    # The admin token gates the control API...
    refused = running.get("/_mock/state")
    assert refused is not None and refused.status_code == 401
    state = running.get("/_mock/state", headers=admin)
    assert state is not None and state.status_code == 200
    # ...which shows the world of seed 7: the generator's, not the default one.
    world = state.json()
    assert world["seed"] == 7
    assert [u["name"] for u in world["users"]] == [u["name"] for u in generate(7)["users"]]
    assert [u["name"] for u in world["users"]] != [u["name"] for u in generate(DEFAULT_SEED)["users"]]
    # Strict mode refuses a parameter the contract does not declare; the default image accepts it.
    strict = running.get("/flows", params={"undeclared": "1"}, auth=AUTH)
    assert strict is not None and strict.status_code == 400
    lenient = served.get("/flows", params={"undeclared": "1"}, auth=AUTH)
    assert lenient is not None and lenient.status_code == 200


def test_a_state_document_mounted_read_only_is_served(start: Callable[..., Running], tmp_path: Path) -> None:
    world = json.loads((ROOT / "fixtures" / "default-world.json").read_text(encoding="utf-8"))
    world["flows"][0]["name"] = "Mounted from the host"
    document = tmp_path / "world.json"
    document.write_text(json.dumps(world), encoding="utf-8")
    document.chmod(0o644)  # the server's uid is not the file's owner
    running = start(
        "--volume", f"{document}:/data/world.json:ro",
        command=("flowdock-mock", "serve", "--fixtures", "/data/world.json"),
    )  # fmt: skip
    running.wait_ready()
    flows = running.get("/flows", auth=AUTH)
    assert flows is not None and flows.status_code == 200
    assert "Mounted from the host" in {flow["name"] for flow in flows.json()}
    # Read-only even for root in the container, and the host's file is unchanged.
    written = running.exec("sh", "-c", "echo x >> /data/world.json", user="0")
    assert written.returncode != 0 and "Read-only file system" in written.stderr
    assert json.loads(document.read_text(encoding="utf-8")) == world
