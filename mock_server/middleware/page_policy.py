"""The security headers of every HTML page the mock serves under /_mock (the inspector, its
admin-token prompt, Swagger UI, the coverage report).

The pages are the mock's own, served from the origin of the control API, so a script running in
one of them can do whatever the control API allows. Each gets a ``Content-Security-Policy`` that
lets it run its own scripts and nothing else: ``script-src 'self'`` plus the SHA-256 hash of each
inline ``<script>`` the page holds as served (no ``'unsafe-inline'``, no ``'unsafe-eval'``: markup
injected into a page cannot add a script); ``frame-ancestors 'none'`` (and ``X-Frame-Options:
DENY``): no other page can frame it to trick a click; ``connect-src 'self'``: it talks to this
server only; ``base-uri 'none'``, ``object-src 'none'``, ``form-action 'self'``. Every page also
gets ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` (URLs under /_mock
name worlds and download tokens; they never leave in a ``Referer``).

``with_page_policy`` wraps an ASGI ``send``: a ``text/html`` response is held until its body is
complete (these pages are small and sent whole), hashed, and sent with the headers added.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def content_security_policy(page: bytes) -> bytes:
    """The policy for ``page``: its own inline scripts (by hash) and same-origin resources only."""
    hashes = sorted(
        {
            b"'sha256-" + base64.b64encode(hashlib.sha256(body).digest()) + b"'"
            for body in _INLINE_SCRIPT.findall(page)
        }
    )
    return b"; ".join(
        [
            b"default-src 'self'",
            b" ".join([b"script-src 'self'", *hashes]),
            b"style-src 'self' 'unsafe-inline'",
            b"img-src 'self' data:",
            b"connect-src 'self'",
            b"object-src 'none'",
            b"base-uri 'none'",
            b"form-action 'self'",
            b"frame-ancestors 'none'",
        ]
    )


def page_headers(page: bytes) -> list[tuple[bytes, bytes]]:
    """Every security header of an HTML page of the mock."""
    return [
        (b"content-security-policy", content_security_policy(page)),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.lower().startswith(b"text/html")
    return False


def with_page_policy(send: Any) -> Any:
    """``send``, adding ``page_headers`` to a ``text/html`` response (any other passes untouched)."""
    start: dict[str, Any] | None = None
    body: list[bytes] = []

    async def wrapped(message: dict[str, Any]) -> None:
        nonlocal start
        kind = message["type"]
        if kind == "http.response.start" and _is_html(list(message.get("headers", []))):
            start = message
            return
        if start is None or kind != "http.response.body":
            await send(message)
            return
        body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        page = b"".join(body)
        headers = [
            (k, v)
            for k, v in start.get("headers", [])
            if k.lower() not in (b"x-content-type-options", b"x-frame-options", b"referrer-policy")
        ]
        await send({**start, "headers": [*headers, *page_headers(page)]})
        start = None
        await send({"type": "http.response.body", "body": page})

    return wrapped
