"""Connexion's validators, made to name the field they reject.

Connexion reports a bad query or path value as jsonschema's multi-line text without saying which
parameter it was; Flowdock's errors are keyed by field. This validator keeps Connexion's checks
and reports ``<reason> - '<name>'``, the same suffix Connexion uses for body fields, so app.py
renders both as ``{"errors": {name: [reason]}}``. A body that fails a ``oneOf`` (one shape per
``event``) is reported by the branch its discriminator names, so the answer is the missing or bad
field (:func:`actionable`); compatible mode validates against a copy of the spec whose bodies take
undeclared fields (:func:`without_closed_bodies`).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import jsonschema_rs
from connexion.validators import ParameterValidator
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from mock_server.binding.exploded import exploded_error
from mock_server.contract import exploded_properties
from mock_server.errors import BLANK


class NamedParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Same checks as Connexion's; the error names the parameter."""

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: Any = None
    ) -> Any:
        if exploded_properties(param):  # an object sent as its properties: name the property
            return exploded_error(value, param)
        if value is None and not param.get("required"):
            return None  # absent and optional: Connexion's answer, without its calls (most parameters)
        error = ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        if not error:
            return error
        if error.startswith("Missing "):
            return f"{BLANK} - '{param['name']}'"
        return f"{error.splitlines()[0]} - '{param['name']}'"


NON_BLANK = "[^\\s\\x1c-\\x1f\\x85]"
"""The spec's pattern for text that is not blank (``NonBlankText``): its failures read "can't be blank"."""


def _branch_index(error: ValidationError) -> Any:
    return error.relative_schema_path[0] if error.relative_schema_path else None


def _at(error: ValidationError, name: str) -> bool:
    return list(error.relative_path)[:1] == [name]


def actionable(error: ValidationError) -> ValidationError:
    """The error a client can act on, for a ``oneOf``/``anyOf`` failure.

    jsonschema reports a failed ``oneOf`` as "is not valid under any of the given schemas",
    without the field at fault. With a ``discriminator`` the branch is the one whose
    discriminating property matched (``event: comment`` -> CommentInput), and its own first error
    is the answer (``'message' is a required property``); an ``anyOf`` of requirements answers
    with its first branch's error, unless one branch failed on something else than a requirement.
    """
    while error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(_branch_index(sub), []).append(sub)
        discriminator = error.schema.get("discriminator") if isinstance(error.schema, dict) else None
        chosen: list[ValidationError] | None = None
        if isinstance(discriminator, dict) and isinstance(error.instance, dict):
            name = discriminator.get("propertyName", "")
            if name in error.instance:
                chosen = next((e for e in branches.values() if not any(_at(x, name) for x in e)), None)
                if chosen is None:
                    allowed = ", ".join(sorted(discriminator.get("mapping", {})))
                    return ValidationError(f"is not one of {allowed} here", path=deque([name]))
        if chosen is None:
            groups = list(branches.values())
            chosen = next((g for g in groups if all(x.validator != "required" for x in g)), groups[0])
        error = best_match(chosen) or chosen[0]
    return error


_URI = jsonschema_rs.Draft4Validator({"format": "uri"}, validate_formats=True)
FORMATS = FormatChecker()
"""jsonschema's formats plus ``uri`` (an absolute URI, RFC 3986), judged as the compiled validator does."""
FORMATS.checkers.update(Draft4Validator.FORMAT_CHECKER.checkers)
FORMATS.checks("uri")(lambda value: not isinstance(value, str) or bool(_URI.is_valid(value)))


class ActionableErrors:
    """A jsonschema validator whose ``validate`` raises :func:`actionable` errors.

    Behind fastpath.py's compiled validator, a body the compiled one rejects is refused even when
    jsonschema accepts it: jsonschema checks no ``uri`` format without an optional package, so a
    ``thread.external_url`` of ``""`` passed where the contract says ``format: uri``.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def validate(self, instance: Any) -> None:
        try:
            self.inner.validate(instance)
        except ValidationError as error:
            raise actionable(error) from None
        exact = getattr(self.inner, "exact", None)
        if exact is not None and not self.inner.is_valid_fast(instance):
            refused = best_match(exact.evolve(format_checker=FORMATS).iter_errors(instance))
            if refused is not None:
                raise actionable(refused)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _actionable(get: Any) -> property:
    def validator(self: Any) -> ActionableErrors:
        return ActionableErrors(get(self))

    return property(validator)


def actionable_body_errors(validators: dict[str, Any]) -> dict[str, Any]:
    """The same validator map, its request body validators raising :func:`actionable` errors."""
    body = validators["body"]
    for media_type, base in list(body.items()):
        prop = getattr(base, "_validator", None) if isinstance(base, type) else None
        if isinstance(prop, property) and prop.fget is not None:
            body[media_type] = type(base.__name__, (base,), {"_validator": _actionable(prop.fget)})
    return validators


def without_closed_bodies(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` whose request bodies accept undeclared fields (compatible mode).

    The contract says ``additionalProperties: false`` where strict mode refuses extras; compatible
    mode lets legacy clients send fields the contract does not name, which the handlers ignore.
    """

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items() if not (k == "additionalProperties" and v is False)}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    relaxed: dict[str, Any] = walk(spec)
    return relaxed
