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
from hypothesis import strategies as st
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
    "phases": {
        "stateful": {
            "max-steps": 15,
            # Only the spec's own links (create -> read -> update -> delete). Schemathesis also
            # infers links (Location headers, matching field names); in a bounded run those
            # mostly pair unrelated ids (a flow's id as a source id: 404) and take the budget the
            # declared chains need. `make fuzz` keeps inference on.
            "inference": {"algorithms": []},
        }
    },
}
"""What `make test` adds to schemathesis.toml: bounded and seeded, a few minutes on 2 cores."""
STATEFUL_SCENARIOS = 70
"""Scenarios of the stateful phase (each up to ``max-steps`` linked calls): about 30 s on 2 cores,
enough for every chain step of test_stateful.CHAINS to succeed several times (each at least 8)."""

WORLD_PATH_VALUES: dict[str, tuple[str, ...]] = {
    # Alice (the run's user) is an admin of acme and a member of these three flows.
    "organization": ("acme",),
    "parameterized_name": ("acme",),
    "flow": ("main", "dev", "support"),
}
"""Path values of the seeded world that the run's user may write to."""
PRIVATE_PEER = 2
"""Bob: the user alice's private conversation paths (``/private/{id}...``) name."""
WORLD_VALUE_SHARE = 8
"""Out of 10 generated path-parameter sets, how many get the world's values."""


def _usable(value: Any, kind: type) -> bool:
    """A generated value of the declared type (not a negative-mode mutation, which stays as drawn)."""
    if kind is str:
        return isinstance(value, str) and 1 <= len(value) <= 100
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def world_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """``flatmap_path_parameters`` hook: most generated org/flow names become the world's.

    Random names almost always end in 404, so a chain of linked calls (create -> read -> update
    -> delete) never starts. Values a link supplies are not seen here (Schemathesis passes only
    the parameters it still has to generate), and a value that is not of the declared type is a
    negative-mode mutation and is kept, so negative cases stay negative.
    """
    if not path_parameters:
        return st.just(path_parameters)
    replacements: dict[str, Any] = {}
    for name, values in WORLD_PATH_VALUES.items():
        if _usable(path_parameters.get(name), str):
            replacements[name] = st.sampled_from(values)
    path = context.operation.path if context.operation is not None else ""
    if path.startswith("/private/{id}") and _usable(path_parameters.get("id"), int):
        replacements["id"] = st.just(PRIVATE_PEER)
    if not replacements:
        return st.just(path_parameters)
    return st.tuples(st.integers(0, 9), st.fixed_dictionaries(replacements)).map(
        lambda drawn: {**path_parameters, **drawn[1]} if drawn[0] < WORLD_VALUE_SHARE else path_parameters
    )


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


COMPATIBLE_MODE_CHECKS: dict[str, Any] = {
    # negative_data_rejection: compatible mode (the default) accepts, by design, requests the
    # contract calls invalid: `tags` as a comma string, booleans as 1/0/"true", null for optional
    # fields, undeclared query parameters ignored (middleware/normalize/, docs/flowdock.md §1.1, §8). The strict run
    # keeps this check; tests/api/test_legacy.py covers each legacy form.
    "negative_data_rejection": {"enabled": False},
}
"""Checks the compatible-mode run turns off, each because the mode contradicts it by design."""
COMPATIBLE_EXAMPLES = 5
"""``max-examples`` of the compatible-mode run (the strict run has RUN_BOUNDS'), to bound its time."""


def contract_config(oauth_token: str, *, strict: bool = True) -> SchemathesisConfig:
    """The shared settings file (found by path, not the working directory), the run's token, bounds;
    for the compatible-mode run, fewer examples and the checks that mode contradicts turned off."""
    text = CONFIG_PATH.read_text(encoding="utf-8").replace("${FLOWDOCK_MOCK_OAUTH_TOKEN}", oauth_token)
    data = tomllib.loads(text)
    data["seed"] = RUN_BOUNDS["seed"]
    data.setdefault("generation", {}).update(RUN_BOUNDS["generation"])
    for phase, settings in RUN_BOUNDS["phases"].items():
        data.setdefault("phases", {}).setdefault(phase, {}).update(settings)
    if not strict:
        data["generation"]["max-examples"] = COMPATIBLE_EXAMPLES
        data.setdefault("checks", {}).update(COMPATIBLE_MODE_CHECKS)
    return SchemathesisConfig.from_dict(data, base_dir=str(ROOT))


def fresh_contract(*, strict: bool = True) -> tuple[Any, Any, str]:
    """A new mock (fresh store, response validation on), the spec it publishes bound to it, and
    the OAuth token issued for the run. ``strict``: the contract exactly (schemathesis.toml);
    otherwise the default, compatible mode that users run."""
    app = create_app(validate_responses=True, strict=strict)
    token = issue_token(app)
    config = contract_config(token, strict=strict)
    return app, schemathesis.openapi.from_asgi("/openapi.json", app, config=config), token


def fresh_schema(*, strict: bool = True) -> Any:
    """A new mock and the spec it publishes, bound to it (see ``fresh_contract``)."""
    return fresh_contract(strict=strict)[1]


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
