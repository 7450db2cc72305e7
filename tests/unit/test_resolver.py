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


def test_each_operation_is_resolved_once_for_all_of_connexions_layers(monkeypatch) -> None:
    # Connexion's routing, security, validation and context layers and the handlers' app each
    # resolve every operation again; finding its handler (module, name) happens once per app.
    from collections import Counter

    from mock_server.app import create_app
    from mock_server.binding import resolver
    from mock_server.contract import load_control_spec

    found: Counter[str] = Counter()
    real = resolver.find_handler

    def counting(module_name: str, operation_id: str, package: str = "mock_server.handlers") -> object:
        found[operation_id] += 1
        return real(module_name, operation_id, package)

    monkeypatch.setattr(resolver, "find_handler", counting)
    app = create_app(validate_responses=True)
    assert app.test_client().get("/flows").status_code == 401  # the first request builds the layers
    operations = [*OperationIndex(load_spec()).operations, *OperationIndex(load_control_spec()).operations]
    assert found == Counter(operations)


def test_each_operation_is_built_once_and_shared_by_connexions_layers(monkeypatch) -> None:
    # Connexion's routing, security, request and response validation and context layers and the
    # handlers' app each build their own operation objects from the same specification: the
    # dispatch builds each operation once (binding/dispatch.py BuiltOnce) and gives every layer it.
    from collections import Counter

    from connexion.operations import OpenAPIOperation

    from mock_server.app import create_app
    from mock_server.contract import load_control_spec

    built: Counter[str] = Counter()
    real = OpenAPIOperation.from_spec.__func__  # type: ignore[attr-defined]

    def counting(cls, spec, *args, path, method, **kwargs):  # type: ignore[no-untyped-def]
        operation = real(cls, spec, *args, path=path, method=method, **kwargs)
        built[operation.operation_id] += 1
        return operation

    monkeypatch.setattr(OpenAPIOperation, "from_spec", classmethod(counting))
    app = create_app(validate_responses=True)
    assert app.test_client().get("/flows").status_code == 401  # the first request builds the layers
    operations = [*OperationIndex(load_spec()).operations, *OperationIndex(load_control_spec()).operations]
    assert built == Counter(operations)

    from mock_server.binding.dispatch import Dispatch

    app = create_app(validate_responses=True)
    dispatch = Dispatch(app.middleware, app._middleware_app)
    for operation in dispatch.operations.values():
        assert operation.request._operation is operation.context
        assert operation.response._operation is operation.context
    assert "operation_cls" not in vars(app.middleware.apis[0].specification)  # the class's again
