"""The application factory: spec + store + handlers + one error shape.

``create_app()`` wires, in this order: the corrected spec (spec/openapi.yaml), the store (built
from a world document unless one is given), the resolver binding handlers to that store, the
security checkers, and the error handlers that render every failure, validation and routing
included, as Flowdock's ``{"message": ..., "errors": {...}}``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from connexion.options import SwaggerUIOptions

from mock_server.binding.fastpath import FastAsyncApp, FastFlaskApp, OrjsonJsonifier, validator_map
from mock_server.binding.multipart import closing_uploads
from mock_server.binding.problems import install_error_handlers
from mock_server.binding.resolver import CONTROL_TAG_MODULES, FlowdockResolver
from mock_server.binding.security import security_map
from mock_server.binding.stages import POSITIONS
from mock_server.binding.validation import NamedParameterValidator
from mock_server.contract import OperationIndex, load_control_spec, load_default_world, load_spec
from mock_server.middleware.normalize import SpecIndex
from mock_server.middleware.pipeline import PIPELINE, Settings
from mock_server.runtime import Runtime
from mock_server.store import Store, StoreConfig

log = logging.getLogger("flowdock_mock")


class _QuietMultipleContentTypes(logging.Filter):
    """Drops Connexion's "this operation accepts multiple content types" warning.

    Connexion logs it at WARNING on every request to an operation that declares more than one
    request media type (the message posts take JSON and multipart; the OAuth token endpoint, JSON
    and form): one line per POST in a served mock's log, about nothing the user can change.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("this operation accepts multiple content types")


_QUIET = _QuietMultipleContentTypes()
logging.getLogger("connexion.operations.openapi3").addFilter(_QUIET)  # idempotent: same object


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
    flavor: str = "async",
) -> Any:
    """Create and configure one mock server: a fresh store unless ``store`` is given.

    ``world`` replaces the default dataset; ``validate_responses`` checks every response body
    against the spec (a violation is a 500, so tests fail loudly); ``strict`` refuses query
    parameters the contract does not declare and every legacy request form (middleware/normalize.py) with a
    400; when not given it is read from the environment, ``FLOWDOCK_MOCK_STRICT=1``.
    ``journal_size`` bounds the request journal, ``latency_ms`` delays every Flowdock request, and
    ``admin_token`` (when set) guards the control API (runtime/, middleware/journal.py).
    """
    if strict is None:
        strict = os.environ.get("FLOWDOCK_MOCK_STRICT", "").strip().lower() in ("1", "true", "yes", "on")
    spec = load_spec()
    operations = OperationIndex(spec)  # the one walk over the spec's paths
    if store is None:
        store = Store(world if world is not None else load_default_world(), config)
    runtime = Runtime(
        store, operations, journal_size=journal_size, latency_ms=latency_ms, admin_token=admin_token
    )
    # Connexion's AsyncApp with its per-request set-up moved to startup (binding/fastpath.py); the
    # internal ``flavor="flask"`` builds the FlaskApp equivalent, only to measure it (README).
    asynchronous = flavor == "async"
    app_cls = FastAsyncApp if asynchronous else FastFlaskApp
    app = app_cls(__name__, middlewares=None, jsonifier=OrjsonJsonifier())
    app.add_api(
        spec,
        resolver=FlowdockResolver(operations, store, coroutines=asynchronous),
        security_map=security_map(store),
        validator_map=closing_uploads(validator_map(NamedParameterValidator)),
        validate_responses=validate_responses,
        strict_validation=strict,
        pythonic_params=True,
        # Publish the corrected spec at /openapi.json; no Swagger UI (not installed, not needed).
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=True),
    )
    control = load_control_spec()
    app.add_api(
        control,
        base_path="/_mock",
        resolver=FlowdockResolver(
            OperationIndex(control),
            store,
            package="mock_server.control",
            tag_modules=CONTROL_TAG_MODULES,
            bindings=dict.fromkeys(("state", "journal", "coverage", "faults"), runtime),
        ),
        validate_responses=validate_responses,
        pythonic_params=True,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=True),
    )
    install_error_handlers(app, operations)
    settings = Settings(
        runtime=runtime,
        index=SpecIndex(operations),
        strict=strict,
        latency_ms=latency_ms,
        admin_token=admin_token,
    )
    for layer in PIPELINE:  # outermost first
        app.add_middleware(layer.middleware, position=POSITIONS[layer.stage], **layer.options(settings))
    app.store = store
    app.spec = spec
    app.runtime = runtime
    return app
