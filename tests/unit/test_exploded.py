"""The Streaming API's "``filter`` or ``user=1``", stated by the contract as one exploded ``form``
object (``streamFlows``' ``selection``) and read from the query string by binding/exploded.py."""

from __future__ import annotations

from typing import Any

import pytest
from connexion.uri_parsing import OpenAPIURIParser
from jsonschema import Draft4Validator

from mock_server import errors
from mock_server.app import create_app
from mock_server.binding.dispatch import Dispatch
from mock_server.binding.exploded import REFUSAL_KEY, ExplodedQueryParser, exploded_error
from mock_server.contract import OperationIndex, deref, exploded_properties, load_spec
from mock_server.middleware.normalize.spec_index import SpecIndex

SPEC = load_spec()


def _selection() -> dict[str, Any]:
    op = SPEC["paths"]["/stream/flows"]["get"]
    params = [deref(SPEC, p) for p in op["parameters"]]
    return next(p for p in params if p["name"] == "selection")


@pytest.fixture(scope="module")
def dispatch() -> Dispatch:
    app = create_app(strict=True)
    return Dispatch(app.middleware, app._middleware_app)


@pytest.mark.parametrize(
    ("query", "valid"),
    [
        ({"filter": "acme/main"}, True),
        ({"user": 1}, True),
        ({"filter": "acme/main,acme/dev", "user": 1}, True),
        ({"filter": "acme/main", "user": 0}, True),
        ({"filter": ",", "user": 1}, True),  # no flow, but the private messages
        ({}, False),  # neither
        ({"user": 0}, False),
        ({"filter": ""}, False),
        ({"filter": " , "}, False),  # names no flow (the store splits on commas and strips)
        ({"filter": "acme/main", "other": 1}, False),  # only the two: an object has no other wire names
    ],
)
def test_the_contract_states_filter_or_user_1(query: dict[str, Any], valid: bool) -> None:
    param = _selection()
    assert (param["in"], param["required"], param["style"], param["explode"]) == ("query", True, "form", True)
    assert Draft4Validator(param["schema"]).is_valid(query) is valid


def test_the_contracts_refusal_is_the_streams_own() -> None:
    """The stream response refuses a selection of no flow in the same words (its last defence)."""
    assert _selection()["schema"][REFUSAL_KEY] == errors.STREAM_NEEDS_FILTER


def test_only_form_exploded_objects_are_sent_as_their_properties() -> None:
    param = _selection()
    assert exploded_properties(param) == ("filter", "user")
    assert exploded_properties({**param, "explode": False}) == ()
    assert exploded_properties({**param, "style": "deepObject"}) == ()
    assert exploded_properties({**param, "in": "header"}) == ()
    assert exploded_properties({"in": "query", "name": "limit", "schema": {"type": "integer"}}) == ()
    referred = {**param, "schema": {"$ref": "#/components/schemas/Selection"}}
    spec = {"components": {"schemas": {"Selection": param["schema"]}}}
    assert exploded_properties(referred, spec) == ("filter", "user")


@pytest.mark.parametrize(
    ("query", "resolved"),
    [
        (
            {"filter": ["acme/main"], "active": ["idle"], "user": ["1"]},
            {"selection": {"filter": "acme/main", "user": 1}, "active": "idle"},
        ),
        ({"user": ["1"]}, {"selection": {"user": 1}}),
        (
            {"filter": ["acme/dev", "acme/main"]},
            {"selection": {"filter": "acme/main"}},
        ),  # the last, as for any
        ({"user": ["abc"]}, {"selection": {"user": "abc"}}),  # left for the validator to refuse
        ({}, {"selection": {}}),
        ({"selection": ["x"], "bogus": ["1"]}, {"selection": {}, "bogus": ["1"]}),  # not wire names
    ],
)
def test_the_parser_gathers_the_object_from_its_properties(
    dispatch: Dispatch, query: dict[str, list[str]], resolved: dict[str, Any]
) -> None:
    parser = dispatch.operations[("", "streamFlows")].uri_parser
    assert isinstance(parser, ExplodedQueryParser)
    assert parser.resolve_query(query) == resolved


def test_the_parser_reads_every_other_operation_as_connexion_does(dispatch: Dispatch) -> None:
    query = {"limit": ["5"], "tags": ["a,b"], "since_id": ["3"], "sort": ["asc"], "event": ["message"]}
    operation = dispatch.operations[("", "listFlowMessages")]
    stock = OpenAPIURIParser(operation.request._operation.parameters, {})
    assert operation.uri_parser.resolve_query(dict(query)) == stock.resolve_query(dict(query))
    other = dispatch.operations[("", "streamFlow")].uri_parser  # the one-flow stream: plain `user`
    assert other.owners == {}
    assert other.resolve_query({"user": ["1"]}) == {"user": 1}


@pytest.mark.parametrize(
    ("value", "answer"),
    [
        ({"filter": "acme/main"}, None),
        ({"user": 1}, None),
        ({}, f"{errors.STREAM_NEEDS_FILTER} - 'filter'"),
        ({"user": 0}, f"{errors.STREAM_NEEDS_FILTER} - 'filter'"),
        ({"filter": ","}, f"{errors.STREAM_NEEDS_FILTER} - 'filter'"),
        ({"user": 2}, "2 is not one of [0, 1] - 'user'"),  # the property's own fault first
        ({"user": "abc", "filter": "acme/main"}, "'abc' is not of type 'integer' - 'user'"),
        ({"filter": "x" * 4097}, f"{'x' * 4097!r} is too long - 'filter'"),
    ],
)
def test_errors_name_the_property_on_the_wire(value: dict[str, Any], answer: str | None) -> None:
    assert exploded_error(value, _selection()) == answer


def test_the_normaliser_knows_the_properties_as_the_querys_names() -> None:
    """Compatible mode respells ``user=true`` as it did when ``user`` was a parameter of its own."""
    route = SpecIndex(OperationIndex(SPEC)).match("/stream/flows")
    assert route is not None
    query = route.operations["GET"].query
    assert query["user"] == "int01" and query["filter"] == "other" and "selection" not in query
