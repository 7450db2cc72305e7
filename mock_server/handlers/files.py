"""Files tag: downloadFile and downloadFileThumbnail answer 302 to a short-lived URL this server
serves (/_mock/files/...), as Flowdock redirected to a signed S3 URL (docs/flowdock.md §3.9)."""

from __future__ import annotations

from typing import Any

from mock_server.store import Store

__all__ = ["download_file", "download_file_thumbnail"]


def download_file(store: Store, user: int, organization: int, hash_: str, filename: str) -> Any:
    location = store.files.download_file(organization, hash_, filename, viewer=user)
    return None, 302, {"Location": location, "Content-Length": "0"}


def download_file_thumbnail(store: Store, user: int, organization: int, hash_: str, filename: str) -> Any:
    location = store.files.download_file(organization, hash_, filename, viewer=user, thumbnail=True)
    return None, 302, {"Location": location, "Content-Length": "0"}
