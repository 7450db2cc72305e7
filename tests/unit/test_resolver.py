"""operationId -> handler: every operation of the spec lands in the module of its tag."""

from __future__ import annotations

import importlib

from mock_server.binding.resolver import TAG_MODULES, handler_name, operation_modules
from mock_server.contract import OperationIndex, load_spec


def test_handler_name_is_the_snake_case_operation_id() -> None:
    assert handler_name("listFlows") == "list_flows"
    assert handler_name("getFlowById") == "get_flow_by_id"
    assert handler_name("removeUserFromOrganization") == "remove_user_from_organization"


def test_every_operation_maps_to_an_existing_handler_module() -> None:
    modules = operation_modules(OperationIndex(load_spec()))
    assert len(modules) >= 46
    for operation_id, module in modules.items():
        assert module in TAG_MODULES.values(), operation_id
        importlib.import_module(f"mock_server.handlers.{module}")


def test_handler_modules_list_only_operations_of_their_tag() -> None:
    modules = operation_modules(OperationIndex(load_spec()))
    expected: dict[str, set[str]] = {}
    for operation_id, module in modules.items():
        expected.setdefault(module, set()).add(handler_name(operation_id))
    for module in set(TAG_MODULES.values()):
        listed = set(importlib.import_module(f"mock_server.handlers.{module}").__all__)
        assert listed <= expected.get(module, set()), f"{module} lists handlers of no operation: {listed}"


def test_resolution_works_through_a_request(alice) -> None:
    # Connexion resolves lazily: only a request proves the binding.
    response = alice.get("/flows")
    assert response.status_code == 200
    assert {f["parameterized_name"] for f in response.json()} == {"main", "dev", "support"}


def test_every_operation_of_both_specs_is_implemented() -> None:
    # The 501 fallback exists for operations under construction; none is left.
    from mock_server.binding.resolver import CONTROL_TAG_MODULES, find_handler
    from mock_server.contract import OperationIndex, load_control_spec

    missing = [
        op
        for op, module in operation_modules(OperationIndex(load_spec())).items()
        if find_handler(module, op) is None
    ]
    control = operation_modules(OperationIndex(load_control_spec()), CONTROL_TAG_MODULES)
    missing += [
        op for op, module in control.items() if find_handler(module, op, "mock_server.control") is None
    ]
    assert not missing
