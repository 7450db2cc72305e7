"""Credentials out of journaled requests and log lines, driven by what the contract marks.

The journal records requests raw and cheaply; this module redacts them when they are read (the
journal, the coverage report) and redacts the path of each access-log line. What counts as a
credential is read from the contract, not listed here:

- every security scheme: ``http`` schemes and ``oauth2`` travel in ``Authorization``; an
  ``apiKey`` names its header, query parameter or cookie; ``oauth2`` bearer tokens may also travel
  as an ``access_token`` query or body parameter (RFC 6750 §2.2, §2.3);
- every parameter and every request-body property whose schema says ``format: password`` (the
  OpenAPI mark for a value to hide): the Push API's flow token in the path, a source's
  ``flow_token``, the OAuth client secret, codes, refresh tokens and passwords;
- the HTTP credential headers themselves (``Authorization``, ``Proxy-Authorization``, ``Cookie``).

A body is read whatever its Content-Type says, or without one (JSON when it looks like JSON, else
a form, as the normaliser reads it). Once the marked values of a request are known, every other
place that echoes them (a contract violation quoting the value, a body that is plain text) shows
``[redacted]`` instead, so a credential never appears in clear.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from mock_server.contract import OperationIndex, deref

REDACTED = "[redacted]"
HTTP_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
MIN_SECRET = 4
"""Shorter marked values are not searched for elsewhere (``[redacted]`` everywhere would say less)."""


def printable(value: Any) -> Any:
    """JSON-shaped data any encoder takes: lone surrogates shown as U+FFFD, huge integers as text."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return str(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return value
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [printable(v) for v in value]
    return value


class Credentials:
    """The credential names and places the given contracts mark, and the redaction they drive."""

    def __init__(self, *indexes: OperationIndex) -> None:
        self.headers: set[str] = set(HTTP_CREDENTIAL_HEADERS)
        self.names: set[str] = set()
        """Query, form and JSON field names whose values are credentials (lower case)."""
        templates: set[str] = set()
        for index in indexes:
            spec = index.spec
            for scheme in (spec.get("components", {}).get("securitySchemes") or {}).values():
                scheme = deref(spec, scheme)
                kind = scheme.get("type")
                if kind == "apiKey":
                    target = self.headers if scheme.get("in") == "header" else self.names
                    target.add(str(scheme.get("name", "")).lower())
                elif kind == "oauth2":
                    self.names.add("access_token")
            for op in index.operations.values():
                for parameter in (*op.shared_parameters, *op.definition.get("parameters", ())):
                    parameter = deref(spec, parameter)
                    if not self._marked(spec, parameter.get("schema")):
                        continue
                    name = str(parameter["name"])
                    if parameter["in"] == "path":
                        templates.add(op.template)
                    elif parameter["in"] == "header":
                        self.headers.add(name.lower())
                    else:
                        self.names.add(name.lower())
                body = deref(spec, op.definition.get("requestBody")) or {}
                for media in (body.get("content") or {}).values():
                    self._body_names(spec, media.get("schema"), 0)
        self._paths = [self._path_pattern(t, indexes) for t in sorted(templates)]

    @staticmethod
    def _marked(spec: dict[str, Any], schema: Any) -> bool:
        return (deref(spec, schema) or {}).get("format") == "password"

    def _body_names(self, spec: dict[str, Any], schema: Any, depth: int) -> None:
        schema = deref(spec, schema) or {}
        if depth > 8:
            return
        for key in ("allOf", "oneOf", "anyOf"):
            for part in schema.get(key, ()):
                self._body_names(spec, part, depth + 1)
        for name, prop in (schema.get("properties") or {}).items():
            if self._marked(spec, prop):
                self.names.add(name.lower())
            else:
                self._body_names(spec, prop, depth + 1)
        if "items" in schema:
            self._body_names(spec, schema["items"], depth + 1)

    @staticmethod
    def _path_pattern(template: str, indexes: tuple[OperationIndex, ...]) -> re.Pattern[str]:
        marked = set()
        for index in indexes:
            for op in index.operations.values():
                if op.template != template:
                    continue
                for parameter in (*op.shared_parameters, *op.definition.get("parameters", ())):
                    parameter = deref(index.spec, parameter)
                    if parameter["in"] == "path" and Credentials._marked(index.spec, parameter.get("schema")):
                        marked.add(parameter["name"])
        pattern = ""
        for part in re.split(r"(\{[^/}]+\})", template):
            if part.startswith("{") and part[1:-1] in marked:
                pattern += f"(?P<{part[1:-1]}>[^/]+)"
            elif part.startswith("{"):
                pattern += "[^/]+"
            else:
                pattern += re.escape(part)
        return re.compile(f"^{pattern}/?$")

    # --- what a request carries ------------------------------------------------------------------
    def path_secrets(self, path: str) -> list[str]:
        for pattern in self._paths:
            found = pattern.match(path)
            if found is not None:
                return [v for v in found.groupdict().values() if v]
        return []

    def redact_path(self, path: str) -> str:
        """The path with each credential segment replaced (for the journal and the log)."""
        for pattern in self._paths:
            found = pattern.match(path)
            if found is not None:
                for name in sorted(found.groupdict(), key=found.start, reverse=True):
                    path = path[: found.start(name)] + REDACTED + path[found.end(name) :]
                return path
        return path

    def _pairs(self, text: str, secrets: list[str]) -> str:
        pairs = []
        for key, value in parse_qsl(text, keep_blank_values=True):
            if self._secret_name(key):
                secrets.append(value)
                value = REDACTED
            pairs.append((key, value))
        return urlencode(pairs, safe="[]:/")

    def _secret_name(self, key: str) -> bool:
        return key.lower().split("[", 1)[0] in self.names

    def _json(self, value: Any, secrets: list[str]) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if isinstance(key, str) and self._secret_name(key):
                    if isinstance(item, str):
                        secrets.append(item)
                    out[key] = REDACTED
                else:
                    out[key] = self._json(item, secrets)
            return out
        if isinstance(value, list):
            return [self._json(v, secrets) for v in value]
        return value

    def query(self, query: bytes, secrets: list[str]) -> str:
        if not query:
            return ""
        return self._pairs(query.decode("latin-1"), secrets)

    def header_values(self, headers: list[tuple[bytes, bytes]], secrets: list[str]) -> dict[str, str]:
        out = {}
        for raw_name, raw_value in headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name in self.headers:
                scheme, _, rest = value.partition(" ")
                secrets.append(rest or value)
                if scheme.lower() == "basic":
                    try:
                        decoded = base64.b64decode(rest, validate=True).decode("utf-8")
                    except (binascii.Error, UnicodeDecodeError):
                        decoded = ""
                    secrets.extend(decoded.split(":", 1))
                value = f"{scheme} {REDACTED}" if rest else REDACTED
            out[name] = value
        return out

    def body(self, body: bytes, size: int, headers: list[tuple[bytes, bytes]], secrets: list[str]) -> Any:
        """The body as the client sent it, credentials replaced; a summary when binary or cut short."""
        if not size:
            return None
        content_type = next((v.decode("latin-1") for k, v in headers if k == b"content-type"), "")
        summary = f"<{size} bytes {content_type}>".replace(" >", ">")
        if size > len(body) or content_type.startswith("multipart/"):
            return summary
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return summary
        if "json" in content_type or text.lstrip()[:1] in ("{", "["):
            try:
                return printable(self._json(json.loads(text), secrets))
            except (ValueError, RecursionError):
                return summary if "json" in content_type else text
        if "=" in text and not text.lstrip().startswith("<"):
            return self._pairs(text, secrets)
        return text

    def entry(self, raw: dict[str, Any], secrets: list[str]) -> dict[str, Any]:
        """A rendered entry with every other occurrence of the request's credentials replaced."""
        found = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        if not found:
            return raw
        pattern = re.compile("|".join(re.escape(s) for s in found))

        def scrub(value: Any) -> Any:
            if isinstance(value, str):
                return pattern.sub(REDACTED, value)
            if isinstance(value, dict):
                return {k: scrub(v) for k, v in value.items()}
            if isinstance(value, list):
                return [scrub(v) for v in value]
            return value

        return {k: scrub(v) for k, v in raw.items()}
