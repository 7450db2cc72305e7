"""The request pipeline: one ordered list of stages, run over one request object by one ASGI callable.

Every HTTP request becomes one ``Exchange`` (the request as it is now, the request as the client
sent it, its per-request state, the response's status and size) and flows down ``PIPELINE``, in
order. A stage is a plain function of the exchange (``run``, sync or async): it may change the
request (``x.scope``, ``x.receive``), wrap the response (``x.send``), record what it did in
``x.state``, or answer in place of the rest of the pipeline by returning an ``Answer``
(responses.py). A stage with ``done`` is called back once the response has ended, in reverse order,
even when a later stage failed (the journal records the request, the world is released there).

The Connexion stages (routing, security, request and response validation, the handler) are named
here, in their place, and supplied by the binding (``mock_server/binding/dispatch.py``): this
package never imports Connexion. Routing happens once, in ``route``; what each operation needs
(security requirements, validators, the handler with its parameter and response decorators) is
resolved at startup, per operation.

Whatever a stage raises is rendered in Flowdock's error shape by the binding's error renderers
(``on_error``, binding/problems.py) through the response headers of the request (``x.out``), unless
the response had already started (then it propagates to the server).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mock_server.middleware import (
    admin_gate,
    cors,
    faults,
    input_guard,
    journal,
    latency,
    normalize,
    oauth_wire,
    state_import,
    stream_host,
    worlds,
)
from mock_server.middleware.exchange import ANSWERED, Exchange
from mock_server.middleware.types import Scope
from mock_server.runtime import Runtime
from mock_server.runtime.worlds import Worlds


@dataclass(frozen=True, slots=True)
class Settings:
    """What the stages are configured with, for one app."""

    runtime: Runtime
    """The default world's."""
    worlds: Worlds
    index: normalize.SpecIndex
    strict: bool
    latency_ms: int
    admin_token: str | None
    create_token: str | None = None


CONNEXION = None
"""``Step.build`` of a stage the binding supplies (binding/dispatch.py)."""


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    build: Callable[[Settings], Any] | None
    """Makes the stage object (its ``run`` and optional ``done``) for one app; ``CONNEXION``: the binding's."""
    why: str


PIPELINE: list[Step] = [
    Step(
        "journal",
        journal.Journal,
        "first: sees the request as the client sent it and, once the response ends, its status, and "
        "reads what the later stages recorded (journal.py); one log line per request",
    ),
    Step(
        "admin gate",
        admin_gate.AdminGate,
        "before anything else answers a /_mock request: the admin, world control and create-only "
        "tokens, when an admin token is configured; the HTML pages' security headers "
        "(admin_gate.py); its refusals are journaled",
    ),
    Step(
        "latency",
        latency.Latency,
        "after the journal started its clock, so a journaled duration includes the delay (latency.py)",
    ),
    Step("cors", cors.Cors, "answers preflights for any path, before routing; echoes Origin on the rest"),
    Step(
        "stream host",
        stream_host.StreamHost,
        "before anything routes: a request to a `stream.` host is the Streaming API's, so its path "
        "gets the /stream prefix (stream_host.py); the journal still shows the path as sent",
    ),
    Step(
        "input guard",
        input_guard.InputGuard,
        "before the normaliser and everything else that routes or parses a body: absurd URLs and "
        "bodies (too large, undecodable, nested too deep, overflowing ints) get a 4xx, never a 500",
    ),
    Step(
        "normalise",
        normalize.Normalize,
        "maps legacy request forms onto the spec before routing and validation",
    ),
    Step(
        "world",
        worlds.WorldStage,
        "after the normaliser (credentials in their canonical places), before routing: picks the "
        "world the request's credential belongs to, which every later stage and the handler use",
    ),
    Step(
        "route",
        CONNEXION,
        "the one routing of the request: the operation of the contract (or of the control API) its "
        "path and method reach, with its path parameters; 405 with the spec's Allow; no operation: "
        "the published spec and Swagger UI, else 404",
    ),
    Step(
        "state import",
        state_import.StateImport,
        "after routing (404 for no such world), before Connexion reads any body: PUT of a world's "
        "state is read, parsed, checked and built in small steps off the event loop, so a large "
        "document never holds up other requests; a schema-invalid one goes on to validation "
        "(state_import.py)",
    ),
    Step(
        "authenticate",
        CONNEXION,
        "the operation's security requirements, checked by Connexion's security handlers bound to "
        "the store of the request's world (binding/security.py)",
    ),
    Step(
        "oauth wire",
        oauth_wire.TokenResponseEncoding,
        "outside response validation, which checks the JSON the token handler returns: a 200 from "
        "/oauth/token is re-encoded as a form unless the client sent Accept: application/json",
    ),
    Step(
        "validate request",
        CONNEXION,
        "parameters, media type and body against the operation, by Connexion's validators (built "
        "once per schema, binding/fastpath.py)",
    ),
    Step(
        "validate response",
        CONNEXION,
        "wraps the response: its status, media type, headers and body are checked against the "
        "operation, forced responses included (a stream's events are not one body)",
    ),
    Step(
        "faults",
        faults.Faults,
        "once the operation is known and the request valid: Prefer: code=NNN and the fault table "
        "answer in place of the handler (faults.py)",
    ),
    Step(
        "handler",
        CONNEXION,
        "last: Connexion's context for the operation, its handler with parameters bound, the "
        "result serialised; Swagger UI and the published spec when no operation matched",
    ),
]
"""The pipeline, in the order a request flows through it."""


OnError = Callable[["Exchange", Exception], Awaitable[None]]


class Pipeline:
    """The one ASGI-facing loop: an exchange through every stage, errors rendered once."""

    def __init__(self, stages: list[tuple[str, Any]], on_error: OnError) -> None:
        self.stages = stages
        self.steps: list[tuple[Any, Any, bool]] = []
        for _, stage in stages:
            run = getattr(stage, "run", None)
            done = getattr(stage, "done", None)
            self.steps.append((run, done, inspect.iscoroutinefunction(run)))
        self.on_error = on_error

    @classmethod
    def build(
        cls, pipeline: list[Step], settings: Settings, connexion: Mapping[str, Any], on_error: OnError
    ) -> Pipeline:
        """Each step's stage for one app, the Connexion ones from ``connexion`` (by name)."""
        stages = [
            (step.name, connexion[step.name] if step.build is CONNEXION else step.build(settings))
            for step in pipeline
        ]
        return cls(stages, on_error)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        x = Exchange(scope, receive, send)
        finish = []
        try:
            for run, done, is_async in self.steps:
                if done is not None:
                    finish.append(done)
                if run is None:
                    continue
                answer = await run(x) if is_async else run(x)
                if answer is not None:
                    if answer is not ANSWERED:
                        await answer.send(x.send)
                    break
        except Exception as exc:  # noqa: BLE001 (rendered in Flowdock's shape, or raised again)
            await self.on_error(x, exc)
        finally:
            for done in reversed(finish):
                done(x)
            # ``x.send`` is ``x.out`` (a method bound to ``x``) or a stage's closure around it: a
            # reference cycle that would leave the whole request (scope, state, view) to the
            # garbage collector, every request. Broken here, it is freed the moment it ends.
            x.send = x.server_send = None
