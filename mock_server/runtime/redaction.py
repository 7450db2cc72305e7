"""Credentials out of journaled requests, at read time (the journal records raw, cheaply)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"
SECRET_FIELDS = frozenset(
    {"access_token", "refresh_token", "password", "client_secret", "code", "flow_token", "api_token", "token"}
)
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-flowdock-mock-admin-token"})


def redact_query(query: bytes) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, REDACTED if k.lower() in SECRET_FIELDS else v) for k, v in pairs], safe="[]:/")


def redact_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    out = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {REDACTED}".strip()
        out[name] = value
    return out


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k.lower() in SECRET_FIELDS else _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def redact_body(body: bytes, size: int, headers: list[tuple[bytes, bytes]]) -> Any:
    """The body as the client sent it, credentials replaced; a summary when binary or cut short."""
    if not size:
        return None
    content_type = next((v.decode("latin-1") for k, v in headers if k == b"content-type"), "")
    summary = f"<{size} bytes {content_type}>".replace(" >", ">")
    if size > len(body) or content_type.startswith("multipart/"):
        return summary
    if "json" in content_type:
        try:
            return _redact_json(json.loads(body))
        except ValueError:
            return summary
    if content_type.startswith("application/x-www-form-urlencoded"):
        return redact_query(body)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return summary
