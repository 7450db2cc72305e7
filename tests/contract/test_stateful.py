"""The stateful phase: chains of linked calls, create -> read -> update -> delete.

Schemathesis builds a state machine from the spec's OpenAPI ``links`` (createFlow -> getFlow /
updateFlow / listFlowUsers / sendFlowMessage; sendFlowMessage -> showMessage / editMessage /
deleteMessage / createMessageComment; sendPrivateMessage -> its show/edit/delete; createSource ->
getSource / updateSource / deleteSource; createInvitation -> getInvitation / deleteInvitation)
and runs bounded, derandomized scenarios against a mock of its own (fresh store). Every step is
checked with all checks, including the stateful ones (use_after_free, ensure_resource_availability).
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest

from tests.contract.conftest import STATEFUL_SCENARIOS, fresh_contract, issue_token

pytestmark = pytest.mark.contract

app, schema, _ = fresh_contract()
project = schema.config

Workflow = schema.as_state_machine()


class FlowdockWorkflow(Workflow):  # type: ignore[misc,valid-type]
    """The generated state machine: each scenario starts from the seeded world, and createSource
    gets its OAuth token (the state machine applies the Basic credentials of schemathesis.toml
    but not its per-operation headers)."""

    def setup(self) -> None:
        # Scenarios replay (Hypothesis re-runs a failing one): the same world makes the same run.
        app.store.reset()
        with app.store.lock:
            token = issue_token(app)
        self.oauth_token = token

    def before_call(self, case: Any) -> None:
        if case.operation.definition.raw.get("operationId") == "createSource":
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {self.oauth_token}"}


class TestFlowdockWorkflows(FlowdockWorkflow.TestCase):  # type: ignore[name-defined,misc]
    settings = hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=project.phases.stateful.max_steps,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
