"""Schemathesis over the control API's bot-testing kit (spec/control.yaml, tag Kit).

Every Kit operation of the spec the mock publishes at /_mock/openapi.json, with every check, against
a fresh in-process mock (strict mode, response validation on), with the same bounds as the Flowdock
run (tests/contract/conftest.py). Waits are capped to a few milliseconds so a generated timeout of
60 s does not hold the run; everything else is sent as generated. Webhook URLs the fuzzer invents
are refused unless they are loopback ones (runtime/webhooks.py), so the run calls nothing else.
"""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from mock_server.app import create_app
from mock_server.contract import load_control_spec
from tests.contract.conftest import CONFIG_PATH, ROOT, RUN_BOUNDS

pytestmark = pytest.mark.contract

WAIT_CAP_S = 0.05
"""The longest wait a generated case may ask for (a wait that times out answers 408 all the same)."""

FLOWDOCK_ONLY = ("auth", "operations", "parameters", "dictionaries")
"""Sections of schemathesis.toml about the Flowdock contract (its credentials, operations, names)."""


EXPECTED_REFUSALS: dict[str, frozenset[int]] = {
    # A wait whose condition never holds answers 408 however valid its query.
    **dict.fromkeys(("waitForEvent", "waitForStream", "listWebhookDeliveries"), frozenset({400, 404, 408})),
    # Schema-valid yet refused by the world: an event of a type or shape asyncapi.yaml refuses, a
    # user or flow the world lacks, a webhook URL that is not loopback, an instant not ISO 8601.
    **dict.fromkeys(("injectEvent", "createWebhook", "setClock"), frozenset({400, 403, 404})),
    # Generated text is rarely a playable convo file, or names a bot, speaker or flow the world lacks.
    "playConversation": frozenset({400, 404}),
    # A user or flow the world lacks; a world already running its 16 presence/typing schedules.
    "generateActivity": frozenset({400, 403, 404, 429}),
    # A schedule that has ended or never existed.
    "stopActivity": frozenset({400, 404}),
}
"""Refusals a schema-valid request may get, per operation, each with its reason: for these,
Schemathesis's positive_data_acceptance is replaced by this narrower list (every other check runs)."""


def control_config() -> SchemathesisConfig:
    """schemathesis.toml's checks and phases with the run's bounds, without its Flowdock sections."""
    data = tomllib.loads(CONFIG_PATH.read_text(encoding="utf-8"))
    for section in FLOWDOCK_ONLY:
        data.pop(section, None)
    data["seed"] = RUN_BOUNDS["seed"]
    data.setdefault("generation", {}).update(RUN_BOUNDS["generation"])
    return SchemathesisConfig.from_dict(data, base_dir=str(ROOT))


_app = create_app(validate_responses=True, strict=True)
KIT = [
    op["operationId"]
    for item in load_control_spec()["paths"].values()
    for op in item.values()
    if isinstance(op, dict) and "Kit" in op.get("tags", ())
]
"""The operations of the Kit tag."""
schema = schemathesis.openapi.from_asgi("/_mock/openapi.json", _app, config=control_config()).include(
    operation_id=KIT
)


WAITS = ("waitForEvent", "waitForStream", "listWebhookDeliveries")


def _capped(case: Any) -> None:
    """A generated timeout (a number, or its text in the coverage phase) capped at WAIT_CAP_S, and
    the cap when none was generated (the default is 5 s)."""
    if case.operation.definition.raw.get("operationId") == "playConversation":
        if isinstance(case.body, dict):  # a conversation's waits: for the bot, then per step
            for key in ("timeout", "connect_timeout"):
                case.body[key] = WAIT_CAP_S
        return
    if case.operation.definition.raw.get("operationId") not in WAITS:
        return
    if case.query is None:
        case.query = {}
    query = case.query
    value = query.get("timeout")
    if value is None:
        query["timeout"] = WAIT_CAP_S
        return
    if isinstance(value, bool):
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        return
    if number > WAIT_CAP_S:
        query["timeout"] = WAIT_CAP_S


@schema.parametrize()
def test_kit_operation_conforms(case: Any) -> None:
    _capped(case)
    try:
        _conforms(case)
    finally:
        for world in _app.worlds.list():  # schedules a case started stop with it
            world.runtime.activity.clear()


def _conforms(case: Any) -> None:
    refusals = EXPECTED_REFUSALS.get(case.operation.definition.raw.get("operationId", ""))
    if refusals is None:
        case.call_and_validate()
        return
    response = case.call()
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
    meta = case.meta
    schema_valid = (
        meta is not None
        and meta.generation.mode.is_positive
        and case.method.upper() == case.operation.method.upper()
        and case.media_type in (None, "application/json")
    )
    if schema_valid:
        assert response.status_code < 300 or response.status_code in refusals, response.text
