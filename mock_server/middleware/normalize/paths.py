"""The path and the method: the legacy spellings that reach an operation of the contract.

``/v1`` or ``/v2`` prefixes, doubled slashes, the 2011 ``/messages/influx/`` name of the team inbox,
a trailing slash, a ``.json`` suffix, and PATCH where the contract has only PUT. A rewrite is
applied only when its result routes; otherwise the request is left for routing's 404.
"""

from __future__ import annotations

import re

from mock_server import errors
from mock_server.middleware.normalize.spec_index import Operation, Route, SpecIndex
from mock_server.middleware.normalize.values import Finding

_VERSION_PREFIXES = ("/v1", "/v2")
_INFLUX_PUSH = "/messages/influx/"
_TEAM_INBOX_PUSH = "/messages/team_inbox/"
_SLASHES = re.compile(r"//+")


def route_request(
    index: SpecIndex, path: str, method: str, found: list[Finding]
) -> tuple[str, str, Route | None, Operation | None]:
    """(canonical path, canonical method, route, operation) of a request."""
    route = index.match(path)
    if route is None or path.endswith((".json", "/")) or "//" in path or path.startswith(_VERSION_PREFIXES):
        path, route = normalise_path(index, path, route, found)
    if (
        route is not None
        and method == "PATCH"
        and "PATCH" not in route.operations
        and "PUT" in route.operations
    ):
        method = "PUT"
        found.append(Finding(errors.RULE_PATCH_AS_PUT, "method"))
    operation = route.operations.get(method) if route is not None else None
    return path, method, route, operation


def normalise_path(
    index: SpecIndex, path: str, route: Route | None, found: list[Finding]
) -> tuple[str, Route | None]:
    """Doubled slashes, /v1 or /v2, /messages/influx, a trailing slash, .json: applied only if the
    result routes."""
    rules: list[Finding] = []
    candidate = path
    if "//" in candidate:
        candidate = _SLASHES.sub("/", candidate)
        rules.append(Finding(errors.RULE_DOUBLE_SLASH, "path"))
    prefix = candidate[:3]
    if prefix in _VERSION_PREFIXES and (len(candidate) == 3 or candidate[3] == "/"):
        candidate = candidate[3:] or "/"
        rules.append(Finding(errors.RULE_VERSION_PREFIX, "path", (prefix,)))
    if candidate.startswith(_INFLUX_PUSH):  # python-flowdock 0.1 (2011): the team inbox's old name
        candidate = _TEAM_INBOX_PUSH + candidate[len(_INFLUX_PUSH) :]
        rules.append(Finding(errors.RULE_INFLUX_PUSH, "path"))
    if len(candidate) > 1 and candidate.endswith("/"):
        candidate = candidate.rstrip("/") or "/"
        rules.append(Finding(errors.RULE_TRAILING_SLASH, "path"))
    if candidate.endswith(".json"):
        stripped = index.match(candidate[:-5])
        if stripped is not None and not stripped.keeps_suffix:
            candidate = candidate[:-5]
            rules.append(Finding(errors.RULE_JSON_SUFFIX, "path"))
    if not rules:
        return path, route
    normalised = index.match(candidate)
    if normalised is None:
        return path, route  # not a Flowdock path either way: routing answers 404
    found.extend(rules)
    return candidate, normalised
