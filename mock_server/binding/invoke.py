"""The handler stage's per-operation parts: a request read once, a handler's arguments bound by a plan.

Connexion's decorators (``StarletteDecorator``: its parameter and response decorators) rebuild,
on every request, what depends only on the operation: a ``ConnexionRequest`` over a Starlette
``Request``, the query string parsed again for the handler after the parameter validator and the
security handlers each parsed it, the definitions of the path and query parameters regrouped,
their defaults copied and cast, the operation looked up through ``werkzeug`` proxies of a context
variable, and the content types the operation produces turned into a list. Here:

- ``RequestView`` reads a request once for the three stages that look at it (the security
  handlers, the parameter validator, the handler's arguments): its headers, its query string
  (Starlette's ``QueryParams``, and resolved by the operation's URI parser as Connexion resolves
  it), its path parameters resolved the same way, its cookies. The security handlers and the
  parameter validator get it where they got a ``ConnexionRequest``, with the attributes they read.
- ``Invoker`` is one operation's handler call: which arguments the handler takes, the path
  parameters' definitions, the query parameters' defaults already cast, the body's name and
  what the operation produces are resolved at startup; per request it binds the arguments with
  Connexion's own functions (``_get_val_from_param``, ``_get_query_arguments``,
  ``_get_body_argument``) and renders the result with Connexion's response decorator.

What a request binds to is exactly what Connexion's decorators bound (the same functions over
the same inputs; tests/unit/test_invoke.py compares both over the contract's operations). A
request this does not take on (a form or multipart body, a body of a type that is not JSON) goes
to Connexion's decorated handler as before (``Invoker.takes`` says no).
"""

from __future__ import annotations

import collections.abc
import functools
import json
import types
from collections.abc import Callable
from typing import Any

from connexion.decorators.parameter import (
    CONTEXT_NAME,
    _get_body_argument,
    _get_query_arguments,
    _get_val_from_param,
    pythonic,
    sanitized,
    unwrap_decorators,
)
from connexion.decorators.response import BaseResponseDecorator
from connexion.exceptions import NonConformingResponseHeaders
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.http_facts import FORM_CONTENT_TYPES
from connexion.lifecycle import ConnexionResponse
from connexion.utils import inspect_function_arguments, is_json_mimetype
from python_multipart.multipart import parse_options_header
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request as StarletteRequest
from starlette.requests import cookie_parser

from mock_server.binding.fastpath import JSON_BODY

CONTENT_TYPE_CACHE = 64
"""Distinct Content-Type values whose reading is remembered per operation (client-chosen text: bounded)."""
_IMMUTABLE = (str, int, float, bool, type(None))
_NO_QUERY = QueryParams(b"")


def sanitizer(pythonic_params: bool) -> Callable[[str], str]:
    """Connexion's parameter-name sanitiser, remembering each name (the names are the spec's)."""
    return functools.lru_cache(maxsize=1024)(pythonic if pythonic_params else sanitized)


def content_type_of(headers: list[tuple[bytes, bytes]]) -> str | None:
    """``connexion.utils.extract_content_type`` over ASGI headers: the first Content-Type, decoded."""
    for key, value in headers:
        if len(key) == 12 and key.decode("latin-1").lower() == "content-type":
            return value.decode("latin-1")
    return None


class RequestView:
    """One request as Connexion's security handlers, parameter validator and parameter binding
    read it (the attributes of a ``ConnexionRequest`` they use), each part computed once.

    ``query_params`` is Starlette's ``QueryParams``, as a ``ConnexionRequest`` built without a URI
    parser gives the security handlers; ``resolved`` (the same view for the parameter validator)
    gives the query and path parameters resolved by the operation's URI parser.
    """

    __slots__ = ("_cookies", "_headers", "_path", "_query", "_query_lists", "_resolved_query", "scope")

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope
        self._headers: Headers | None = None
        self._query: QueryParams | None = None
        self._query_lists: dict[str, list[str]] | None = None
        self._resolved_query: dict[str, Any] | None = None
        self._path: dict[str, Any] | None = None
        self._cookies: dict[str, str] | None = None

    def follow(self, scope: dict[str, Any]) -> RequestView:
        """The view of ``scope``, a copy of this request's scope a stage made (a body validator's):
        what depends on the query string and path parameters is kept when they are the same."""
        view = RequestView(scope)
        old = self.scope
        if old.get("query_string") == scope.get("query_string") and old.get("path_params") == scope.get(
            "path_params"
        ):
            view._query = self._query
            view._query_lists = self._query_lists
            view._resolved_query = self._resolved_query
            view._path = self._path
        return view

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(scope=self.scope)
        return self._headers

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method

    @property
    def query_params(self) -> QueryParams:
        if self._query is None:
            raw = self.scope.get("query_string", b"")
            self._query = QueryParams(raw) if raw else _NO_QUERY  # immutable: one for every request without
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            header = self.headers.get("cookie")
            self._cookies = cookie_parser(header) if header else {}
        return self._cookies

    @property
    def context(self) -> dict[str, Any]:
        """``ConnexionRequest.context``: where the security handlers put ``user`` and ``token_info``."""
        extensions = self.scope.setdefault("extensions", {})
        context: dict[str, Any] = extensions.setdefault("connexion_context", {})
        return context

    def resolved_query(self, uri_parser: Any) -> dict[str, Any]:
        """``ConnexionRequest.query_params`` with ``uri_parser``: each name's values resolved."""
        if self._resolved_query is None:
            if self._query_lists is None:
                args = self.query_params
                self._query_lists = {k: args.getlist(k) for k in args}
            self._resolved_query = uri_parser.resolve_query(self._query_lists) if self._query_lists else {}
        return self._resolved_query

    def resolved_path(self, uri_parser: Any) -> dict[str, Any]:
        """``ConnexionRequest.path_params`` with ``uri_parser``."""
        if self._path is None:
            self._path = uri_parser.resolve_path(self.scope.get("path_params", {}))
        return self._path

    def __getattr__(self, name: str) -> Any:
        """Anything else a ``ConnexionRequest`` has, from a Starlette request over the scope."""
        return getattr(StarletteRequest(self.scope), name)


class ValidatorView:
    """The view a ``ParameterValidator.validate_request`` reads: resolved query and path parameters."""

    __slots__ = ("headers", "path_params", "query_params", "view")

    def __init__(self, view: RequestView, uri_parser: Any) -> None:
        self.view = view
        self.headers = view.headers
        self.query_params = view.resolved_query(uri_parser)
        self.path_params = view.resolved_path(uri_parser)

    @property
    def cookies(self) -> dict[str, str]:
        return self.view.cookies


class _Responses(BaseResponseDecorator):  # type: ignore[misc]
    """Connexion's response decorator's rendering, with the operation's ``produces`` resolved once
    (``_infer_content_type`` reads it through a context-variable proxy on every request)."""

    def __init__(self, produces: list[str], jsonifier: Any) -> None:
        super().__init__(framework=StarletteFramework, jsonifier=jsonifier)
        self.produces = list(set(produces))
        self.declared = produces

    def _infer_content_type(self, data: Any, headers: dict[str, Any]) -> str | None:
        # BaseResponseDecorator._infer_content_type, ``operation.produces`` resolved once.
        content_type: str | None = None
        for key, value in headers.items():
            if key.lower() == "content-type":
                content_type = value
                break
        produces = self.produces
        if data is not None and not produces:
            produces = ["application/json"]
        if content_type:
            if content_type not in produces:
                raise NonConformingResponseHeaders(
                    f"Returned content type ({content_type}) is not defined in operation spec "
                    f"({self.declared})."
                )
            return content_type
        if len(produces) == 1:
            return produces[0]
        if not produces:
            return None
        return _one_of_many(data, produces)

    def render(self, result: Any) -> Any:
        """The handler's result as the Starlette response Connexion's response decorator makes."""
        if StarletteFramework.is_framework_response(result):
            return result
        if isinstance(result, ConnexionResponse):
            return StarletteFramework.connexion_to_framework_response(result)
        return self.build_framework_response(result)


def _one_of_many(data: Any, produces: list[str]) -> str:
    """The tail of ``_infer_content_type``: the type of a result with no Content-Type of its own,
    for an operation that produces several."""
    content_type = None
    if isinstance(data, str):
        for produced in produces:
            if "text/plain" in produced:
                content_type = produced
    elif isinstance(data, bytes | types.GeneratorType | collections.abc.Iterator):
        for produced in produces:
            if "application/octet-stream" in produced:
                content_type = produced
    if content_type is None:
        raise NonConformingResponseHeaders(
            "Multiple response content types are defined in the operation spec, but "
            "the handler response did not specify which one to return."
        )
    return content_type


class _BodyReading:
    """The operation as ``_get_body_argument`` reads it, its body schema remembered per content
    type: ``body_definition`` builds a ``MediaTypeDict`` and logs Connexion's "multiple content
    types" warning (filtered while serving) on every call, for an answer fixed by the spec."""

    def __init__(self, operation: Any) -> None:
        self.operation = operation
        self.is_request_body_defined = operation.is_request_body_defined
        self.schemas: dict[str | None, Any] = {}

    def body_name(self, content_type: str | None) -> Any:
        return self.operation.body_name(content_type)

    def body_schema(self, content_type: str | None = None) -> Any:
        schema = self.schemas.get(content_type)
        if schema is None:
            schema = self.operation.body_schema(content_type)
            if len(self.schemas) < CONTENT_TYPE_CACHE:
                self.schemas[content_type] = schema
        return schema

    def __getattr__(self, name: str) -> Any:
        return getattr(self.operation, name)


_NO_BODY = "none"
_JSON_BODY = "json"
_CONNEXION = "connexion"


class Invoker:
    """One operation's handler call (see the module docstring)."""

    def __init__(self, spec_operation: Any, function: Any, *, jsonifier: Any, sanitize: Any) -> None:
        self.operation = spec_operation
        self.function = function
        self.sanitize = sanitize
        self.arguments, self.has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        self.path_definitions = {p["name"]: p for p in spec_operation.parameters if p["in"] == "path"}
        self.body_defined = bool(spec_operation.is_request_body_defined)
        self.body_name = sanitize(spec_operation.body_name(None))
        self.wants_body = self.body_name in self.arguments or self.has_kwargs
        self.trace = spec_operation.method.upper() == "TRACE"
        self.body_reading = _BodyReading(spec_operation)
        self.query_definitions = {p["name"]: p for p in spec_operation.parameters if p["in"] == "query"}
        defaults = self._query_arguments({})
        self.defaults: dict[str, Any] | None = (
            defaults if all(isinstance(v, _IMMUTABLE) for v in defaults.values()) else None
        )
        """The query arguments of a request that sends none, when no default is a container:
        then a query's arguments are these with each value it sends in place (``query_arguments``)."""
        self.responses = _Responses(list(spec_operation.produces), jsonifier)
        self.content_types: dict[str | None, str] = {}

    def query_arguments(self, query: dict[str, Any]) -> dict[str, Any]:
        """The handler's query arguments: what Connexion's ``_get_query_arguments`` gives.

        Connexion deep-copies the defaults, merges the query into them and converts every value,
        the defaults' included, on every request. With defaults that are no containers (nothing to
        merge into) the converted defaults are kept, and only what the query sends is converted:
        a value for a parameter the operation declares and the handler takes (anything else is
        left out, as Connexion leaves it).
        """
        defaults = self.defaults
        if defaults is None:
            return self._query_arguments(query)
        arguments = dict(defaults)
        for name, value in query.items():
            definition = self.query_definitions.get(name)
            if definition is None:
                continue
            key = self.sanitize(name)
            if self.has_kwargs or key in self.arguments:
                arguments[key] = _get_val_from_param(value, definition)
        return arguments

    def _query_arguments(self, query: dict[str, Any]) -> dict[str, Any]:
        return _get_query_arguments(  # type: ignore[no-any-return]
            query,
            operation=self.operation,
            arguments=self.arguments,
            has_kwargs=self.has_kwargs,
            sanitize=self.sanitize,
        )

    def takes(self, content_type: str | None) -> bool:
        """Whether a request with this Content-Type is bound here (else by Connexion's decorators)."""
        return self._body_mode(content_type) != _CONNEXION

    def _body_mode(self, content_type: str | None) -> str:
        mode = self.content_types.get(content_type)
        if mode is None:
            mode = self._judge(content_type)
            if len(self.content_types) < CONTENT_TYPE_CACHE:
                self.content_types[content_type] = mode
        return mode

    def _judge(self, content_type: str | None) -> str:
        raw = content_type if content_type is not None else "application/octet-stream"
        try:
            mimetype = parse_options_header(raw)[0].decode()
            if mimetype in FORM_CONTENT_TYPES:
                return _CONNEXION  # form fields and files: Connexion's request reads them
            if not self.body_defined:
                return _NO_BODY
            if is_json_mimetype(raw):
                return _JSON_BODY
        except ValueError:
            pass
        return _CONNEXION

    async def arguments_of(self, view: RequestView, receive: Any, uri_parser: Any) -> dict[str, Any]:
        """The handler's keyword arguments, as ``AsyncParameterDecorator`` and ``prep_kwargs`` build them."""
        content_type = view.headers.get("content-type")
        kwargs: dict[str, Any] = {}
        sanitize = self.sanitize
        definitions = self.path_definitions
        for name, value in view.resolved_path(uri_parser).items():
            definition = definitions.get(name)
            kwargs[sanitize(name)] = _get_val_from_param(value, definition) if definition else value
        kwargs.update(self.query_arguments(view.resolved_query(uri_parser)))
        if not self.trace and self.body_defined:
            body = None
            if self.wants_body:
                raw = await StarletteRequest(view.scope, receive).body()
                parsed = view.scope.pop(JSON_BODY, None)  # the body validator's (fastpath.py)
                if parsed is not None and parsed[0] == raw:
                    body = parsed[1]
                else:
                    try:
                        body = json.loads(raw)  # Request.json()
                    except ValueError:
                        body = None
            mimetype = parse_options_header(content_type or "application/octet-stream")[0].decode()
            kwargs.update(
                _get_body_argument(
                    body,
                    operation=self.body_reading,
                    arguments=self.arguments,
                    has_kwargs=self.has_kwargs,
                    sanitize=sanitize,
                    content_type=mimetype,
                )
            )
        kwargs = {sanitize(k): v for k, v in kwargs.items()}
        context = view.context
        for key, value in context.items():
            if self.has_kwargs or key in self.arguments:
                kwargs[key] = value
        if CONTEXT_NAME in self.arguments:
            kwargs[CONTEXT_NAME] = context
        return kwargs

    async def __call__(self, view: RequestView, receive: Any, uri_parser: Any) -> Any:
        """The handler called with its arguments; its result as a Starlette response."""
        kwargs = await self.arguments_of(view, receive, uri_parser)
        return self.responses.render(await self.function(**kwargs))
