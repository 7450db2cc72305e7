"""CORS as Flowdock answered it (docs/flowdock.md §1.3), for browser clients of the mock; none for
the control API.

Every Flowdock path answers a preflight ``OPTIONS`` itself (no route of the contract has OPTIONS).
A request carrying ``Origin`` gets it echoed in ``Access-Control-Allow-Origin``, with Flowdock's
exact lists of allowed methods and headers. CORS is documented Flowdock behaviour, so strict mode
allows it too.

The control API (``/_mock``) is not Flowdock's and its only page, the inspector, is same-origin: it
sends no CORS headers, so no page on another origin can read what it answers; a preflight for it
gets 403; and a write (anything but GET and HEAD) that a browser says comes from another site, a
foreign ``Origin`` or ``Sec-Fetch-Site: cross-site``/``same-site`` (another port of the same host
is same-site), is refused with 403 before anything else sees it, with or without an admin token.
Clients that are not browsers send neither header and are not affected.
"""

from __future__ import annotations

from typing import Any

from mock_server import errors
from mock_server.middleware.exchange import Exchange
from mock_server.middleware.responses import Answer, error_answer, json_answer
from mock_server.middleware.types import Scope, is_control_path

ALLOW_METHODS = b"POST, PUT, PATCH, DELETE, GET, OPTIONS"
ALLOW_HEADERS = (
    b"Origin, Accept, Content-type, Authorization, X-CSRF-Token, X-Requested-With, X-Prototype-Version"
)
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_FOREIGN_FETCH_SITES = frozenset({b"cross-site", b"same-site"})


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """The headers Flowdock sent for a request from ``origin``."""
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-methods", ALLOW_METHODS),
        (b"access-control-allow-headers", ALLOW_HEADERS),
        (b"vary", b"Origin"),
    ]


def own_origin(scope: Scope) -> bytes | None:
    """``scheme://host[:port]`` of the request as its ``Host`` header names it (what a same-origin
    page sends as ``Origin``); None without a Host header."""
    for key, value in scope["headers"]:
        if key == b"host":
            scheme = b"https" if scope.get("scheme") in ("https", "wss") else b"http"
            return scheme + b"://" + bytes(value).lower()
    return None


def is_cross_site(scope: Scope, origin: bytes | None) -> bool:
    """Whether a browser says this request comes from a page of another origin."""
    for key, value in scope["headers"]:
        if key == b"sec-fetch-site" and value.strip().lower() in _FOREIGN_FETCH_SITES:
            return True
    if origin is None:
        return False
    own = own_origin(scope)
    return own is None or origin.strip().lower() != own


def _refusal() -> errors.Forbidden:
    return errors.Forbidden(errors.CROSS_SITE_CONTROL, {"origin": [errors.CROSS_SITE_HINT]})


class Cors:
    """Answers ``OPTIONS`` on any Flowdock path; adds the CORS headers to responses for an
    ``Origin``; refuses cross-site control writes and preflights."""

    def __init__(self, settings: Any) -> None:
        pass

    def run(self, x: Exchange) -> Answer | None:
        scope = x.scope
        origin = None
        for key, value in scope["headers"]:
            if key == b"origin":
                origin = value
                break
        if is_control_path(scope["path"]):
            method = scope["method"]
            if method == "OPTIONS" or (method not in _SAFE_METHODS and is_cross_site(scope, origin)):
                return error_answer(_refusal())
            return None
        if scope["method"] == "OPTIONS":
            x.state.setdefault("normalizations", []).append(errors.RULE_CORS_PREFLIGHT)
            if origin is not None:
                headers = cors_headers(origin)
            else:
                headers = [
                    (b"access-control-allow-methods", ALLOW_METHODS),
                    (b"access-control-allow-headers", ALLOW_HEADERS),
                ]
            return json_answer(200, {}, headers)
        if origin is not None:
            x.cors = cors_headers(origin)  # added to the response on its way out (exchange.py)
        return None
