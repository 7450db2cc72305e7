"""Every private Connexion internal the mock relies on, checked against the installed Connexion.

mock_server/binding/ subclasses Connexion's classes and overrides or reads some of their private
members (to move per-request work to startup, to bind the security checkers to the store, to
close multipart uploads, to validate the spec once), and parses some of Connexion's English error
texts. None of that is public API, so a Connexion release may rename or reshape it without notice.
Each row below names one such internal and the file that relies on it; when a row fails, that
file is the one to revisit. pyproject.toml pins Connexion to the minor these rows were checked
against (``TESTED_MINOR``).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import pytest

TESTED_MINOR = "3.3"


@dataclass(frozen=True)
class Internal:
    module: str
    owner: str  # a class (dotted inside the module) or "" for the module itself
    name: str
    kind: str  # method | staticmethod | classmethod | property | cached_property | attribute | constant
    parameters: tuple[str, ...] | None  # the signature's parameter names, when callable
    relied_on_by: str

    @property
    def id(self) -> str:
        return f"{self.module}.{self.owner + '.' if self.owner else ''}{self.name}"


FASTPATH = "mock_server/binding/fastpath.py"
APPLICATION = "mock_server/binding/application.py"
SPECIFICATION = "mock_server/binding/specification.py"
SECURITY = "mock_server/binding/security.py"
MULTIPART = "mock_server/binding/multipart.py"
VALIDATION = "mock_server/binding/validation.py"
DISPATCH = "mock_server/binding/dispatch.py"
EXPLODED = "mock_server/binding/exploded.py"

INTERNALS = [
    # --- the once-per-operation decoration (fastpath.py)
    Internal("connexion.apps.asynchronous", "AsyncApp", "__init__", "method", None, FASTPATH),
    Internal("connexion.apps.asynchronous", "AsyncOperation", "fn", "property", ("self",), FASTPATH),
    Internal(
        "connexion.apps.asynchronous",
        "AsyncOperation",
        "from_operation",
        "classmethod",
        ("operation", "pythonic_params", "jsonifier"),
        FASTPATH,
    ),
    Internal(
        "connexion.apps.asynchronous", "AsyncApi", "make_operation", "method", ("self", "operation"), FASTPATH
    ),
    Internal("connexion.apps.asynchronous", "AsyncASGIApp", "api_cls", "attribute", None, FASTPATH),
    Internal(
        "connexion.decorators.main", "BaseDecorator", "decorate", "method", ("self", "function"), FASTPATH
    ),
    Internal("connexion.decorators.main", "BaseDecorator", "uri_parser", "property", ("self",), FASTPATH),
    Internal("connexion.decorators.main", "StarletteDecorator", "framework", "attribute", None, FASTPATH),
    Internal(
        "connexion.frameworks.starlette",
        "Starlette",
        "get_request",
        "staticmethod",
        ("scope", "receive", "uri_parser", "kwargs"),
        FASTPATH,
    ),
    # --- validators built once per schema (fastpath.py)
    Internal(
        "connexion.validators.json", "JSONRequestBodyValidator", "_validator", "property", ("self",), FASTPATH
    ),
    Internal(
        "connexion.validators.json", "JSONResponseBodyValidator", "validator", "property", ("self",), FASTPATH
    ),
    Internal(
        "connexion.validators.json",
        "JSONResponseBodyValidator",
        "_parse",
        "method",
        ("self", "stream"),
        FASTPATH,
    ),
    Internal(
        "connexion.validators.form_data", "FormDataValidator", "_validator", "property", ("self",), FASTPATH
    ),
    Internal(
        "connexion.validators.json", "TextResponseBodyValidator", "validator", "property", ("self",), FASTPATH
    ),
    Internal("connexion.validators.parameter", "", "draft4_format_checker", "attribute", None, FASTPATH),
    Internal(
        "connexion.validators.parameter",
        "ParameterValidator",
        "validate_parameter",
        "staticmethod",
        ("parameter_type", "value", "param", "param_name"),
        f"{FASTPATH}, {VALIDATION}",
    ),
    # --- the app's own add_api and Specification (application.py, specification.py)
    Internal("connexion.middleware.main", "ConnexionMiddleware", "add_api", "method", None, APPLICATION),
    Internal("connexion.middleware.main", "_Options", "replace", "method", ("self", "changes"), APPLICATION),
    Internal(
        "connexion.middleware.main",
        "API",
        "__init__",
        "method",
        ("self", "specification", "base_path", "kwargs"),
        APPLICATION,
    ),
    Internal("connexion.spec", "Specification", "_validate_spec", "classmethod", ("spec",), SPECIFICATION),
    Internal("connexion.spec", "Specification", "clone", "method", ("self",), SPECIFICATION),
    # --- the security checkers bound to the store (security.py)
    Internal(
        "connexion.security",
        "AbstractSecurityHandler",
        "_resolve_func",
        "method",
        ("self", "security_scheme"),
        SECURITY,
    ),
    Internal(
        "connexion.security",
        "AbstractSecurityHandler",
        "_accepts_kwarg",
        "staticmethod",
        ("func", "keyword"),
        SECURITY,
    ),
    Internal(
        "connexion.security",
        "ApiKeySecurityHandler",
        "_get_verify_func",
        "method",
        ("self", "api_key_info_func", "loc", "name", "required_scopes"),
        SECURITY,
    ),
    Internal(
        "connexion.security",
        "OAuthSecurityHandler",
        "get_tokeninfo_func",
        "method",
        ("self", "security_definition"),
        SECURITY,
    ),
    # --- multipart uploads closed after validation (multipart.py)
    Internal(
        "connexion.validators.form_data",
        "MultiPartFormDataValidator",
        "_form_parser_cls",
        "property",
        ("self",),
        MULTIPART,
    ),
    # --- Connexion's per-operation objects, called from the pipeline's stages (dispatch.py)
    Internal(
        "connexion.middleware.abstract",
        "RoutedMiddleware",
        "add_api",
        "method",
        ("self", "specification", "kwargs"),
        DISPATCH,
    ),
    Internal(
        "connexion.middleware.abstract",
        "RoutedAPI",
        "add_operation",
        "method",
        ("self", "path", "method"),
        DISPATCH,
    ),
    Internal("connexion.middleware.routing", "RoutingMiddleware", "add_api", "method", None, DISPATCH),
    Internal(
        "connexion.middleware.routing",
        "RoutingAPI",
        "_add_operation_internal",
        "method",
        ("self", "method", "path", "operation", "name"),
        DISPATCH,
    ),
    Internal(
        "connexion.middleware.routing",
        "RoutingOperation",
        "__init__",
        "method",
        ("self", "operation_id", "next_app"),
        DISPATCH,
    ),
    Internal(
        "connexion.middleware.swagger_ui", "SwaggerUIMiddleware", "default_fn", "method", None, DISPATCH
    ),
    Internal(
        "connexion.middleware.security",
        "SecurityOperation",
        "_get_verification_fn",
        "method",
        ("self",),
        DISPATCH,
    ),
    Internal(
        "connexion.middleware.request_validation",
        "RequestValidationOperation",
        "extract_content_type",
        "method",
        ("self", "headers"),
        DISPATCH,
    ),
    Internal(
        "connexion.middleware.request_validation",
        "RequestValidationOperation",
        "validate_mime_type",
        "method",
        ("self", "mime_type"),
        DISPATCH,
    ),
    Internal(
        "connexion.middleware.request_validation",
        "RequestValidationOperation",
        "security_query_params",
        "property",
        ("self",),
        DISPATCH,
    ),
    Internal(
        "connexion.middleware.response_validation",
        "ResponseValidationOperation",
        "extract_content_type",
        "method",
        ("self", "headers"),
        DISPATCH,
    ),
    Internal(
        "connexion.middleware.response_validation",
        "ResponseValidationOperation",
        "validate_mime_type",
        "method",
        ("self", "mime_type"),
        DISPATCH,
    ),
    Internal(
        "connexion.middleware.response_validation",
        "ResponseValidationOperation",
        "validate_required_headers",
        "staticmethod",
        ("headers", "response_definition"),
        DISPATCH,
    ),
    Internal(
        "connexion.validators.abstract",
        "AbstractRequestBodyValidator",
        "wrap_receive",
        "method",
        ("self", "receive", "scope"),
        DISPATCH,
    ),
    Internal(
        "connexion.validators.abstract",
        "AbstractResponseBodyValidator",
        "wrap_send",
        "method",
        ("self", "send"),
        DISPATCH,
    ),
    Internal(
        "connexion.validators.abstract",
        "AbstractResponseBodyValidator",
        "__init__",
        "method",
        ("self", "scope", "schema", "nullable", "encoding"),
        DISPATCH,
    ),
    Internal(
        "connexion.validators.parameter",
        "ParameterValidator",
        "validate",
        "method",
        ("self", "scope"),
        DISPATCH,
    ),
    Internal(
        "connexion.validators.parameter",
        "ParameterValidator",
        "__init__",
        "method",
        ("self", "parameters", "uri_parser", "strict_validation", "security_query_params"),
        DISPATCH,
    ),
    Internal("connexion.context", "", "_context", "attribute", None, DISPATCH),
    Internal("connexion.context", "", "_operation", "attribute", None, DISPATCH),
    Internal("connexion.context", "", "_receive", "attribute", None, DISPATCH),
    Internal("connexion.context", "", "_scope", "attribute", None, DISPATCH),
    Internal("connexion.utils", "", "sort_apis_by_basepath", "attribute", None, DISPATCH),
    # --- objects sent as their properties (exploded.py)
    Internal(
        "connexion.uri_parsing",
        "AbstractURIParser",
        "__init__",
        "method",
        ("self", "param_defns", "body_defn"),
        EXPLODED,
    ),
    Internal("connexion.uri_parsing", "OpenAPIURIParser", "param_defns", "property", ("self",), EXPLODED),
    Internal(
        "connexion.uri_parsing",
        "OpenAPIURIParser",
        "resolve_query",
        "method",
        ("self", "query_data"),
        EXPLODED,
    ),
    Internal("connexion.middleware.main", "_Options", "uri_parser_class", "attribute", None, APPLICATION),
]


def _lookup(internal: Internal) -> tuple[Any, Any]:
    """(the raw class attribute, the owner), failing with the file to revisit."""
    try:
        target: Any = importlib.import_module(internal.module)
        for part in filter(None, internal.owner.split(".")):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{internal.id}: {exc}; revisit {internal.relied_on_by}")
    owner = target
    if inspect.isclass(owner):
        for klass in owner.__mro__:
            if internal.name in vars(klass):
                return vars(klass)[internal.name], owner
    elif hasattr(owner, internal.name):
        return getattr(owner, internal.name), owner
    pytest.fail(f"{internal.id} is gone; revisit {internal.relied_on_by}")


@pytest.mark.parametrize("internal", INTERNALS, ids=lambda i: i.id)
def test_connexion_internal_is_still_there_with_the_same_shape(internal: Internal) -> None:
    raw, _ = _lookup(internal)
    where = f"revisit {internal.relied_on_by}"
    kinds = {
        "method": lambda r: inspect.isfunction(r),
        "staticmethod": lambda r: isinstance(r, staticmethod),
        "classmethod": lambda r: isinstance(r, classmethod),
        "property": lambda r: isinstance(r, property) or type(r).__name__ == "cached_property",
        "attribute": lambda r: True,
        "constant": lambda r: isinstance(r, str),
    }
    assert kinds[internal.kind](raw), f"{internal.id} is no longer a {internal.kind} ({raw!r}); {where}"
    if internal.parameters is None:
        return
    func = raw.fget if isinstance(raw, property) else getattr(raw, "__func__", raw)
    func = getattr(func, "func", func)  # functools.cached_property keeps it in .func
    names = list(inspect.signature(func).parameters)
    if internal.kind == "classmethod":
        names = names[1:]  # cls
    assert tuple(names) == internal.parameters, (
        f"{internal.id}{inspect.signature(func)} changed (expected {internal.parameters}); {where}"
    )


def test_connexion_keeps_its_per_operation_objects_where_dispatch_reads_them() -> None:
    """Each routed middleware holds, per base path and operationId, the object dispatch.py calls."""
    from mock_server.app import create_app
    from mock_server.binding.dispatch import Dispatch

    app = create_app()
    dispatch = Dispatch(app.middleware, app._middleware_app)
    operation = dispatch.operations[("", "listFlows")]
    assert operation.verify is not None, f"revisit {DISPATCH}"
    assert operation.request._operation.operation_id == "listFlows", f"revisit {DISPATCH}"
    assert operation.request._operation._uri_parser_class is not None, f"revisit {DISPATCH}"
    assert all(len(pair) == 2 for pair in app.middleware.error_handlers), f"revisit {DISPATCH}"
    assert set(dispatch.error_handlers) >= {Exception}, f"revisit {DISPATCH}"
    assert operation.response is not None and operation.response._validator_map, f"revisit {DISPATCH}"
    assert operation.context.operation_id == "listFlows", f"revisit {DISPATCH}"
    assert callable(operation.handler.fn), f"revisit {DISPATCH}"
    route = dispatch.mounts[-1][1]["flows"][0][0]
    assert route.path_regex.match("/flows") and "HEAD" in route.methods, f"revisit {DISPATCH}"


def test_connexion_add_api_takes_only_what_the_mock_app_passes_on() -> None:
    """MockApp.add_api replaces ConnexionMiddleware.add_api: a new parameter there needs handling."""
    from connexion.middleware.main import ConnexionMiddleware, _Options

    params = set(inspect.signature(ConnexionMiddleware.add_api).parameters)
    options = {f.name for f in _Options.__dataclass_fields__.values() if f.init}
    handled = {"self", "specification", "base_path", "name", "arguments", "kwargs"} | options
    assert params <= handled, f"new add_api parameters {params - handled}; revisit {APPLICATION}"


def test_connexion_texts_the_error_rendering_parses_are_unchanged() -> None:
    """binding/problems.py keys errors by field from Connexion's English texts."""
    import connexion.exceptions
    import connexion.security
    import connexion.validators.json
    import connexion.validators.parameter

    revisit = "revisit mock_server/binding/problems.py and mock_server/binding/validation.py"
    texts = {
        connexion.security: 'detail="No authorization token provided"',
        connexion.exceptions: "f\"Extra {param_type} parameter(s) {','.join(extra_params)} not in spec\"",
        connexion.validators.parameter: "\"Missing {parameter_type} parameter '{param[name]}'\"",
        connexion.validators.json: "format_error_with_path(exception=exception)",
    }
    for module, text in texts.items():
        assert text in inspect.getsource(module), f"{module.__name__} no longer says {text}; {revisit}"
    from connexion.json_schema import format_error_with_path

    class Error:
        path = ["flow", 0]

    assert format_error_with_path(Error()) == " - 'flow.0'", revisit


def test_connexion_still_logs_the_warning_the_app_quiets() -> None:
    import connexion.operations.openapi

    from mock_server.binding.application import MULTIPLE_CONTENT_TYPES, OPERATION_LOGGER

    assert connexion.operations.openapi.logger.name == OPERATION_LOGGER, f"revisit {APPLICATION}"
    assert f'"{MULTIPLE_CONTENT_TYPES}, using %s"' in inspect.getsource(connexion.operations.openapi)
    assert logging.getLogger(OPERATION_LOGGER) is connexion.operations.openapi.logger


def test_connexion_is_the_tested_minor() -> None:
    installed = version("connexion")
    assert installed.startswith(TESTED_MINOR + "."), (
        f"Connexion {installed} is not the tested {TESTED_MINOR}.x: run this module, fix what it names, "
        "then move TESTED_MINOR and the pin in pyproject.toml"
    )


def test_pyproject_pins_connexion_to_the_tested_minor() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads(
        (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    )
    (pin,) = [d for d in project["project"]["dependencies"] if d.startswith("connexion")]
    major, minor = TESTED_MINOR.split(".")
    assert pin.endswith(f">={TESTED_MINOR},<{major}.{int(minor) + 1}"), pin


def test_the_mock_changes_connexion_for_its_own_app_only() -> None:
    """create_app leaves Connexion's classes as they were: another app validates its spec as usual."""
    import connexion
    from connexion.exceptions import InvalidSpecification
    from connexion.spec import OpenAPISpecification, Specification

    from mock_server.app import create_app

    before = {cls: dict(vars(cls)) for cls in (Specification, OpenAPISpecification)}
    mock = create_app()
    assert {cls: dict(vars(cls)) for cls in (Specification, OpenAPISpecification)} == before
    assert type(mock.middleware.apis[0].specification).__name__ == "OnceValidatedSpecification"

    invalid = {"openapi": "3.0.0", "info": {"title": "x"}, "paths": {}}  # info.version missing
    plain = connexion.AsyncApp(__name__)
    with pytest.raises(InvalidSpecification):
        plain.add_api(invalid)
    plain.add_api({**invalid, "info": {"title": "x", "version": "1"}})
    assert type(plain.middleware.apis[0].specification) is OpenAPISpecification


def test_the_quieted_warning_still_reaches_other_connexion_apps(caplog: pytest.LogCaptureFixture) -> None:
    """The mock's log filter on Connexion's logger only drops the warning inside the mock's own app."""
    import connexion.operations.openapi

    from mock_server.app import create_app
    from mock_server.binding.application import MULTIPLE_CONTENT_TYPES

    create_app()  # installs the filter
    with caplog.at_level(logging.WARNING):
        connexion.operations.openapi.logger.warning(MULTIPLE_CONTENT_TYPES + ", using %s", "application/json")
    assert [r for r in caplog.records if MULTIPLE_CONTENT_TYPES in r.getMessage()]
