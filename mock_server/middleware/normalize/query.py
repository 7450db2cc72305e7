"""The query string: ``?access_token=`` becomes ``Authorization: Bearer``, boolean parameters get
the contract's spelling (``users=true`` -> ``users=1``), and a write's body parameters sent in the
query string (go-flowdock) are moved out, bound for the body."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from mock_server import errors
from mock_server.middleware.normalize.spec_index import Operation
from mock_server.middleware.normalize.values import Finding, nest, query_value

NO_BODY_METHODS = frozenset({"GET", "DELETE", "HEAD"})
Pairs = list[tuple[str, str]]


def rewrite_query(
    query_string: bytes,
    op: Operation | None,
    method: str,
    authorization: bytes | None,
    found: list[Finding],
) -> tuple[Pairs, bool, bytes | None, dict[str, Any]]:
    """(pairs kept, whether they changed, a new Authorization header, parameters for the body).

    A parameter the contract takes in the query or the body (``flow_token``) is also copied
    into the body, so the body's schema (``flow`` unless ``flow_token``) sees it either way.
    """
    changed = False
    new_authorization = None
    kept: Pairs = []
    moved: Pairs = []
    takes_body = op is not None and op.body is not None and method not in NO_BODY_METHODS
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "access_token":
            changed = True
            found.append(Finding(errors.RULE_ACCESS_TOKEN, "access_token"))
            if authorization is None and new_authorization is None:
                new_authorization = b"Bearer " + value.encode("latin-1")
            continue
        kind = op.query.get(name) if op is not None else None
        if kind is None and takes_body:
            changed = True
            moved.append((name, value))
            found.append(Finding(errors.RULE_QUERY_TO_BODY, name))
            continue
        in_body_too = op is not None and op.body is not None and name in op.body.properties
        if kind is not None and takes_body and in_body_too:  # flow_token: either place
            moved.append((name, value))  # the body's own value wins; the query keeps it too
        if kind is not None and kind != "other":
            spelled = query_value(value, kind, name, found)
            changed = changed or spelled != value
            value = spelled
        kept.append((name, value))
    return kept, changed, new_authorization, nest(moved)
