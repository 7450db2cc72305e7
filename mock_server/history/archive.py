"""Reading a Flowdock flow export: a zip (or the folder it was extracted to), safely.

An export is one zip per flow with ``messages.json`` at its root (readers also keep it extracted
as ``<flow>/messages.json``) and the flow's uploaded files somewhere inside it (docs/history.md).
This module opens one, refuses what is not an export with an ``ArchiveError`` that names the
archive and the place, and hands out ``messages.json``'s bytes and the bytes of a file named by
its API path (``/files/<n>/<token>/<name>``), wherever the file lies in the archive.

What a hostile or broken archive may not do: name a path outside the archive (``../``, an
absolute path, a symlink out of the folder), decompress beyond ``Limits.max_total_bytes`` in all
or ``Limits.max_entry_bytes`` for one entry, or decompress at a ratio above ``Limits.max_ratio``
(a zip bomb); the sizes a zip declares are checked first and enforced again while reading, as a
crafted header can lie.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Self
from urllib.parse import unquote

from mock_server.store.flows import parameterize

MESSAGES = "messages.json"
ARCHIVE_NAME = re.compile(r"^(?P<slug>.+?)-(?P<date>\d{4}-\d{2}-\d{2})$")
"""``<flow-slug>-<YYYY-MM-DD>``: how Flowdock named a flow's export."""
FILE_PATH = re.compile(r"^/files/(?P<n>\d+)/(?P<token>[^/]+)/(?:(?P<thumb>thumb)/)?(?P<name>[^/]+)$")
"""The API path of an uploaded file (or of its thumbnail) as messages name it."""
_CHUNK = 1 << 20


class ArchiveError(ValueError):
    """An archive that cannot be loaded: which archive, where in it, and what is wrong."""

    def __init__(self, archive: str, problem: str, where: str | None = None) -> None:
        self.archive = archive
        self.where = where
        self.problem = problem
        place = f" {where}:" if where else ""
        super().__init__(f"history archive {archive}:{place} {problem}")


@dataclass(frozen=True, slots=True)
class Limits:
    """What reading one archive may cost; above any of them it is refused as a zip bomb."""

    max_total_bytes: int = 4 << 30
    """Bytes decompressed from one archive, messages.json and files together."""
    max_entry_bytes: int = 2 << 30
    """Bytes decompressed from one entry."""
    max_ratio: int = 250
    """Decompressed bytes per compressed byte of an entry larger than ``ratio_floor``."""
    ratio_floor: int = 1 << 20
    """Entries up to this size are never judged by their ratio (a small text compresses well)."""


def slug_of(path: str | os.PathLike[str]) -> str:
    """The flow slug of an archive named ``<flow-slug>-<YYYY-MM-DD>[.zip]`` (else its whole stem),
    parameterized as Flowdock named flows (``Team Chat-2020-01-01.zip`` is ``team-chat``)."""
    stem = Path(path).name
    if stem.lower().endswith(".zip"):
        stem = stem[:-4]
    m = ARCHIVE_NAME.match(stem)
    return parameterize(m.group("slug") if m else stem)


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """An entry name's segments; None when it leaves the archive (absolute, ``..``, a drive)."""
    if "\x00" in name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return None
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if any(p == ".." for p in parts):
        return None
    return tuple(p for p in parts if p not in ("", "."))


class Archive:
    """One opened export: its entries by name, ``messages.json`` and the files in it."""

    def __init__(
        self, source: str | os.PathLike[str] | bytes, limits: Limits | None = None, *, name: str | None = None
    ) -> None:
        """``source``: a zip's or a folder's path, or a zip's bytes (``name`` then names it)."""
        self.data = source if isinstance(source, bytes) else None
        self.path = Path("archive.zip" if isinstance(source, bytes) else source)
        self.name = name or self.path.name
        self.limits = limits or Limits()
        self._read_total = 0
        self._zip: zipfile.ZipFile | None = None
        self._entries: dict[tuple[str, ...], str | zipfile.ZipInfo] = {}
        self._by_basename: dict[str, list[tuple[str, ...]]] = {}
        try:
            if self.data is None and self.path.is_dir():
                self._open_folder()
            else:
                self._open_zip()
        except OSError as exc:
            raise self.error(exc.strerror or str(exc)) from None
        for parts in self._entries:
            self._by_basename.setdefault(parts[-1], []).append(parts)

    def error(self, problem: str, where: str | None = None) -> ArchiveError:
        return ArchiveError(self.name, problem, where)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- opening ----------------------------------------------------------------------------------
    def _open_zip(self) -> None:
        if self.data is not None:
            head, file = self.data[:4], io.BytesIO(self.data)
        else:
            with open(self.path, "rb") as fh:
                head = fh.read(4)
            file = None
        try:
            self._zip = zipfile.ZipFile(file or self.path)
        except (zipfile.BadZipFile, ValueError):
            if head in (b"PK\x03\x04", b"PK\x05\x06"):
                raise self.error(
                    "is a truncated zip: its central directory is missing (the download or copy "
                    "stopped early); nothing was loaded"
                ) from None
            raise self.error("is not a zip file (nor a folder holding messages.json)") from None
        total = 0
        for info in self._zip.infolist():
            parts = _safe_parts(info.filename)
            if parts is None or (info.external_attr >> 16) & 0o170000 == stat.S_IFLNK:
                raise self.error("names a path outside the archive; refused whole", info.filename)
            if info.is_dir() or not parts:
                continue
            self._check_size(info.filename, info.file_size, info.compress_size)
            total += info.file_size
            if total > self.limits.max_total_bytes:
                raise self.error(
                    f"would decompress to more than {self.limits.max_total_bytes} bytes (a zip bomb?)"
                )
            self._entries[parts] = info

    def _open_folder(self) -> None:
        root = self.path.resolve()
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
                full = Path(dirpath) / name
                relative = full.relative_to(root).as_posix()
                if full.is_symlink() and not full.resolve().is_relative_to(root):
                    raise self.error(
                        "names a path outside the archive (a symbolic link); refused whole", relative
                    )
                if full.is_file():
                    self._entries[tuple(PurePosixPath(relative).parts)] = str(full)

    def _check_size(self, where: str, size: int, compressed: int) -> None:
        limits = self.limits
        if size > limits.max_entry_bytes:
            raise self.error(
                f"decompresses to {size} bytes, above {limits.max_entry_bytes} (a zip bomb?)", where
            )
        if size > limits.ratio_floor and size > limits.max_ratio * max(compressed, 1):
            raise self.error(
                f"decompresses {size // max(compressed, 1)} times its size, above {limits.max_ratio} "
                "(a zip bomb?)",
                where,
            )

    # --- reading ----------------------------------------------------------------------------------
    def messages_entry(self) -> tuple[str, ...]:
        """Where messages.json is: at the root, else in exactly one folder."""
        if (MESSAGES,) in self._entries:
            return (MESSAGES,)
        found = sorted(p for p in self._by_basename.get(MESSAGES, []) if len(p) == 2)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise self.error(
                "holds several messages.json ("
                + ", ".join("/".join(p) for p in found)
                + "): one flow per archive"
            )
        raise self.error("has no messages.json at its root (nor in one folder): not a Flowdock flow export")

    def read(self, parts: tuple[str, ...]) -> bytes:
        """An entry's bytes, its declared size and the limits enforced as it decompresses."""
        where = "/".join(parts)
        entry = self._entries[parts]
        if isinstance(entry, str):
            size = os.path.getsize(entry)
            self._count(where, size)
            with open(entry, "rb") as fh:
                return fh.read()
        assert self._zip is not None
        chunks: list[bytes] = []
        got = 0
        try:
            with self._zip.open(entry) as fh:
                while chunk := fh.read(_CHUNK):
                    got += len(chunk)
                    if got > entry.file_size:  # the header lied: a bomb in disguise
                        raise self.error(
                            "decompresses beyond the size its header declares (a zip bomb?)", where
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise self.error(f"cannot be read: {exc} (a truncated or damaged zip?)", where) from None
        self._count(where, got)
        return b"".join(chunks)

    def _count(self, where: str, size: int) -> None:
        self._read_total += size
        if size > self.limits.max_entry_bytes or self._read_total > self.limits.max_total_bytes:
            raise self.error(
                f"reading it passes the archive's limit of {self.limits.max_total_bytes} bytes", where
            )

    def find_file(self, api_path: str) -> tuple[str, ...] | None:
        """The entry holding the file an API path names: its name is the path's last segment
        (decoded or as written) and the path's token is one of its folders; a thumbnail's entry
        also has a ``thumb`` folder, the file's own entry has none."""
        m = FILE_PATH.match(api_path)
        if m is None:
            return None
        token, thumb = m.group("token"), m.group("thumb") is not None
        names = {m.group("name"), unquote(m.group("name"))}
        candidates = [
            parts
            for name in names
            for parts in self._by_basename.get(name, ())
            if token in parts[:-1] and parts[0:1] != (MESSAGES,)
        ]
        if not candidates:
            return None
        preferred = [p for p in candidates if ("thumb" in p[:-1]) == thumb]
        return min(preferred) if preferred else None  # a file's thumbnail never stands in for it

    def entries(self) -> Iterator[str]:
        return ("/".join(p) for p in self._entries)
