"""The stateful phase: chains of linked calls, create -> read -> update -> delete.

Schemathesis builds a state machine from the spec's OpenAPI ``links`` (createFlow -> getFlow /
updateFlow / listFlowUsers / sendFlowMessage; sendFlowMessage -> showMessage / editMessage /
deleteMessage / createMessageComment; sendPrivateMessage -> its show/edit/delete; createSource ->
getSource / updateSource / deleteSource; createInvitation -> getInvitation / deleteInvitation)
and runs bounded, derandomized scenarios against a mock of its own (fresh store). Every step is
checked with all checks, including the stateful ones (use_after_free, ensure_resource_availability),
except that a multipart case drawn as negative whose parts, sent as text, are valid is not held to
``negative_data_rejection`` (``valid_as_sent``: a number drawn for a string field reaches the mock
as its digits, a valid string; Schemathesis 4.32 reports the mock's 201 as a missed rejection).

A scenario's first call gets the seeded world's organization and flow names most of the time
(``world_path_parameters``), so the create calls succeed and the links have something to follow.
The test then proves every chain was followed through its links at least once; which steps a
bounded random run completes varies, so test_links.py walks each declared link deterministically.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import hypothesis
import jsonschema
import pytest
from hypothesis.stateful import Bundle
from schemathesis.core.transforms import to_wire_text
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.stateful.state_machine import StepInput, normalize_name
from schemathesis.python._constants.orchestrator import make_constants_value_source
from schemathesis.specs.openapi.checks import negative_data_rejection
from schemathesis.specs.openapi.stateful import _step_case_strategy, is_root_allowed, transition

from tests.contract.conftest import (
    STATEFUL_SCENARIOS,
    fresh_contract,
    issue_token,
    world_path_parameters,
)

pytestmark = pytest.mark.contract

app, schema, _ = fresh_contract()
schema.hooks.register_hook_with_name(world_path_parameters, "flatmap_path_parameters")
project = schema.config

CHAINS: dict[str, tuple[str, dict[str, str]]] = {
    # Flowdock had no way to delete a flow (it is closed with updateFlow `open: false`).
    "flow": ("createFlow", {"read": "getFlow", "update": "updateFlow"}),
    "message": (
        "sendFlowMessage",
        {"read": "showMessage", "update": "editMessage", "delete": "deleteMessage"},
    ),
    "source": ("createSource", {"read": "getSource", "update": "updateSource", "delete": "deleteSource"}),
    # An invitation is not edited: Flowdock had no update operation for it.
    "invitation": ("createInvitation", {"read": "getInvitation", "delete": "deleteInvitation"}),
}
"""Each chain: the creating operation, and the operation its links lead to for each step."""

LINKED_2XX: Counter[tuple[str, str]] = Counter()
"""(source operationId, target operationId) -> linked calls that got a 2xx, over the whole run."""


def operation_id(case: Any) -> str:
    return str(case.operation.definition.raw.get("operationId"))


def fully_linked(step: Any) -> bool:
    """Every value the link could supply was used (Schemathesis sometimes swaps one for a generated
    value to explore), so the call really addressed the resource the previous call created."""
    transition = step.transition
    if transition is None:
        return False
    wanted = sum(len(values) for values in transition.parameters.values())
    return wanted > 0 and len(step.applied_parameters) == wanted


EXTRA_ROOTS = ("sendFlowMessage", "sendPrivateMessage")
"""Creating operations the generated machine would only reach through a link, made entry points.

Schemathesis starts scenarios only at "reliable" roots; its dependency analysis reads the
optional ``thread_id`` of a message as a reference to a Thread that no operation creates and
demotes both message senders, so a message chain could start only behind createFlow (at most two
messages per scenario). Their root rules are built here the way ``create_state_machine`` builds
the others (Schemathesis 4.32.5, pinned in constraints.txt).
"""


def with_extra_roots(machine: Any) -> Any:
    feedback = FeedbackSources(constants_value_source=make_constants_value_source(schema))
    rules: dict[str, Any] = {}
    labels = set(machine._root_labels)
    for operation_id_ in EXTRA_ROOTS:
        operation = schema.find_operation_by_id(operation_id_)
        name = normalize_name(f"RANDOM -> {operation.label}")
        if operation.label in labels or hasattr(machine, name):
            continue
        modes = schema.config.generation_for(operation=operation, phase="stateful").modes
        strategy = _step_case_strategy(operation, modes, feedback=feedback)
        rules[name] = transition(
            name=name,
            target=Bundle("catch_all"),
            precondition=is_root_allowed(operation.label),
            input=strategy.map(StepInput.initial),
        )
        labels.add(operation.label)
    attributes = {"root_rules": machine.root_rules | set(rules), "_root_labels": frozenset(labels), **rules}
    return type(machine.__name__, (machine,), attributes)


Workflow = with_extra_roots(schema.as_state_machine())


class FlowdockWorkflow(Workflow):  # type: ignore[misc,valid-type]
    """The generated state machine: each scenario starts from the seeded world, createSource gets
    its OAuth token (the state machine applies the Basic credentials of schemathesis.toml but not
    its per-operation headers), and linked calls that succeed are counted."""

    def setup(self) -> None:
        # Scenarios replay (Hypothesis re-runs a failing one): the same world makes the same run.
        app.store.reset()
        with app.store.lock:
            token = issue_token(app)
        self.oauth_token = token
        self.sources: dict[str, str] = {}

    def step(self, input: Any) -> Any:
        if fully_linked(input):
            self.sources[input.case.id] = operation_id(self._parent_case(input.transition.parent_id))
        return super().step(input)

    def _parent_case(self, case_id: str) -> Any:
        return self.recorder.cases[case_id].value

    def before_call(self, case: Any) -> None:
        if operation_id(case) == "createSource":
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {self.oauth_token}"}

    def after_call(self, response: Any, case: Any) -> None:
        super().after_call(response, case)
        source = self.sources.pop(case.id, None)
        if source is not None and 200 <= response.status_code < 300:
            LINKED_2XX[(source, operation_id(case))] += 1

    def validate_response(
        self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        if not valid_as_sent(case):
            super().validate_response(response, case, additional_checks, **kwargs)
            return
        # A "negative" multipart case whose mutations the wire undoes (every part is text): the
        # request the mock received was valid, so accepting it is right, not a missed rejection.
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=[negative_data_rejection],
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def valid_as_sent(case: Any) -> bool:
    """Whether a multipart body, as its parts reach the server, is valid against its schema.

    Schemathesis's stateful cases may mutate a multipart field's type (``tags``, a string, drawn
    as a number); on the wire every part is text (Schemathesis sends a number as its digits, a
    boolean, null or object as its JSON spelling), so the mutation is gone and the request is
    valid. Only a body of single parts is judged here; anything else stays negative.
    """
    if case.media_type != "multipart/form-data" or not isinstance(case.body, dict):
        return False
    sent = {}
    for name, value in case.body.items():
        if isinstance(value, list):
            return False  # repeated parts: left to the check
        if isinstance(value, bytes):
            sent[name] = value.decode("latin-1")
        else:
            sent[name] = value if isinstance(value, str) else to_wire_text(value)
    content = case.operation.definition.raw["requestBody"]["content"]["multipart/form-data"]
    return bool(jsonschema.Draft4Validator(content["schema"]).is_valid(sent))


SETTINGS = hypothesis.settings(
    max_examples=STATEFUL_SCENARIOS,
    stateful_step_count=project.phases.stateful.max_steps,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)


def test_linked_workflows_conform() -> None:
    LINKED_2XX.clear()
    FlowdockWorkflow.run(settings=SETTINGS)
    reached = {
        chain: {step: LINKED_2XX[(creator, target)] for step, target in steps.items()}
        for chain, (creator, steps) in CHAINS.items()
    }
    print(f"\nlinked calls answered 2xx per chain: {reached}")
    # Which steps Hypothesis happens to complete shifts with any change to the app or to what the
    # process imported first (seen: one step of one chain at 0 in a full run, 2-15 alone), so this
    # run only has to prove that every chain was entered through its links. test_links.py walks
    # every declared link step by step, deterministically.
    idle = [chain for chain, steps in reached.items() if not any(steps.values())]
    assert not idle, f"chains never followed through a link: {idle}; all linked 2xx: {dict(LINKED_2XX)}"


MESSAGES = "/flows/{organization}/{flow}/messages"


@pytest.mark.parametrize(
    ("media_type", "body", "valid"),
    [
        # the case CI met: tags and uuid drawn as numbers, sent as their digits
        ("multipart/form-data", {"event": "file", "content": b"\xff", "tags": 2.8e59, "uuid": 1.8e88}, True),
        ("multipart/form-data", {"event": "file", "content": b"x", "tags": True}, True),  # sent as `true`
        ("multipart/form-data", {"event": "file", "content": b"x", "size": 3}, False),  # an undeclared part
        ("multipart/form-data", {"content": b"x", "tags": 1}, False),  # no `event`
        ("multipart/form-data", {"event": "image", "content": b"x"}, False),  # not the enum's
        ("multipart/form-data", {"event": "file", "content": b"x", "tags": [1, 2]}, False),  # repeated parts
        ("application/json", {"event": "message", "content": 1}, False),  # JSON keeps its types
    ],
)
def test_valid_as_sent__judges_a_multipart_body_as_its_text_parts(
    media_type: str, body: dict[str, Any], valid: bool
) -> None:
    case = schema[MESSAGES]["POST"].Case(media_type=media_type, body=body)
    assert valid_as_sent(case) is valid
