"""binding/dispatch.py at start: no operation built and no route pattern compiled until a request
needs them (every API test goes through operations built that way)."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.binding.dispatch import Dispatch


@pytest.fixture
def dispatch() -> Dispatch:
    app = create_app()
    return Dispatch(app.middleware, app._middleware_app)


def routes_of(dispatch: Dispatch) -> dict[int, Any]:
    found = {}
    for _, buckets, wildcard in dispatch.mounts:
        for bucket in [*buckets.values(), wildcard]:
            for route, _ in bucket:
                found[id(route)] = route
    return found


def test_dispatch__a_start_builds_no_operation_and_compiles_no_route_pattern(dispatch: Dispatch) -> None:
    routes = routes_of(dispatch)
    assert len(routes) > 100  # every operation of both APIs has its route
    assert [route for route in routes.values() if route._route is not None] == []
    assert dispatch.operations._built == {}
    assert len(dispatch.operations) == len(routes) and ("", "listFlows") in dispatch.operations
    assert dispatch.operations._built == {}  # asking whether one exists builds nothing


def test_dispatch__a_match_builds_its_operation_and_its_first_segments_routes(dispatch: Dispatch) -> None:
    operation, params = dispatch.match("GET", "/flows/acme/main/messages")
    assert (operation.operation_id, params) == ("listFlowMessages", {"organization": "acme", "flow": "main"})
    assert list(dispatch.operations._built) == [("", "listFlowMessages")]
    compiled = {route.path for route in routes_of(dispatch).values() if route._route is not None}
    assert "/flows/{organization}/{flow}/messages" in compiled
    assert all(path.startswith(("/flows", "/{")) for path in compiled)  # the "flows" segment's, and wildcards
    assert dispatch.operations[("", "listFlowMessages")] is operation  # built once
    again, _ = dispatch.match("GET", "/flows/acme/other/messages")
    assert again is operation
