"""The contract run's app and schema: a fresh mock per run, loaded the way Schemathesis sees it.

Schemathesis reads the spec the mock itself publishes at ``/openapi.json`` (so the run tests what
clients get, not a file on disk) and calls the ASGI app in-process. Its settings come from the
repository's ``schemathesis.toml``, shared with ``make fuzz``: auth, seed, bounds, and every
narrowing of a check with its reason. Filled in here: the OAuth token, which the fresh store issues
at run time, and the run's bounds (``RUN_BOUNDS``).

The schema is loaded when a test module is imported, not in a fixture:
``schemathesis.pytest.from_fixture`` (4.32.5) sets ``request.node._nodeid``, which pytest 9.2 no
longer has, so the lazy loader fails before any case runs.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig

from mock_server.app import create_app
from mock_server.world import MAIN_USER, OAUTH_APP

ROOT = Path(__file__).resolve().parents[2]
CONFIG_PATH = ROOT / "schemathesis.toml"
ALL_SCOPES = "flow private manage profile offline_access integration"

RUN_BOUNDS: dict[str, Any] = {
    # The same cases on every run: a fixed seed, and Hypothesis derandomized.
    "seed": 20230815,
    "generation": {"deterministic": True, "max-examples": 8, "no-shrink": True},
    # A scenario is a chain of linked calls (create -> read -> update -> delete) with room for
    # more; `make fuzz` runs longer ones.
    "phases": {"stateful": {"max-steps": 10}},
}
STATEFUL_SCENARIOS = 40
"""Scenarios of the stateful phase (each up to ``max-steps`` linked calls)."""
"""What `make test` adds to schemathesis.toml: bounded and seeded, a few minutes on 2 cores."""


def issue_token(app: Any) -> str:
    """An OAuth access token for the main user with every scope (password grant, as a client would)."""
    response = app.store.oauth.oauth_token(
        {
            "grant_type": "password",
            "client_id": OAUTH_APP["client_id"],
            "client_secret": OAUTH_APP["client_secret"],
            "username": MAIN_USER["email"],
            "password": MAIN_USER["password"],
            "scope": ALL_SCOPES,
        }
    )
    return str(response["access_token"])


def contract_config(oauth_token: str) -> SchemathesisConfig:
    """The shared settings file (found by path, not the working directory), the run's token, bounds."""
    text = CONFIG_PATH.read_text(encoding="utf-8").replace("${FLOWDOCK_MOCK_OAUTH_TOKEN}", oauth_token)
    data = tomllib.loads(text)
    data["seed"] = RUN_BOUNDS["seed"]
    data.setdefault("generation", {}).update(RUN_BOUNDS["generation"])
    for phase, settings in RUN_BOUNDS["phases"].items():
        data.setdefault("phases", {}).setdefault(phase, {}).update(settings)
    return SchemathesisConfig.from_dict(data, base_dir=str(ROOT))


def fresh_contract() -> tuple[Any, Any, str]:
    """A new mock (fresh store, response validation on), the spec it publishes bound to it, and
    the OAuth token issued for the run."""
    app = create_app(validate_responses=True, strict=True)  # the contract exactly (schemathesis.toml)
    token = issue_token(app)
    return app, schemathesis.openapi.from_asgi("/openapi.json", app, config=contract_config(token)), token


def fresh_schema() -> Any:
    """A new mock and the spec it publishes, bound to it (see ``fresh_contract``)."""
    return fresh_contract()[1]


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Give each operation's test its own node id, ``test_operation_conforms[GET /flows]``.

    pytest 9.2 builds a Function's id from ``originalname`` and the callspec only, so every item
    Schemathesis generates from one test function gets the same id and reports cannot tell the
    operations apart. The label is put back as the id's parameter part.
    """
    for item in items:
        label = getattr(item, "operation_label", None)
        if label is not None and item.nodeid.endswith(f"::{item.originalname}"):
            item._id = item._id.with_params(label)
