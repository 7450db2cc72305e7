"""Connexion's parameter validator, made to name the parameter it rejects.

Connexion reports a bad query or path value as jsonschema's multi-line text without saying which
parameter it was; Flowdock's errors are keyed by field. This validator keeps Connexion's checks
and reports ``<reason> - '<name>'``, the same suffix Connexion uses for body fields, so app.py
renders both as ``{"errors": {name: [reason]}}``.
"""

from __future__ import annotations

from typing import Any

from connexion.validators import ParameterValidator

from mock_server.errors import BLANK


class NamedParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Same checks as Connexion's; the error names the parameter."""

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: Any = None
    ) -> Any:
        error = ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        if not error:
            return error
        if error.startswith("Missing "):
            return f"{BLANK} - '{param['name']}'"
        return f"{error.splitlines()[0]} - '{param['name']}'"
