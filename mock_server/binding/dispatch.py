"""Connexion's stages of the pipeline (middleware/pipeline.py), resolved per operation once.

Connexion 3 runs a request through a stack of ASGI middlewares (server errors, exceptions, Swagger
UI, routing, security, request validation, response validation, lifespan, context) and then its
own app, which routes again. Each of those middlewares keeps, per API and operationId, an object
holding what it needs (the security requirements and their verification function, the request
validator's view of the operation, the response validator's, the handler decorated with its
parameter and response decorators). ``Dispatch`` builds those same objects once, from the APIs the
app declared, and calls into them directly from plain stage functions (an operation's own
``Operation`` is put together when a request first reaches it, ``Operations``):

- ``route``: the one routing of the request, over Connexion's own routes (the same Starlette
  patterns and convertors, the same order, 405 for a path whose methods do not include the
  request's, the trailing-slash redirect; each route's pattern compiled when a request first
  reaches its first path segment, ``_Route``); a path and method seen before is a dict lookup;
- ``authenticate``: the operation's ``SecurityOperation.verification_fn``;
- ``validate request``: parameters, media type and body, by the operation's Connexion validators
  (parameter validator and body validators built once per operation and media type);
- ``validate response``: the response's media type, required headers and body, by Connexion's
  response validators (``x-stream`` bodies pass, fastpath.py; so does a media type marked
  ``x-stream``, the JSON stream, which has no schema);
- ``handler``: Connexion's context variables, then the operation's decorated handler; with no
  operation, Connexion's Swagger UI and published spec, else 404.

Errors are rendered by the handlers registered with ``add_error_handler`` (problems.py), looked up
along the exception's class hierarchy as Starlette's exception middleware did.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from connexion import utils
from connexion.context import _context, _operation, _receive, _scope
from connexion.exceptions import NonConformingResponseHeaders
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingAPI, RoutingMiddleware
from connexion.middleware.security import SecurityMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse
from starlette.responses import Response as StarletteResponse
from starlette.routing import Mount, Route

from mock_server.binding.fastpath import BYTES_KEY, STREAM_KEY
from mock_server.binding.invoke import (
    CONTENT_TYPE_CACHE,
    Invoker,
    RequestView,
    ValidatorView,
    content_type_of,
    sanitizer,
)
from mock_server.middleware.exchange import ANSWERED
from mock_server.middleware.types import CONTROL_PREFIX

if TYPE_CHECKING:
    from mock_server.middleware.exchange import Exchange
    from mock_server.middleware.responses import Answer

ROUTE_CACHE_SIZE = 1024
"""Distinct (method, path) pairs whose routing result is remembered (cleared when full)."""


class Operation:
    """Everything one operation needs per request, resolved once."""

    __slots__ = (
        "base_path",
        "body_validators",
        "consumes_ok",
        "context",
        "handler",
        "invoker",
        "operation_id",
        "parameters",
        "produces_ok",
        "request",
        "request_types",
        "response",
        "response_types",
        "responses",
        "uri_parser",
        "verify",
    )

    def __init__(
        self, base_path: str, operation_id: str, parts: dict[str, Any], sanitize: Callable[[str], str]
    ) -> None:
        self.base_path = base_path
        self.operation_id = operation_id
        security = parts["security"]
        self.verify = security.verification_fn if security.security else None
        if base_path == CONTROL_PREFIX:
            # The admin gate (middleware/admin_gate.py) judges a control token before routing; the
            # control spec declares its scheme only so Swagger UI sends it. Run here, Connexion's
            # check of the spec's `{}` alternative would put `user: None` into the context, which
            # Connexion passes to the handler over a `user` query parameter (/waits/stream,
            # /waits/event, /activity): every such filter would be lost.
            self.verify = None
        request = self.request = parts["request"]  # RequestValidationOperation
        spec_operation = request._operation
        uri_parser = self.uri_parser = spec_operation._uri_parser_class(
            spec_operation.parameters, spec_operation.body_definition()
        )
        self.parameters = request._validator_map["parameter"](
            spec_operation.parameters,
            uri_parser=uri_parser,
            strict_validation=request.strict_validation,
            security_query_params=request.security_query_params,
        )
        self.body_validators: dict[tuple[str, str], Any] = {}
        self.consumes_ok: set[str] = set()
        """Media types already checked against what the operation consumes (the check is a pure
        function of the type; Connexion builds a MediaTypeDict for it on every request)."""
        self.produces_ok: set[str] = set()
        response = parts["response"]  # ResponseValidationOperation, or the next app when not validating
        self.response: Any = response if hasattr(response, "validate_required_headers") else None
        self.responses: dict[tuple[int, str, str], Any] = {}
        self.request_types: dict[str | None, tuple[str, str]] = {}
        """What ``extract_content_type`` made of each Content-Type value seen (bounded)."""
        self.response_types: dict[str | None, tuple[str, str]] = {}
        self.context = parts["context"].operation
        handler = self.handler = parts["handler"]  # AsyncOperation (fastpath.py: decorated once)
        function = handler._fn  # the resolver's (resolver.py: always a coroutine function)
        self.invoker = (
            Invoker(self.context, function, jsonifier=handler.jsonifier, sanitize=sanitize)
            if inspect.iscoroutinefunction(function)
            else None
        )

    # -- request validation (RequestValidationOperation.__call__, its per-operation parts kept)
    async def validate_request(self, x: Exchange) -> None:
        request = self.request
        self.parameters.validate_request(ValidatorView(view_of(x), self.uri_parser))
        headers = x.scope["headers"]
        raw = content_type_of(headers)
        found = self.request_types.get(raw)
        if found is None:
            found = request.extract_content_type(headers)
            if len(self.request_types) < CONTENT_TYPE_CACHE:
                self.request_types[raw] = found
        mime_type, encoding = found
        if mime_type not in self.consumes_ok:
            request.validate_mime_type(mime_type)
            self.consumes_ok.add(mime_type)
        key = (mime_type, encoding)
        validator = self.body_validators.get(key)
        if validator is None:
            validator = self.body_validators[key] = self._body_validator(mime_type, encoding)
        if validator is not False:
            x.receive, x.scope = await validator.wrap_receive(x.receive, scope=x.scope)

    def _body_validator(self, mime_type: str, encoding: str) -> Any:
        request = self.request
        spec_operation = request._operation
        schema = spec_operation.body_schema(mime_type)
        if not schema:
            return False
        try:
            body_validator = request._validator_map["body"][mime_type]
        except KeyError:
            return False  # Connexion skips validation: no validator for the media type
        return body_validator(
            schema=schema,
            required=spec_operation.request_body.get("required", False),
            nullable=utils.is_nullable(spec_operation.body_definition(mime_type)),
            encoding=encoding,
            strict_validation=request.strict_validation,
            uri_parser=spec_operation.uri_parser_class(
                spec_operation.parameters, spec_operation.body_definition()
            ),
        )

    # -- response validation (ResponseValidationOperation.__call__)
    def validating(self, send: Any) -> Any:
        checks = self.response
        responses = self.responses
        produces_ok = self.produces_ok
        response_types = self.response_types

        async def validated_send(message: dict[str, Any]) -> None:
            nonlocal send
            if message["type"] == "http.response.start":
                headers = message["headers"]
                raw = content_type_of(headers)
                found_type = response_types.get(raw)
                if found_type is None:
                    found_type = checks.extract_content_type(headers)
                    if len(response_types) < CONTENT_TYPE_CACHE:
                        response_types[raw] = found_type
                mime_type, encoding = found_type
                status = message["status"]
                if status < 400 and mime_type not in produces_ok:
                    checks.validate_mime_type(mime_type)
                    produces_ok.add(mime_type)
                key = (status, mime_type, encoding)
                found = responses.get(key)
                if found is None:
                    found = responses[key] = self._response_validator(status, mime_type, encoding)
                required, validator = found
                if required:
                    missing = required - {header[0].decode("latin-1").lower() for header in headers}
                    if missing:
                        raise NonConformingResponseHeaders(
                            detail="Keys in response header don't match response specification. "
                            f"Difference: {', '.join(missing)}"
                        )
                if validator is not None:
                    send = validator.wrap_send(send)
            await send(message)

        return validated_send

    def _response_validator(self, status: int, mime_type: str, encoding: str) -> tuple[set[str], Any]:
        checks = self.response
        spec_operation = checks._operation
        definition = spec_operation.response_definition(str(status), mime_type)
        required = {k.lower() for k, v in definition.get("headers", {}).items() if v.get("required", False)}
        if any(
            isinstance(media.get("schema"), dict) and media["schema"].get(BYTES_KEY)
            for media in definition.get("content", {}).values()
        ):
            return required, None  # opaque bytes (x-bytes): the uploader's type is a label, not a promise
        if (definition.get("content", {}).get(mime_type) or {}).get(STREAM_KEY):
            return required, None  # a stream (x-stream on the media type): no one body to validate
        try:
            body_validator = checks._validator_map["response"][mime_type]
        except KeyError:
            return required, None
        validator = body_validator(
            # the operation's method, for the one request-dependent choice the validator makes:
            # whether to remember what it passed (reads only, fastpath.py's PassedBodies)
            {"type": "http", "method": spec_operation.method.upper()},
            schema=spec_operation.response_schema(str(status), mime_type),
            nullable=utils.is_nullable(definition),
            encoding=encoding,
        )
        return required, validator


OperationKey = tuple[str, str]
"""An operation's base path and operationId."""


class Operations(Mapping[OperationKey, Operation]):
    """Every operation of the app, each ``Operation`` built when first asked for (a route first
    matched, or read by a test): building all 108 at start took about 5 ms, most of them are never
    called by a given run, and what one holds (the layers' objects Connexion made at start, its
    parameter validator and URI parser, the binding of its handler) depends on nothing a request
    brings."""

    def __init__(self, where: dict[OperationKey, tuple[int, Any]], build: Callable[..., Operation]) -> None:
        self._where = where  # key -> the index of its API among its base path's, its handler
        self._build = build
        self._built: dict[OperationKey, Operation] = {}

    def __getitem__(self, key: OperationKey) -> Operation:
        operation = self._built.get(key)
        if operation is None:
            operation = self._built[key] = self._build(key, *self._where[key])
        return operation

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def __iter__(self) -> Iterator[OperationKey]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


class _Route:
    """A route of Connexion's routing layer: its path and endpoint (a ``RoutingOperation``) from
    the start, the Starlette ``Route`` Connexion would have added (``Router.add_route``: its path
    compiled to a pattern, its methods with HEAD beside GET) made when a request first reaches its
    first path segment. Compiling all 108 patterns took about 5 ms of every start."""

    __slots__ = ("_route", "endpoint", "method", "path")

    def __init__(self, path: str, endpoint: Any, method: str) -> None:
        self.path = path
        self.endpoint = endpoint
        self.method = method
        self._route: Route | None = None

    @property
    def route(self) -> Route:
        if self._route is None:
            self._route = Route(self.path, endpoint=self.endpoint, methods=[self.method])
        return self._route

    @property
    def path_regex(self) -> re.Pattern[str]:
        return self.route.path_regex

    @property
    def methods(self) -> set[str]:
        return self.route.methods or set()

    @property
    def param_convertors(self) -> dict[str, Any]:
        return self.route.param_convertors


class _RoutingAPI(RoutingAPI):  # type: ignore[misc]
    """Connexion's routing API with each route a ``_Route`` (its pattern compiled on first use)."""

    def _add_operation_internal(
        self, method: str, path: str, operation: Any, name: str | None = None
    ) -> None:
        self.router.routes.append(_Route(path, operation, method))


class _Routing(RoutingMiddleware):  # type: ignore[misc]
    """``RoutingMiddleware`` adding ``_RoutingAPI``s: what Dispatch reads its routes from (it never
    runs as a middleware)."""

    def add_api(
        self, specification: Any, base_path: str | None = None, arguments: Any = None, **kwargs: Any
    ) -> None:
        api = _RoutingAPI(
            specification, base_path=base_path, arguments=arguments, next_app=self.app, **kwargs
        )
        for route in self.router.routes:  # as RoutingMiddleware.add_api: one base path's APIs chained
            if isinstance(route, Mount) and route.path == api.base_path:
                route.app.default = api.router  # type: ignore[attr-defined]
        self.router.mount(api.base_path, app=api.router)


class BuiltOnce:
    """A specification's operation class while ``Dispatch`` adds its APIs to Connexion's layers:
    ``from_spec`` builds each operation once and gives every layer the same object.

    Each layer (routing, security, request and response validation, context, the handlers' app)
    calls ``specification.operation_cls.from_spec`` for every path and method with the same
    specification, resolver and URI parser class, so builds equal operations, six per operation,
    each parsing its parameters, security and media types again. The layers only read them (what an
    operation computes lazily, its ``consumes``, is a function of its definition); a build that
    fails is not kept, so each layer meets the failure as before."""

    def __init__(self, operation_cls: Any) -> None:
        self.operation_cls = operation_cls
        self.built: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def from_spec(self, spec: Any, *args: Any, path: str, method: str, resolver: Any, **kwargs: Any) -> Any:
        key = (id(spec), path, method, id(resolver), args, tuple(sorted(kwargs.items())))
        found = self.built.get(key)
        if found is None:
            operation = self.operation_cls.from_spec(
                spec, *args, path=path, method=method, resolver=resolver, **kwargs
            )
            found = self.built[key] = (operation, resolver)  # the resolver kept: its id stays its own
        return found[0]


class Dispatch:
    """The Connexion stages of one app (see the module docstring)."""

    def __init__(self, middleware: Any, handlers_app: Any) -> None:
        """``middleware``: the app's ConnexionMiddleware (its APIs, options, error handlers);
        ``handlers_app``: the app's AsyncASGIApp, which holds the decorated handlers."""
        self.middleware = middleware
        apis = utils.sort_apis_by_basepath(middleware.apis)
        routing = _Routing(None)
        self.apis = apis
        self._swagger: SwaggerUIMiddleware | None = None
        layers = {
            "security": SecurityMiddleware(None),
            "request": RequestValidationMiddleware(None),
            "response": ResponseValidationMiddleware(None),
            "context": ContextMiddleware(None),
        }
        for api in apis:
            specification = api.specification
            # each of the six layers would build its own operation objects from the same
            # specification, resolver and URI parser: built once here, and shared
            specification.operation_cls = BuiltOnce(type(specification).operation_cls)
            try:
                for target in (routing, *layers.values()):
                    target.add_api(specification, base_path=api.base_path, **api.kwargs)
                handlers_app.add_api(specification, base_path=api.base_path, **api.kwargs)
            finally:
                del specification.operation_cls  # the class's again (Swagger UI's, later)
        self._layers = layers
        self._sanitizers: dict[bool, Callable[[str], str]] = {}
        where: dict[tuple[str, str], tuple[int, Any]] = {}
        for base_path, handler_apis in handlers_app.apis.items():
            for index, api in enumerate(handler_apis):
                for operation_id, handler in api.operations.items():
                    where[(base_path, operation_id)] = (index, handler)
        self.operations = Operations(where, self._operation)
        self.mounts = self._mounts(routing)
        self.routes: dict[tuple[str, str], tuple[Operation, tuple[tuple[str, Any], ...]]] = {}
        self.error_handlers = dict(middleware.error_handlers)
        middleware.middleware_stack = [self]  # started: Connexion refuses new APIs and middlewares now

    def _operation(self, key: tuple[str, str], index: int, handler: Any) -> Operation:
        """The ``Operation`` of ``key``: the objects Connexion's layers made for it, resolved."""
        base_path, operation_id = key
        parts = {
            name: layer.apis[base_path][index].operations[operation_id]
            for name, layer in self._layers.items()
        }
        parts["handler"] = handler
        sanitize = self._sanitizers.get(handler.pythonic_params)
        if sanitize is None:
            sanitize = self._sanitizers[handler.pythonic_params] = sanitizer(handler.pythonic_params)
        return Operation(base_path, operation_id, parts, sanitize)

    def swagger(self) -> SwaggerUIMiddleware:
        """Connexion's Swagger UI and published specs (``/openapi.json``, ``/_mock/swagger/``), built
        by the first request that no operation takes: its templates (Jinja2) cost every start
        about as much as the rest of the app, and most servers never serve them."""
        if self._swagger is None:
            swagger = SwaggerUIMiddleware(self._unrouted)
            for api in self.apis:
                swagger.add_api(api.specification, base_path=api.base_path, **api.kwargs)
            self._swagger = swagger
        return self._swagger

    # -- routing -----------------------------------------------------------------------------------
    def _mounts(self, routing: Any) -> list[tuple[str, dict[str, list[tuple[Any, OperationKey]]], list[Any]]]:
        """Per mount (base path): its routes by first path segment, in Connexion's order, each
        with the key of its operation (``self.operations``)."""
        mounts = []
        for mount in routing.router.routes:
            base = mount.path
            routes = []
            for route in mount.app.routes:
                key = (base, route.endpoint.operation_id)
                if key in self.operations:
                    routes.append((route, key))
            buckets: dict[str, list[tuple[Any, OperationKey]]] = {}
            wildcard = [r for r in routes if r[0].path[1:].split("/", 1)[0].startswith("{")]
            for route, _ in routes:
                first = route.path[1:].split("/", 1)[0]
                if not first.startswith("{"):
                    buckets.setdefault(first, [])
            for first, bucket in buckets.items():
                bucket.extend(r for r in routes if r in wildcard or r[0].path[1:].split("/", 1)[0] == first)
            mounts.append((base, buckets, wildcard))
        return mounts

    def match(self, method: str, path: str) -> Any:
        """The operation and path parameters ``method path`` reaches; a 405 (raised) for a path
        whose routes take other methods; a redirect where only the other trailing slash routes;
        None when no operation matches."""
        found = self.routes.get((method, path))
        if found is not None:
            return found[0], dict(found[1])
        for base, buckets, wildcard in self.mounts:
            if base:
                if not path.startswith(base) or path[len(base) : len(base) + 1] != "/":
                    continue
                rest = path[len(base) :]
            else:
                rest = path
            candidates = buckets.get(rest[1:].split("/", 1)[0], wildcard)
            partial = None
            for route, key in candidates:
                matched = route.path_regex.match(rest)
                if matched is None:
                    continue
                if method in route.methods:
                    operation = self.operations[key]
                    convertors = route.param_convertors
                    params = {
                        name: convertors[name].convert(value) for name, value in matched.groupdict().items()
                    }
                    if len(self.routes) >= ROUTE_CACHE_SIZE:
                        self.routes.clear()
                    self.routes[(method, path)] = (operation, tuple(params.items()))
                    return operation, params
                if partial is None:
                    partial = route
            if partial is not None:
                raise HTTPException(status_code=405, headers={"Allow": ", ".join(partial.methods)})
            if rest != "/":
                toggled = rest.rstrip("/") if rest.endswith("/") else rest + "/"
                candidates = buckets.get(toggled[1:].split("/", 1)[0], wildcard)
                if any(route.path_regex.match(toggled) for route, _ in candidates):
                    return _redirect
            return None  # a mount matched: Starlette tries no other
        return None

    def route(self, x: Exchange) -> Any:
        scope = x.scope
        found = self.match(scope["method"], scope["path"])
        if found is None:
            return None
        if found is _redirect:
            redirect = dict(scope)
            path = scope["path"]
            redirect["path"] = path.rstrip("/") if path.endswith("/") else path + "/"
            return _RedirectAnswer(str(URL(scope=redirect)))
        operation, params = found
        path_params = scope.get("path_params")
        if path_params is None:
            scope["path_params"] = params
        else:
            path_params.update(params)
        x.operation = operation
        x.operation_id = operation.operation_id
        return None

    # -- the operation's stages ----------------------------------------------------------------------
    @staticmethod
    async def authenticate(x: Exchange) -> None:
        operation = x.operation
        if operation is not None and operation.verify is not None:
            await operation.verify(view_of(x))

    @staticmethod
    async def validate_request(x: Exchange) -> None:
        if x.operation is not None:
            await x.operation.validate_request(x)

    @staticmethod
    def validate_response(x: Exchange) -> None:
        operation = x.operation
        if operation is not None and operation.response is not None:
            x.send = operation.validating(x.send)

    async def handle(self, x: Exchange) -> Answer:
        operation = x.operation
        scope = x.scope
        if operation is None:
            await self.swagger()(scope, x.receive, x.send)
            return ANSWERED
        _context.set(scope.get("extensions", {}).get("connexion_context", {}))
        _operation.set(operation.context)
        _receive.set(x.receive)
        _scope.set(scope)
        invoker = operation.invoker
        if invoker is not None and invoker.takes(content_type_of(scope["headers"])):
            response = await invoker(view_of(x), x.receive, operation.uri_parser)
        else:
            response = await operation.handler.fn()
        await response(scope, x.receive, x.send)
        return ANSWERED

    @staticmethod
    async def _unrouted(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise HTTPException(status_code=404)

    def stages(self) -> dict[str, Any]:
        """The stage objects, by the names middleware/pipeline.py gives them."""
        return {
            "route": _Stage(self.route),
            "authenticate": _Stage(self.authenticate),
            "validate request": _Stage(self.validate_request),
            "validate response": _Stage(self.validate_response),
            "handler": _Stage(self.handle),
        }

    # -- errors --------------------------------------------------------------------------------------
    async def on_error(self, x: Exchange, exc: Exception) -> None:
        """``exc`` in Flowdock's shape through the response headers of the request (``x.out``);
        raised again when the response had already started."""
        if x.started:
            raise exc
        handler = self._handler_for(exc)
        if handler is None:
            raise exc
        request = ConnexionRequest(x.scope, x.receive)
        result = handler(request, exc)
        if inspect.isawaitable(result):
            result = await result
        response = StarletteResponse(
            content=result.body,
            status_code=result.status_code,
            media_type=result.mimetype,
            headers=result.headers,
        )
        await response(x.scope, x.receive, x.out)  # type: ignore[arg-type]

    def _handler_for(self, exc: Exception) -> Callable[..., Any] | None:
        for cls in type(exc).__mro__:
            if cls in self.error_handlers:
                handler: Callable[..., Any] = self.error_handlers[cls]
                return handler
        return None


def view_of(x: Exchange) -> RequestView:
    """The request of ``x`` as read once for its security, validation and binding (invoke.py)."""
    view: RequestView | None = x.view
    if view is None:
        view = x.view = RequestView(x.scope)
    elif view.scope is not x.scope:
        view = x.view = view.follow(x.scope)
    return view


class _Stage:
    __slots__ = ("run",)

    def __init__(self, run: Any) -> None:
        self.run = run


class _RedirectAnswer:
    """Starlette's trailing-slash redirect (307), sent as the router sent it."""

    def __init__(self, url: str) -> None:
        self.response = RedirectResponse(url=url)

    async def send(self, send: Any) -> None:
        await self.response({"type": "http"}, _no_receive, send)


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


_redirect: Any = object()
