"""The application factory: spec + store + handlers + one error shape + our pipeline.

``create_app()`` wires, in this order: the corrected spec (spec/openapi.yaml) and its operation
index, the store (built from a world document unless one is given), the mock's runtime (journal,
faults), the Connexion app bound to both (binding/application.py), and the pipeline of our ASGI
stages (middleware/pipeline.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from mock_server.binding.application import MockApp
from mock_server.binding.validation import without_closed_bodies
from mock_server.contract import OperationIndex, load_control_spec, load_default_world, load_spec
from mock_server.middleware.normalize import SpecIndex
from mock_server.middleware.pipeline import PIPELINE, Settings
from mock_server.runtime import Runtime
from mock_server.runtime.webhooks import MAX_PER_WORLD, TIMEOUT_S, WebhookPolicy
from mock_server.runtime.worlds import Limits, Worlds
from mock_server.store import Store, StoreConfig

__all__ = ["MockApp", "create_app"]

STRICT_ENV = "FLOWDOCK_MOCK_STRICT"
_TRUE = ("1", "true", "yes", "on")


def strict_from_env() -> bool:
    """``FLOWDOCK_MOCK_STRICT=1`` (or true, yes, on)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in _TRUE


def create_app(
    store: Store | None = None,
    *,
    world: dict[str, Any] | None = None,
    config: StoreConfig | None = None,
    validate_responses: bool = True,
    strict: bool | None = None,
    journal_size: int = 1000,
    latency_ms: int = 0,
    admin_token: str | None = None,
    create_token: str | None = None,
    webhook_any_host: bool = False,
    webhook_timeout: float = TIMEOUT_S,
    max_webhooks: int = MAX_PER_WORLD,
    limits: Limits | None = None,
    clock: Callable[[], float] | None = None,
    stream_keepalive: float | None = None,
    stream_lifetime: float | None = None,
    stream_queue: int | None = None,
    max_streams: int | None = None,
    shard: str | None = None,
) -> MockApp:
    """Create and configure one mock server: a fresh store unless ``store`` is given.

    ``world`` replaces the default dataset; ``validate_responses`` checks every response body
    against the spec (a violation is a 500, so tests fail loudly); ``strict`` refuses query
    parameters the contract does not declare and every legacy request form
    (middleware/normalize/) with a 400; when not given it is read from the environment,
    ``FLOWDOCK_MOCK_STRICT=1``. ``journal_size`` bounds the request journal, ``latency_ms`` delays
    every Flowdock request, and ``admin_token`` (when set) guards the control API: each world
    created through it gets a control token opening that world only, and creating one needs
    ``create_token`` when that is set (middleware/admin_gate.py); ``webhook_any_host`` lets webhooks be
    registered on any host (loopback only otherwise, runtime/webhooks.py), ``webhook_timeout`` bounds
    each delivery attempt in all and ``max_webhooks`` the webhooks of one world. ``limits``
    caps the worlds created through ``/_mock/worlds`` and their idle time; ``clock`` (seconds)
    measures idle time, injectable so tests drive expiry (runtime/worlds.py).
    ``stream_keepalive`` (seconds between keep-alives on a quiet stream), ``stream_lifetime``
    (seconds after which the server ends each stream; None: never) and ``stream_queue``
    (events a stream may have waiting before it is cut) and ``max_streams`` (stream connections
    held at once, every world's together) set the store's config, which every
    world created later shares (mock_server/stream/hub.py). ``shard`` names this server as one
    shard of several: the created worlds' ids and credentials start with it (runtime/worlds.py).
    """
    if create_token and not admin_token:
        raise ValueError("a create-only token needs an admin token (without one, creating is open)")
    if strict is None:
        strict = strict_from_env()
    spec = load_spec()
    if not strict:  # legacy clients send fields the contract does not name; the handlers ignore them
        spec = without_closed_bodies(spec)
    operations = OperationIndex(spec)  # the one walk over the spec's paths
    if store is None:
        store = Store(world if world is not None else load_default_world(), config)
    if stream_keepalive is not None:
        store.config.stream_keepalive = stream_keepalive
    if stream_lifetime is not None:
        store.config.stream_lifetime = stream_lifetime
    if stream_queue is not None:
        store.config.stream_queue = stream_queue
    if max_streams is not None:
        store.config.max_streams = max_streams
    runtime = Runtime(
        store,
        operations,
        journal_size=journal_size,
        latency_ms=latency_ms,
        admin_token=admin_token,
        webhook_policy=WebhookPolicy(
            any_host=webhook_any_host, timeout_s=webhook_timeout, max_per_world=max_webhooks
        ),
    )
    worlds = Worlds(runtime, limits=limits, clock=clock or time.monotonic, shard=shard)
    app = MockApp(store, runtime, operations, worlds)
    app.add_flowdock_api(strict=strict, validate_responses=validate_responses)
    app.add_control_api(load_control_spec(), validate_responses=validate_responses)
    app.add_error_rendering()
    app.add_pipeline(
        PIPELINE,
        Settings(
            runtime=runtime,
            worlds=worlds,
            index=SpecIndex(operations),
            strict=strict,
            latency_ms=latency_ms,
            admin_token=admin_token,
            create_token=create_token,
        ),
    )
    return app
