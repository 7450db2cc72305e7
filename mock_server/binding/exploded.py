"""Query parameters that are objects in OpenAPI 3.0's ``form`` style, exploded: sent as their properties.

OpenAPI 3.0 can state a rule across query parameters one way only: one parameter whose schema is
an object with those parameters as its properties, in the ``form`` style with ``explode: true``, so
that on the wire it is its properties (``?filter=acme/main&user=1``; OpenAPI 3.0.3 §4.7.12.4, the
style values). The contract states the Streaming API's "``filter`` or ``user=1``" that way
(``streamFlows``' ``selection``, spec/CORRECTIONS.md P11). Connexion 3.3 reads an object from the
query string only in the ``deepObject`` style (``selection[filter]=...``): in the ``form`` style it
takes the properties for parameters of their own (undeclared ones, which strict mode refuses) and
the object for missing. Here:

- ``ExplodedQueryParser``: Connexion's URI parser, which also gathers each such object from the
  query string, every property under its own name, and the object empty when none of them is sent
  (an object without properties has no form on the wire). Everything that reads the resolved query
  after it (the parameter validator, strict mode's check for undeclared parameters, the handler's
  arguments, dispatch.py and invoke.py alike) sees the one parameter the contract declares, its
  values cast by Connexion as those of a ``deepObject`` are.
- ``exploded_error``: what the parameter validator answers for such an object, named by the
  property at fault as Flowdock named fields (``filter``, never ``selection``); when the object
  meets none of the alternatives of its ``anyOf`` (neither property given), the schema's
  ``x-refusal`` text under the first alternative's property.
"""

from __future__ import annotations

from typing import Any

from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators.parameter import draft4_format_checker
from jsonschema import Draft4Validator

from mock_server.contract import exploded_properties
from mock_server.errors import BLANK

REFUSAL_KEY = "x-refusal"
"""Vendor key of an exploded object's schema: the text of the 400 when no alternative of its ``anyOf`` holds."""


class ExplodedQueryParser(OpenAPIURIParser):  # type: ignore[misc]
    """``OpenAPIURIParser`` that also reads exploded ``form`` objects (see the module docstring)."""

    def __init__(self, param_defns: list[dict[str, Any]], body_defn: dict[str, Any]) -> None:
        super().__init__(param_defns, body_defn)
        self.owners: dict[str, str] = {}
        """Each property on the wire -> the name of the object parameter it belongs to."""
        for name, definition in self.param_defns.items():
            for prop in exploded_properties(definition):
                self.owners.setdefault(prop, name)
        self.objects = tuple(dict.fromkeys(self.owners.values()))
        self.arrays = {
            prop
            for prop, owner in self.owners.items()
            if self.param_defns[owner]["schema"]["properties"][prop].get("type") == "array"
        }

    def resolve_query(self, query_data: dict[str, list[str]]) -> Any:
        if self.owners:
            query_data = self.gather(query_data)
        return super().resolve_query(query_data)

    def gather(self, query_data: dict[str, list[str]]) -> dict[str, Any]:
        """The query with each exploded object's properties taken into the object: the last value
        of a property sent twice, as for any other parameter; every value of an array property."""
        gathered: dict[str, Any] = {}
        objects: dict[str, dict[str, Any]] = {name: {} for name in self.objects}
        for key, values in query_data.items():
            owner = self.owners.get(key)
            if owner is None:
                gathered[key] = values
            else:
                objects[owner][key] = list(values) if key in self.arrays else values[-1]
        for name, value in objects.items():
            gathered[name] = [value]  # the object's own name is not a wire name: the object wins
        return gathered


def exploded_error(value: Any, definition: dict[str, Any]) -> str | None:
    """The parameter validator's answer for an exploded object, ``<reason> - '<property>'`` (the
    form app.py renders as ``{"errors": {property: [reason]}}``), or None when it is valid.

    A property's own fault (a type, an enum, a length) is named first; a failed ``anyOf`` means
    none of its alternatives holds, so the first alternative's property is the one to fill in.
    """
    schema = definition["schema"]
    found = list(Draft4Validator(schema, format_checker=draft4_format_checker).iter_errors(value or {}))
    if not found:
        return None
    for error in found:
        if error.path:
            return f"{error.message.splitlines()[0]} - '{error.path[0]}'"
    error = found[0]
    if error.validator == "anyOf":
        first = next((b["required"][0] for b in schema["anyOf"] if b.get("required")), definition["name"])
        return f"{schema.get(REFUSAL_KEY) or BLANK} - '{first}'"
    return f"{error.message.splitlines()[0]} - '{definition['name']}'"
