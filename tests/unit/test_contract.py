"""The one index of the contract's operations (mock_server/contract.py)."""

from __future__ import annotations

import pytest

from mock_server.contract import HTTP_METHODS, OperationIndex, load_control_spec, load_spec

SPEC = load_spec()
INDEX = OperationIndex(SPEC)


def test_every_operation_of_the_document_is_indexed_once_in_spec_order() -> None:
    walked = [
        (item[m]["operationId"], m.upper(), template)
        for template, item in SPEC["paths"].items()
        for m in HTTP_METHODS
        if m in item
    ]
    assert [(op.operation_id, op.method, op.template) for op in INDEX.operations.values()] == walked
    assert len(walked) == len({op_id for op_id, _, _ in walked})


def test_a_path_entry_lists_its_methods_sorted() -> None:
    entry = INDEX.match("/flows/acme/main")
    assert entry is not None
    assert entry.template == "/flows/{organization}/{flow}"
    assert list(entry.methods) == sorted(entry.operations)
    assert {"GET", "PUT"} <= set(entry.methods)


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/flows", "/flows"),  # literal
        ("/flows/all", "/flows/all"),  # a literal wins over /flows/{organization}... templates
        ("/flows/acme/main/messages", "/flows/{organization}/{flow}/messages"),
        ("/flows/acme/main/messages/7", "/flows/{organization}/{flow}/messages/{id}"),
        # fewer parameters first, whatever the document's order
        ("/flows/acme/main/invitations/import", "/flows/{organization}/{flow}/invitations/import"),
        ("/flows/acme/main/invitations/3", "/flows/{organization}/{flow}/invitations/{id}"),
        ("/nowhere", None),
        ("/flows/acme/main/messages/7/extra/more", None),
    ],
)
def test_match__maps_a_concrete_path_onto_its_template(path: str, template: str | None) -> None:
    entry = INDEX.match(path)
    assert (entry.template if entry is not None else None) == template


def test_the_control_contract_is_indexed_the_same_way() -> None:
    control = OperationIndex(load_control_spec())
    assert control.operations
    assert all(op.tags for op in control.operations.values())


def test_match__compiles_a_first_segment_s_templates_when_a_path_needs_them() -> None:
    # a start builds the index without compiling a pattern; a path compiles its first segment's
    # alternation once, and every templated path still finds its template
    import re

    index = OperationIndex(load_spec())
    assert all(alternation.pattern is None for alternation in index._templated.values())
    assert index.match("/flows") is not None  # a literal path: nothing compiled
    assert all(alternation.pattern is None for alternation in index._templated.values())
    for entry in index.paths:
        if "{" in entry.template:
            concrete = re.sub(r"\{[^/]+\}", "x1", entry.template)
            found = index.match(concrete)
            assert found is not None and found.template.count("{") <= entry.template.count("{")
    assert all(alternation.pattern is not None for alternation in index._templated.values())
    compiled = index._templated["flows"].pattern
    index.match("/flows/acme/main")
    assert index._templated["flows"].pattern is compiled  # compiled once
