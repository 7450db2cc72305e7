"""The mock as a Connexion application: ``MockApp``, what ``create_app`` returns.

A ``FastAsyncApp`` (fastpath.py) with the mock's parts declared as attributes (``store``,
``runtime``, ``spec``, ``operations``, ``streams``) and one method per step of ``create_app``: the Flowdock
contract bound to the handlers, the control API bound to the runtime, the error renderers, and
the pipeline every request flows through (middleware/pipeline.py, with Connexion's stages from
dispatch.py), in one ASGI callable.
"""

from __future__ import annotations

import contextvars
import logging
from typing import TYPE_CHECKING, Any

from connexion.middleware.main import API
from connexion.options import SwaggerUIOptions
from starlette.routing import Router

from mock_server.binding.dispatch import Dispatch
from mock_server.binding.exploded import ExplodedQueryParser
from mock_server.binding.fastpath import FastAsyncApp, OrjsonJsonifier, validator_map
from mock_server.binding.multipart import closing_uploads
from mock_server.binding.problems import install_error_handlers
from mock_server.binding.resolver import CONTROL_TAG_MODULES, FlowdockResolver
from mock_server.binding.security import CONTROL_SECURITY_MAP, security_map
from mock_server.binding.specification import specification
from mock_server.binding.swagger_ui import swagger_ui_options
from mock_server.binding.validation import NamedParameterValidator, actionable_body_errors
from mock_server.contract import OperationIndex
from mock_server.middleware.pipeline import Pipeline, Settings, Step
from mock_server.runtime.worlds import current_store
from mock_server.stream import StreamEndpoint, StreamHub
from mock_server.stream.response import SERVER_SEND
from mock_server.world import OAUTH_APP

if TYPE_CHECKING:
    from mock_server.runtime import Runtime
    from mock_server.runtime.worlds import Worlds
    from mock_server.store import Store


_SERVING = contextvars.ContextVar("flowdock_mock_serving", default=False)
"""True while a request is inside a MockApp (set in ``MockApp.__call__``)."""


class _QuietMultipleContentTypes(logging.Filter):
    """Drops Connexion's "this operation accepts multiple content types" warning, in the mock only.

    Connexion logs it at WARNING on every request to an operation that declares more than one
    request media type (the message posts take JSON and multipart; the OAuth token endpoint, JSON
    and form): one line per POST in a served mock's log, about nothing the user can change. The
    filter sits on Connexion's logger, so it lets the warning through for any other Connexion app
    in the process (a user's own, next to the pytest plugin).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_SERVING.get() and str(record.msg).startswith(MULTIPLE_CONTENT_TYPES))


MULTIPLE_CONTENT_TYPES = "this operation accepts multiple content types"
OPERATION_LOGGER = "connexion.operations.openapi3"
_QUIET = _QuietMultipleContentTypes()

CONTROL_BASE_PATH = "/_mock"
SPEC_ONLY = SwaggerUIOptions(swagger_ui=False, serve_spec=True)
"""Publish the Flowdock spec at ``/openapi.json``; its Swagger UI is the control API's (swagger_ui.py)."""


class MockApp(FastAsyncApp):
    """One mock server: an ASGI app with its store, runtime and contract."""

    store: Store
    """The default world's store."""
    runtime: Runtime
    """The default world's runtime."""
    worlds: Worlds
    """Every world of this server (runtime/worlds.py)."""
    spec: dict[str, Any]
    operations: OperationIndex

    def __init__(self, store: Store, runtime: Runtime, operations: OperationIndex, worlds: Worlds) -> None:
        logging.getLogger(OPERATION_LOGGER).addFilter(_QUIET)  # idempotent: the same object
        super().__init__(__name__, middlewares=None, jsonifier=OrjsonJsonifier())
        self.store = store
        self.runtime = runtime
        self.worlds = worlds
        self.spec = operations.spec
        self.operations = operations
        self._steps: list[Step] = []
        self._settings: Settings | None = None
        self._pipeline: Pipeline | None = None

    @property
    def streams(self) -> StreamHub:
        """The default world's open Streaming API connections (each world has its own hub)."""
        return StreamHub.of(self.store)

    def close_streams(self) -> None:
        """The server is stopping: end the open streams of every world, refuse new ones."""
        for world in self.worlds.list():
            if world.store.streams is not None:
                StreamHub.of(world.store).shutdown()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        pipeline = self._pipeline or self._start()
        kind = scope["type"]
        if kind == "http":
            # The server's own send, for the body chunks of a stream: its start goes through the
            # pipeline (status, Flowdock-User, journal); its events go straight out (stream/response.py).
            scope[SERVER_SEND] = send
            scope["app"] = self.middleware  # Starlette's routers raise HTTPException for Connexion
            token = _SERVING.set(True)
            try:
                await pipeline(scope, receive, send)
            finally:
                _SERVING.reset(token)
                # ``send`` is bound to the server's request object, which holds this scope: a
                # reference cycle that would leave every request to the garbage collector
                scope.pop(SERVER_SEND, None)
        elif kind == "lifespan":
            await Router(lifespan=self.middleware.lifespan).lifespan(scope, receive, send)
        else:  # a WebSocket: nothing here takes one
            await send({"type": "websocket.close", "code": 1000})

    def _start(self) -> Pipeline:
        """The pipeline, built once: Connexion's stages resolved per operation (dispatch.py)."""
        if self._settings is None:
            raise RuntimeError("create_app adds the pipeline (add_pipeline) before the app serves")
        token = _SERVING.set(True)  # building reads every operation's body definition: quiet, as serving
        try:
            dispatch = Dispatch(self.middleware, self._middleware_app)
        finally:
            _SERVING.reset(token)
        self._pipeline = Pipeline.build(self._steps, self._settings, dispatch.stages(), dispatch.on_error)
        return self._pipeline

    def add_api(
        self,
        document: dict[str, Any],
        *,
        base_path: str | None = None,
        name: str | None = None,
        **options: Any,
    ) -> None:
        """``AbstractApp.add_api`` for one of the mock's documents, its Specification built here.

        Connexion's own ``add_api`` builds a stock ``Specification``, which validates the whole
        document on every start; ours is validated once per distinct document
        (specification.py), for this app only. The rest is what ConnexionMiddleware.add_api does.
        """
        middleware = self.middleware
        if middleware.middleware_stack is not None:
            raise RuntimeError("Cannot add api after an application has started")
        merged = middleware.options.replace(**options)
        middleware.apis.append(
            API(specification(document), base_path=base_path, name=name, **merged.__dict__)
        )

    def add_flowdock_api(self, *, strict: bool, validate_responses: bool) -> None:
        """The Flowdock contract, each operation bound to its handler and, per request, to the
        store of the request's world (the default world's unless its credential names another)."""
        self.add_api(
            self.spec,
            resolver=FlowdockResolver(
                self.operations,
                current=current_store,
                per_request={"stream": lambda: StreamEndpoint(StreamHub.of(current_store()))},
            ),
            security_map=security_map(current_store, strict=strict),
            validator_map=actionable_body_errors(closing_uploads(validator_map(NamedParameterValidator))),
            validate_responses=validate_responses,
            strict_validation=strict,
            uri_parser_class=ExplodedQueryParser,  # objects sent as their properties (exploded.py)
            pythonic_params=True,
            swagger_ui_options=SPEC_ONLY,
        )

    def add_control_api(self, control: dict[str, Any], *, validate_responses: bool) -> None:
        """The mock's own API under ``/_mock``, its stateful tags bound to this app's runtime."""
        self.add_api(
            control,
            base_path=CONTROL_BASE_PATH,
            resolver=FlowdockResolver(
                OperationIndex(control),
                self.store,
                current=current_store,  # files: the world of the download token (middleware/worlds.py)
                package="mock_server.control",
                tag_modules=CONTROL_TAG_MODULES,
                bindings={
                    **dict.fromkeys(("state", "journal", "coverage", "faults"), self.runtime),
                    **dict.fromkeys(("worlds", "inspector", "kit"), self.worlds),
                    "streams": self.worlds,
                },
            ),
            security_map=CONTROL_SECURITY_MAP,  # the admin gate judges the token (binding/security.py)
            validate_responses=validate_responses,
            pythonic_params=True,
            # /_mock/openapi.json, and the one Swagger UI for both specs at /_mock/swagger/.
            swagger_ui_options=swagger_ui_options(OAUTH_APP),
        )

    def add_error_rendering(self) -> None:
        """Every failure in Flowdock's error shape (problems.py)."""
        install_error_handlers(self, self.operations)

    def add_pipeline(self, pipeline: list[Step], settings: Settings) -> None:
        """The stages every request flows through (middleware/pipeline.py), built when the app starts."""
        self._steps = pipeline
        self._settings = settings
