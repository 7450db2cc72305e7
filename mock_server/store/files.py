"""Uploaded files: bytes kept in memory, addressed like Flowdock's ``/files/<n>/<hash>/<name>``."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.store import Store


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


class FileStore:
    """All uploads, by (files_id, hash)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_key: dict[tuple[int, str], StoredFile] = {}

    def load(self, world: dict[str, Any]) -> None:
        for raw in world.get("files", []):
            private = raw.get("private")
            stored = StoredFile(
                files_id=raw["files_id"],
                hash=raw["hash"],
                file_name=raw["file_name"],
                content_type=raw["content_type"],
                data=base64.b64decode(raw["data"]),
                flow=raw.get("flow"),
                private=(int(private[0]), int(private[1])) if private else None,
            )
            self.by_key[(stored.files_id, stored.hash)] = stored

    def export(self) -> dict[str, Any]:
        return {
            "files": [
                {
                    "files_id": f.files_id,
                    "hash": f.hash,
                    "file_name": f.file_name,
                    "content_type": f.content_type,
                    "data": base64.b64encode(f.data).decode("ascii"),
                    "flow": f.flow,
                    "private": list(f.private) if f.private else None,
                }
                for f in self.by_key.values()
            ]
        }
