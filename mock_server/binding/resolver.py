"""operationId -> handler, in one step: ``listFlows`` is ``list_flows`` in the module of its tag.

The spec's own operationIds are used as they are (no renaming, no vendor keys); the module comes
from the operation's first tag. Each handler module lists its operations in ``__all__``. The store
is bound to every handler here, so handlers are plain functions of ``(store, **request args)``.
An operation whose function does not exist yet answers 501 in Flowdock's error shape.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import TYPE_CHECKING, Any

import inflection
from connexion.resolver import Resolution, Resolver

from mock_server.errors import NotImplementedYet

if TYPE_CHECKING:
    from collections.abc import Callable

    from mock_server.contract import OperationIndex
    from mock_server.store import Store

TAG_MODULES = {
    "Authentication": "oauth",
    "Flows": "flows",
    "Messages": "messages",
    "Threads": "threads",
    "Private Conversations": "private",
    "Private Messages": "private",
    "Users": "users",
    "Organizations": "organizations",
    "Sources": "sources",
    "Invitations": "invitations",
    "Files": "files",
    "Streaming": "stream",
}


def handler_name(operation_id: str) -> str:
    """``getFlowById`` -> ``get_flow_by_id``."""
    return str(inflection.underscore(operation_id))


CONTROL_TAG_MODULES = {
    "Service": "service",
    "Files": "files",
    "State": "state",
    "Journal": "journal",
    "Coverage": "coverage",
    "Faults": "faults",
    "Inspector": "inspector",
    "Worlds": "worlds",
    "Kit": "kit",
    "Streams": "streams",
}
"""The control API's tags (spec/control.yaml) -> modules of mock_server.control."""


def operation_modules(index: OperationIndex, tag_modules: dict[str, str] = TAG_MODULES) -> dict[str, str]:
    """operationId -> handler module name, for every operation of the spec."""
    return {op_id: tag_modules[op.tags[0]] for op_id, op in index.operations.items()}


def find_handler(
    module_name: str, operation_id: str, package: str = "mock_server.handlers"
) -> Callable[..., Any] | None:
    """The implemented handler, or None when the module does not list it in ``__all__``."""
    module = importlib.import_module(f"{package}.{module_name}")
    name = handler_name(operation_id)
    return getattr(module, name) if name in getattr(module, "__all__", ()) else None


def _not_implemented(operation_id: str) -> Callable[..., Any]:
    def handler(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedYet(f"{operation_id} is not implemented by flowdock-mock yet")

    return handler


def bind(fn: Callable[..., Any], first: Any, *, per_request: bool = False) -> Callable[..., Any]:
    """``fn`` with ``first`` (the store) as its first argument, as a coroutine function; with
    ``per_request``, ``first`` is a function called on every request for that argument (the
    store of the request's world, runtime/worlds.py).

    Connexion runs a plain function in a thread pool, a thread hop per request; the store is in
    memory and answers in microseconds under its lock, so handlers run on the event loop.
    Connexion reads the parameters from ``__wrapped__`` (set by ``update_wrapper``), i.e. ``fn``.
    """
    handler: Callable[..., Any]
    if inspect.iscoroutinefunction(fn):
        if per_request:

            async def handler(*args: Any, **kwargs: Any) -> Any:
                return await fn(first(), *args, **kwargs)

        else:

            async def handler(*args: Any, **kwargs: Any) -> Any:
                return await fn(first, *args, **kwargs)

    elif per_request:

        async def handler(*args: Any, **kwargs: Any) -> Any:
            return fn(first(), *args, **kwargs)

    else:

        async def handler(*args: Any, **kwargs: Any) -> Any:
            return fn(first, *args, **kwargs)

    functools.update_wrapper(handler, fn)
    return handler


class FlowdockResolver(Resolver):  # type: ignore[misc]
    """Resolves each operation to its handler with the store bound as the first argument.

    ``current`` (a function of no arguments) gives the store per request instead: the store of
    the world the request's credential chose. ``bindings`` name the modules whose handlers get a
    fixed object instead (the control API's runtime, the registry of worlds); ``per_request``
    name the modules whose handlers get, per request, what a function returns (a world's stream hub).
    """

    def __init__(
        self,
        index: OperationIndex,
        store: Store | None = None,
        *,
        current: Callable[[], Store] | None = None,
        package: str = "mock_server.handlers",
        tag_modules: dict[str, str] = TAG_MODULES,
        bindings: dict[str, Any] | None = None,
        per_request: dict[str, Callable[[], Any]] | None = None,
    ) -> None:
        super().__init__()
        self.modules = operation_modules(index, tag_modules)
        self.store = store
        self.current = current
        self.package = package
        # module name -> what its handlers get as first argument instead of the store (the
        # control API's runtime state: journal, faults)
        self.bindings = bindings or {}
        # module name -> a function giving its handlers' first argument per request (the stream
        # hub of the request's world)
        self.per_request = per_request or {}
        # operationId -> its resolution: each of Connexion's layers (routing, security, the
        # validators, the context, the handlers' app) resolves every operation again, and
        # finding a handler (its module, its name) is most of what building an operation costs
        self._resolved: dict[str, Resolution] = {}

    def resolve(self, operation: Any) -> Resolution:
        resolution = self._resolved.get(operation.operation_id)
        if resolution is None:
            resolution = self._resolved[operation.operation_id] = self._resolve(operation.operation_id)
        return resolution

    def _resolve(self, operation_id: str) -> Resolution:
        fn = find_handler(self.modules[operation_id], operation_id, self.package)
        if fn is None:
            fn = _not_implemented(operation_id)
        module = self.modules[operation_id]
        if module in self.per_request:
            return Resolution(bind(fn, self.per_request[module], per_request=True), operation_id)
        if module in self.bindings or self.current is None:
            return Resolution(bind(fn, self.bindings.get(module, self.store)), operation_id)
        return Resolution(bind(fn, self.current, per_request=True), operation_id)
