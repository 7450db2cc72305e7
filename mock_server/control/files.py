"""Files tag: the bytes behind a download URL that /files/... redirected to (Flowdock's S3 URL).

The one control handler that builds its own response: Connexion's serializer only accepts a
content type the spec lists literally, and an upload's type is whatever the uploader sent, so
the bytes go out as a ready Starlette response (the validator still checks it against ``*/*``).

An upload is anyone's bytes served from the mock's own origin, the origin of the control API: it
must never run there. Every file goes out with ``X-Content-Type-Options: nosniff`` (the browser
takes the declared type, never a guess), ``Content-Security-Policy: sandbox`` (a unique origin, no
script, no forms, even if it is rendered) and, for anything but a raster image, ``Content-Disposition:
attachment`` (saved, not rendered; SVG is not raster: it can hold script).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from mock_server.store import Store

__all__ = ["get_file_content"]

INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif", "image/x-icon"}
)
"""Raster images: shown inline (a chat client previews them); everything else is an attachment."""


def disposition(content_type: str, file_name: str) -> str:
    """``inline`` for a raster image, else ``attachment``, with the RFC 6266 UTF-8 file name."""
    mime = content_type.partition(";")[0].strip().lower()
    kind = "inline" if mime in INLINE_TYPES else "attachment"
    return f"{kind}; filename*=UTF-8''{quote(file_name, safe='')}"


def get_file_content(store: Store, token: str) -> Any:
    data, content_type, file_name = store.files.get_file_content(token)
    headers = {
        "Content-Type": content_type,
        "Content-Disposition": disposition(content_type, file_name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
    return Response(content=data, headers=headers)
