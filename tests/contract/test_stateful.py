"""The stateful phase: chains of linked calls, create -> read -> update -> delete.

Schemathesis builds a state machine from the spec's OpenAPI ``links`` (createFlow -> getFlow /
updateFlow / listFlowUsers / sendFlowMessage; sendFlowMessage -> showMessage / editMessage /
deleteMessage / createMessageComment; sendPrivateMessage -> its show/edit/delete; createSource ->
getSource / updateSource / deleteSource; createInvitation -> getInvitation / deleteInvitation)
and runs bounded, derandomized scenarios against a mock of its own (fresh store). Every step is
checked with all checks, including the stateful ones (use_after_free, ensure_resource_availability).
"""

from __future__ import annotations

import hypothesis
import pytest

from tests.contract.conftest import fresh_schema

pytestmark = pytest.mark.contract

schema = fresh_schema()
project = schema.config

Workflow = schema.as_state_machine()


class TestFlowdockWorkflows(Workflow.TestCase):  # type: ignore[name-defined,misc]
    settings = hypothesis.settings(
        max_examples=project.generation.max_examples or 8,
        stateful_step_count=project.phases.stateful.max_steps,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
