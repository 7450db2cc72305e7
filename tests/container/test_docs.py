"""docs/containers.md's CI examples: the GitHub Actions job lints clean with actionlint, the GitLab
job declares the mock as a service and its health wait really waits for a live mock. No podman."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from mock_server.pytest_plugin import FlowdockMock
from tests.container.conftest import ROOT

DOCS = (ROOT / "docs" / "containers.md").read_text(encoding="utf-8")
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def yaml_blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```$", DOCS, flags=re.MULTILINE | re.DOTALL)


def github_job() -> str:
    return next(block for block in yaml_blocks() if "runs-on:" in block)


def gitlab_job() -> dict[str, object]:
    return dict(next(yaml.safe_load(block) for block in yaml_blocks() if "runs-on:" not in block)["test"])


def test_the_github_actions_example_lints_clean(tmp_path: Path) -> None:
    workflow = tmp_path / "example.yml"
    workflow.write_text("on: push\n" + github_job(), encoding="utf-8")
    done = subprocess.run(
        [str(ACTIONLINT), "-no-color", str(workflow)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    service = yaml.safe_load(github_job())["jobs"]["test"]["services"]["flowdock"]
    assert "--health-cmd" in service["options"]
    assert all(str(port).startswith("127.0.0.1:") for port in service["ports"])


def test_the_gitlab_example_waits_for_the_service_health(flowdock_mock: FlowdockMock) -> None:
    job = gitlab_job()
    services = job["services"]
    assert isinstance(services, list) and services[0]["alias"] == "flowdock"
    wait = str(job["script"][0])  # type: ignore[index]
    program = wait.split("<<'EOF'\n", 1)[1].rsplit("EOF", 1)[0]
    program = program.replace("http://flowdock:8080", flowdock_mock.base_url)
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    # And it does fail when nothing answers (a closed port).
    closed = program.replace(flowdock_mock.base_url, "http://127.0.0.1:9").replace("range(120)", "range(2)")
    done = subprocess.run(
        [sys.executable, "-c", closed], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0 and "did not become healthy" in done.stderr
