"""Files tag: the bytes behind a download URL that /files/... redirected to (Flowdock's S3 URL).

The one control handler that builds its own response: Connexion's serializer only accepts a
content type the spec lists literally, and an upload's type is whatever the uploader sent, so
the bytes go out as a ready Starlette response (the validator still checks it against ``*/*``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mock_server.store import Store

__all__ = ["get_file_content"]


def get_file_content(store: Store, token: str) -> Any:
    data, content_type = store.files.get_file_content(token)
    return Response(content=data, headers={"Content-Type": content_type})
