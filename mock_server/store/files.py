"""Uploaded files: bytes kept in memory, addressed like Flowdock's ``/files/<n>/<hash>/<name>``.

An upload arrives as a multipart ``content`` part or as base64 JSON (docs/flowdock.md §7); both become
an ``Upload``, are checked against ``StoreConfig.max_upload_bytes`` and stored under the flow's
(or private conversation's) file namespace number. A download (``downloadFile``) answers with a
short-lived URL this server serves itself (``/_mock/files/<token>``), as Flowdock redirected to a
signed S3 URL; the control API's ``getFileContent`` turns that token back into the bytes.

Thumbnails: Flowdock stored a scaled copy of an uploaded image and named it in the file
message's ``content.thumbnail.path`` (``/files/<n>/<hash>/thumb/<name>``); ``downloadFileThumbnail``
serves it the same way. Only a loaded Flowdock export brings thumbnails (``StoredFile.thumbnail``):
the mock scales no images, so its own uploads name no thumbnail, and asking for one answers the
404 Flowdock gave for a file without one (docs/history.md).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mock_server.errors import BLANK, FILE_TOO_LARGE, INVALID, NotFound, PayloadTooLarge, ValidationFailed
from mock_server.store.keys import DOWNLOAD

if TYPE_CHECKING:
    from mock_server.store import Store

DOWNLOAD_TTL_MS = 5 * 60 * 1000
"""How long a download URL answers; Flowdock's signed S3 URLs were short-lived too."""

PATH = re.compile(r"^/files/(\d+)/([^/]+)/")


@dataclass(slots=True)
class Upload:
    """An uploaded file before it is stored: its name, declared type and bytes."""

    file_name: str
    content_type: str
    data: bytes

    @classmethod
    def from_part(cls, part: Any, limit: int) -> Upload:
        """A multipart file part (anything with ``filename``, ``content_type`` and ``file``)."""
        try:  # closed here: nothing else closes the spooled temporary file behind the part
            data = part.file.read(limit + 1)
        finally:
            part.file.close()
        name = base_name(str(getattr(part, "filename", None) or ""))
        if not name:
            raise ValidationFailed.field("content", BLANK)
        if len(data) > limit:
            raise PayloadTooLarge(errors={"content": [FILE_TOO_LARGE]})
        declared = getattr(part, "content_type", None)
        return cls(name, _content_type(name, declared), data)

    @classmethod
    def from_base64(cls, content: dict[str, Any], limit: int) -> Upload:
        """``{"data": <base64>, "content_type": ..., "file_name": ...}`` (a JSON upload)."""
        name = base_name(str(content.get("file_name") or ""))
        if not name:
            raise ValidationFailed.field("content.file_name", BLANK)
        raw = content.get("data")
        if not isinstance(raw, str) or not raw:
            raise ValidationFailed.field("content.data", BLANK)
        if len(raw) // 4 * 3 > limit + 3:  # refuse before decoding a huge body
            raise PayloadTooLarge(errors={"content": [FILE_TOO_LARGE]})
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed.field("content.data", INVALID) from None
        if len(data) > limit:
            raise PayloadTooLarge(errors={"content": [FILE_TOO_LARGE]})
        return cls(name, _content_type(name, content.get("content_type")), data)


def file_path(files_id: int, file_hash: str, file_name: str) -> str:
    """``/files/<n>/<hash>/<name>`` with the name percent-encoded, as Flowdock's links were: a
    name with spaces or ``#`` is still one valid URL path segment for strict HTTP clients."""
    return f"/files/{files_id}/{file_hash}/{quote(file_name, safe='')}"


def base_name(name: str) -> str:
    """The file name an upload is stored under: no directories (``../../x.txt`` is ``x.txt``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "" if base in (".", "..") else base


def _content_type(name: str, declared: str | None) -> str:
    if declared and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(name)
    return guessed or declared or "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A file's thumbnail: the name its path ends with, its type and its bytes."""

    file_name: str
    content_type: str
    data: bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "content_type": self.content_type,
            "data": base64.b64encode(self.data).decode("ascii"),
        }


@dataclass(slots=True)
class StoredFile:
    """One upload: ``files_id`` is the flow's (or conversation's) file namespace number."""

    files_id: int
    hash: str
    file_name: str
    content_type: str
    data: bytes
    flow: str | None = None
    private: tuple[int, int] | None = None
    thumbnail: Thumbnail | None = None


def file_document(f: StoredFile) -> dict[str, Any]:
    """A stored file as a world document's ``files`` element (its thumbnail only when it has one)."""
    out = {
        "files_id": f.files_id,
        "hash": f.hash,
        "file_name": f.file_name,
        "content_type": f.content_type,
        "data": base64.b64encode(f.data).decode("ascii"),
        "flow": f.flow,
        "private": list(f.private) if f.private else None,
    }
    if f.thumbnail is not None:
        out["thumbnail"] = f.thumbnail.to_dict()
    return out


class FileStore:
    """All uploads, by (files_id, hash), and the live download tokens."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_key: dict[tuple[int, str], StoredFile] = {}
        self.downloads: dict[str, tuple[tuple[int, str], int, bool]] = {}
        """Download token -> the file, when the token expires, and whether it is the thumbnail."""

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("files", []):
            private = raw.get("private")
            thumbnail = raw.get("thumbnail")
            stored = StoredFile(
                files_id=raw["files_id"],
                hash=raw["hash"],
                file_name=raw["file_name"],
                content_type=raw["content_type"],
                data=base64.b64decode(raw["data"]),
                flow=raw.get("flow"),
                private=(int(private[0]), int(private[1])) if private else None,
                thumbnail=Thumbnail(
                    thumbnail["file_name"], thumbnail["content_type"], base64.b64decode(thumbnail["data"])
                )
                if thumbnail
                else None,
            )
            self.by_key[(stored.files_id, stored.hash)] = stored

    def export(self) -> dict[str, Any]:
        return {"files": [file_document(f) for f in self.by_key.values()]}

    # --- writes (called by the message stores) ---------------------------------------------------
    def save(
        self,
        upload: Upload,
        files_id: int,
        *,
        flow: str | None = None,
        private: tuple[int, int] | None = None,
    ) -> dict[str, Any]:
        """Keep the bytes; the file message's ``content`` (and attachment) object."""
        file_hash = self.store.token_urlsafe(22)
        while (files_id, file_hash) in self.by_key:
            file_hash = self.store.token_urlsafe(22)
        self.by_key[(files_id, file_hash)] = StoredFile(
            files_id, file_hash, upload.file_name, upload.content_type, upload.data, flow, private
        )
        return {
            "path": file_path(files_id, file_hash, upload.file_name),
            "file_name": upload.file_name,
            "file_size": len(upload.data),
            "content_type": upload.content_type,
            "content_disposition": f"inline; filename*=UTF-8''{quote(upload.file_name)}",
        }

    def discard(self, path: str) -> None:
        """Forget the bytes behind a file message's ``path`` (its message was deleted)."""
        m = PATH.match(path or "")
        if m:
            self.by_key.pop((int(m.group(1)), m.group(2)), None)

    def next_private_files_id(self) -> int:
        """A file namespace number no flow and no stored file uses."""
        used = [f.files_id for f in self.store.flows.by_id.values()]
        used += [key[0] for key in self.by_key]
        used += [c.files_id for c in self.store.private.conversations.values() if c.files_id is not None]
        return max(used, default=100000) + 1

    # --- operations -------------------------------------------------------------------------------
    def download_file(
        self, files_id: int, file_hash: str, filename: str, *, viewer: int, thumbnail: bool = False
    ) -> str:
        """The short-lived URL of a file (or of its thumbnail) the viewer can see (its flow or
        their conversation); 404 for a file without a thumbnail, as for an unknown file."""
        with self.store.lock:
            found = self.by_key.get((files_id, file_hash))
            served = found.thumbnail if thumbnail and found is not None else found
            # the name as the path gave it once decoded, or still encoded (a client that quoted the
            # path it was given): both name the file
            names = (served.file_name, quote(served.file_name, safe="")) if served is not None else ()
            if found is None or filename not in names or not self._can_see(found, viewer=viewer):
                raise NotFound()
            token = self.store.new_credential(DOWNLOAD, length=32)
            now = self.store.now_ms()
            for expired in [t for t, v in self.downloads.items() if v[1] <= now]:
                del self.downloads[expired]
                self.store.keys.release(DOWNLOAD, expired)
            self.downloads[token] = ((files_id, file_hash), now + DOWNLOAD_TTL_MS, thumbnail)
            return f"{self.store.config.base_url}/_mock/files/{token}"

    def get_file_content(self, token: str) -> tuple[bytes, str, str]:
        """The bytes, content type and file name behind a download URL that has not expired."""
        with self.store.lock:
            entry = self.downloads.get(token)
            if entry is None or entry[1] <= self.store.now_ms():
                raise NotFound()
            found = self.by_key.get(entry[0])
            served = found.thumbnail if entry[2] and found is not None else found
            if served is None:
                raise NotFound()
            return served.data, served.content_type, served.file_name

    def _can_see(self, stored: StoredFile, *, viewer: int) -> bool:
        if stored.private is not None:
            return viewer in stored.private
        flow = self.store.flows.by_id.get(stored.flow or "")
        return flow is not None and self.store.flows.can_see(flow, viewer)
