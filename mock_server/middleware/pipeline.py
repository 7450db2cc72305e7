"""The request pipeline: our ASGI layers, in the one order ``create_app`` adds them.

Requests flow down this list (outermost first), responses back up. Each layer has a stage, which
says where it sits relative to Connexion's own layers (the binding maps stages to Connexion's
middleware positions): ``OUTSIDE`` layers see the request as the client sent it, before Connexion
routes, authenticates or validates anything; ``AROUND_VALIDATION`` layers see a routed,
authenticated request and the response before Connexion validates it; ``BEFORE_HANDLER`` layers
run once the request is known to be valid, in place of the handler.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server.middleware.admin_gate import AdminGateMiddleware
from mock_server.middleware.cors import CorsMiddleware
from mock_server.middleware.faults import FaultMiddleware
from mock_server.middleware.input_guard import InputGuardMiddleware
from mock_server.middleware.journal import JournalMiddleware
from mock_server.middleware.latency import LatencyMiddleware
from mock_server.middleware.normalize import NormalizeMiddleware, SpecIndex
from mock_server.middleware.oauth_wire import TokenResponseEncoding
from mock_server.middleware.request_state import RequestStateMiddleware
from mock_server.middleware.safety_net import SafetyNetMiddleware
from mock_server.middleware.stream_host import StreamHostMiddleware
from mock_server.middleware.worlds import WorldMiddleware
from mock_server.runtime import Runtime
from mock_server.runtime.worlds import Worlds


class Stage(enum.Enum):
    OUTSIDE = "outside Connexion's exception handling, routing, security and validation"
    AROUND_VALIDATION = "after routing and security, outside request and response validation"
    BEFORE_HANDLER = "after routing, security and validation, just before the handler"


@dataclass(frozen=True, slots=True)
class Settings:
    """What the layers are configured with, for one app."""

    runtime: Runtime
    """The default world's."""
    worlds: Worlds
    index: SpecIndex
    strict: bool
    latency_ms: int
    admin_token: str | None
    create_token: str | None = None


def _none(settings: Settings) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, slots=True)
class Layer:
    middleware: Callable[..., Any]
    stage: Stage
    why: str
    options: Callable[[Settings], dict[str, Any]] = _none


PIPELINE: list[Layer] = [
    Layer(
        SafetyNetMiddleware,
        Stage.OUTSIDE,
        "outermost: an exception escaping the layers outside Connexion's exception handling still "
        "gets Flowdock's 500 instead of no response (safety_net.py)",
    ),
    Layer(
        RequestStateMiddleware,
        Stage.OUTSIDE,
        "creates scope['flowdock'], which every inner layer records in; adds Flowdock-User",
    ),
    Layer(
        JournalMiddleware,
        Stage.OUTSIDE,
        "inside the request state, outside everything else: sees the request as the client sent "
        "it and the final status, and reads what the inner layers recorded (journal.py)",
        lambda s: {"journal": s.runtime.journal, "server_journal": s.worlds.journal},
    ),
    Layer(
        AdminGateMiddleware,
        Stage.OUTSIDE,
        "inside the journal (which logs its refusals), before anything else answers a /_mock "
        "request: the admin, world control and create-only tokens, when an admin token is "
        "configured; the HTML pages' security headers (admin_gate.py)",
        lambda s: {"admin_token": s.admin_token, "worlds": s.worlds, "create_token": s.create_token},
    ),
    Layer(
        LatencyMiddleware,
        Stage.OUTSIDE,
        "inside the journal, so a journaled duration includes the delay the client saw (latency.py)",
        lambda s: {"latency_ms": s.latency_ms},
    ),
    Layer(CorsMiddleware, Stage.OUTSIDE, "answers preflights for any path, before routing"),
    Layer(
        StreamHostMiddleware,
        Stage.OUTSIDE,
        "before anything routes: a request to a `stream.` host is the Streaming API's, so its path "
        "gets the /stream prefix (stream_host.py); the journal still shows the path as sent",
    ),
    Layer(
        InputGuardMiddleware,
        Stage.OUTSIDE,
        "before the normaliser and everything else that routes or parses a body: absurd URLs and "
        "bodies (too large, undecodable, nested too deep, overflowing ints) get a 4xx, never a 500",
    ),
    Layer(
        NormalizeMiddleware,
        Stage.OUTSIDE,
        "maps legacy request forms onto the spec before Connexion routes and validates them",
        lambda s: {"index": s.index, "strict": s.strict},
    ),
    Layer(
        WorldMiddleware,
        Stage.OUTSIDE,
        "after the normaliser (credentials in their canonical places), before routing: picks the "
        "world the request's credential belongs to, which every inner layer and the handler use",
        lambda s: {"worlds": s.worlds},
    ),
    Layer(
        TokenResponseEncoding,
        Stage.AROUND_VALIDATION,
        "outside response validation, which checks the JSON the token handler returns: a 200 from "
        "/oauth/token is re-encoded as a form unless the client sent Accept: application/json",
    ),
    Layer(
        FaultMiddleware,
        Stage.BEFORE_HANDLER,
        "once the operation is known and the request valid: Prefer: code=NNN and the fault table "
        "answer in place of the handler (faults.py)",
        lambda s: {"book": s.runtime.book, "table": s.runtime.faults},
    ),
]
"""The pipeline, outermost first."""
