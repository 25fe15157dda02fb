"""Where the Compositor keeps its bytes: one interface, and its local-folder backend.

A session's files are of four kinds: ``image`` (a normalised original, PNG, with its
``ImageInfo`` as metadata), ``proxy`` (a small copy of an image or a render that previews
are made from), ``render`` (a composed PNG or JPEG) and ``batch`` (a zip of renders). A
backend stores whole files only: a write that fails leaves nothing behind, on disk or in
the database.

``LocalStorage`` keeps them under ``root/<session>`` (one node, as before);
``storage_db.DatabaseStorage`` keeps them in the state database, which every node reads.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, cast

IMAGE, PROXY, RENDER, BATCH = "image", "proxy", "render", "batch"
KINDS = (IMAGE, PROXY, RENDER, BATCH)
OUTPUTS = (RENDER, BATCH)  # what the session made (not counted in its quota)
SESSION_RE = re.compile(r"[0-9a-f]{32}")
FILE_RE = re.compile(r"[0-9a-f]{16}")
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}
ZIP = "application/zip"
# Errors of a disk that cannot take a write: full, over quota, read-only or not ours.
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
DISK_FULL = "the server's disk is full or read-only"

# Writes a file's bytes into the sink it is given (e.g. ``lambda f: img.save(f, "PNG")``).
Fill = Callable[[BinaryIO], object]


class StorageError(Exception):
    """The store cannot take or give bytes now; the message is for the user."""


class StorageFull(StorageError):
    """The disk (or the database's disk) is full or read-only."""

    def __init__(self, what: str = "the file") -> None:
        """Say what was not saved, and why."""
        super().__init__(f"Not saved: {DISK_FULL} ({what}). Tell the administrator.")


class StorageUnavailable(StorageError):
    """The shared store (the state database) does not answer."""

    def __init__(self) -> None:
        """The one message for an unreachable store."""
        super().__init__(
            "The image store (the app's database) is not answering; try again in a moment."
        )


class Storage(Protocol):
    """Files of Compositor sessions, by ``(session, kind, id)``; ids are checked by the caller."""

    def write(
        self, sid: str, kind: str, file_id: str, mime: str, fill: Fill, meta: str = ""
    ) -> int:
        """Store a whole file that ``fill`` writes, with its metadata; returns its size."""
        ...

    def read(self, sid: str, kind: str, file_id: str) -> tuple[Path | BinaryIO, str] | None:
        """The file (a path on this node's disk, or an open binary stream) and its type."""
        ...

    def meta(self, sid: str, kind: str, file_id: str) -> str | None:
        """The metadata stored with a file, or None if there is no such file."""
        ...

    def listing(self, sid: str, kind: str) -> list[str]:
        """The ids of a session's files of one kind, oldest first."""
        ...

    def metas(self, sid: str) -> list[str]:
        """The metadata of every image of a session, oldest first (one look-up)."""
        ...

    def delete(self, sid: str, kind: str, file_ids: list[str]) -> None:
        """Remove files (missing ones are ignored)."""
        ...

    def used(self, sid: str) -> int:
        """Bytes a session's images and proxies take (renders are few and not counted)."""
        ...

    def touch(self, sid: str, now: float) -> None:
        """Mark the session as used at ``now`` (the idle sweep keeps it)."""
        ...

    def sweep(self, idle_s: float, now: float) -> int:
        """Delete the sessions idle for longer than ``idle_s``; returns how many."""
        ...


def what_is(kind: str) -> str:
    """A kind of file as a message names it."""
    return {RENDER: "the render", BATCH: "the zip of renders"}.get(kind, "the image")


def disk_error(exc: OSError, what: str) -> StorageError:
    """The user's message for a failed write: full or read-only disks are named as such."""
    if exc.errno in DISK_ERRNOS:
        return StorageFull(what)
    return StorageError(f"Not saved: the server could not write {what} ({exc.strerror}).")


def write_file(path: Path, fill: Fill, what: str) -> int:
    """Write ``path`` all at once (a temporary file renamed over it); returns its size.

    Whatever fails (a full or read-only disk, ``fill`` itself), no temporary file stays.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as out:
            fill(out)
        size = tmp.stat().st_size
        os.replace(tmp, path)
        return size
    except OSError as exc:
        raise disk_error(exc, what) from exc
    finally:
        # On a read-only disk the file could not have been created either.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def sweep_folders(root: Path, idle_s: float, now: float) -> int:
    """Delete the session folders under ``root`` whose time is older than ``idle_s``."""
    removed = 0
    if not root.is_dir():
        return 0
    for entry in root.iterdir():
        if not (entry.is_dir() and SESSION_RE.fullmatch(entry.name)):
            continue
        try:
            idle = now - entry.stat().st_mtime
        except FileNotFoundError:
            continue
        if idle > idle_s:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def touch_folder(path: Path, now: float) -> None:
    """Set a folder's time (best effort: a read-only disk keeps what it has)."""
    with contextlib.suppress(OSError):
        os.utime(path, (now, now))


class LocalStorage:
    """Files under ``root/<session>``: ``<id>.png`` and ``<id>.json``, ``<id>.proxy.*``,
    ``renders/<id>.*``; a session folder's time is its last use."""

    def __init__(self, root: Path) -> None:
        """Keep files under ``root``."""
        self.root = root

    def _paths(self, sid: str, kind: str, file_id: str) -> Iterator[tuple[Path, str]]:
        """Where a file of each possible type would be."""
        folder = self.root / sid
        if kind == IMAGE:
            yield folder / f"{file_id}.png", "image/png"
            return
        if kind == BATCH:
            yield folder / "batches" / f"{file_id}.zip", ZIP
            return
        for mime, ext in EXTENSIONS.items():
            if kind == PROXY:
                yield folder / f"{file_id}.proxy.{ext}", mime
            else:
                yield folder / "renders" / f"{file_id}.{ext}", mime

    def write(
        self, sid: str, kind: str, file_id: str, mime: str, fill: Fill, meta: str = ""
    ) -> int:
        """Store a file atomically; an image's metadata goes beside it, written last."""
        path = next(p for p, m in self._paths(sid, kind, file_id) if m == mime)
        what = what_is(kind)
        size = write_file(path, fill, what)
        if meta:
            try:
                write_file(path.with_suffix(".json"), lambda f: f.write(meta.encode()), what)
            except StorageError:
                path.unlink(missing_ok=True)
                raise
        touch_folder(self.root / sid, time.time())
        return size

    def read(self, sid: str, kind: str, file_id: str) -> tuple[Path | BinaryIO, str] | None:
        """The file's path and type."""
        for path, mime in self._paths(sid, kind, file_id):
            if path.is_file():
                return path, mime
        return None

    def meta(self, sid: str, kind: str, file_id: str) -> str | None:
        """An image's metadata (its ``.json``), or None."""
        if kind != IMAGE:
            found = self.read(sid, kind, file_id)
            return None if found is None else ""
        try:
            return (self.root / sid / f"{file_id}.json").read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def listing(self, sid: str, kind: str) -> list[str]:
        """Ids of one kind, oldest first (by file time)."""
        folder = self.root / sid / {RENDER: "renders", BATCH: "batches"}.get(kind, "")
        pattern = {IMAGE: "*.png", PROXY: "*.proxy.*", RENDER: "*.*", BATCH: "*.zip"}[kind]
        found: list[tuple[float, str]] = []
        for path in folder.glob(pattern) if folder.is_dir() else ():
            name = path.name.split(".")[0]
            if FILE_RE.fullmatch(name):
                try:
                    found.append((path.stat().st_mtime, name))
                except FileNotFoundError:
                    continue
        return [name for _, name in sorted(found)]

    def metas(self, sid: str) -> list[str]:
        """Every image's ``.json``, oldest first."""
        folder = self.root / sid
        found: list[tuple[float, str]] = []
        for path in folder.glob("*.json") if folder.is_dir() else ():
            if not FILE_RE.fullmatch(path.stem):
                continue
            try:
                found.append((path.stat().st_mtime, path.read_text()))
            except (OSError, UnicodeDecodeError):
                continue  # deleted meanwhile
        return [meta for _, meta in sorted(found)]

    def delete(self, sid: str, kind: str, file_ids: list[str]) -> None:
        """Remove files and an image's metadata."""
        for file_id in file_ids:
            for path, _ in self._paths(sid, kind, file_id):
                path.unlink(missing_ok=True)
                if kind == IMAGE:
                    path.with_suffix(".json").unlink(missing_ok=True)

    def used(self, sid: str) -> int:
        """Bytes of the session's images and proxies."""
        folder = self.root / sid
        total = 0
        for path in folder.iterdir() if folder.is_dir() else ():
            if path.suffix in (".png", ".jpg") and FILE_RE.fullmatch(path.name.split(".")[0]):
                try:
                    total += path.stat().st_size
                except FileNotFoundError:
                    continue
        return total

    def touch(self, sid: str, now: float) -> None:
        """The session folder's time is its last use."""
        touch_folder(self.root / sid, now)

    def sweep(self, idle_s: float, now: float) -> int:
        """Delete idle session folders."""
        return sweep_folders(self.root, idle_s, now)


def capped(sink: BinaryIO, cap: int, full: Callable[[], Exception]) -> BinaryIO:
    """``sink``, refusing (with ``full()``) to take more than ``cap`` bytes in all."""
    return cast(BinaryIO, Capped(sink, cap, full))


class Capped(io.RawIOBase):
    """A writable stream that passes bytes on until ``cap`` is reached, then raises ``full``."""

    def __init__(self, sink: BinaryIO, cap: int, full: Callable[[], Exception]) -> None:
        """Write into ``sink`` at most ``cap`` bytes."""
        super().__init__()
        self.sink, self.cap, self.full, self.size = sink, cap, full, 0

    def writable(self) -> bool:
        """A write-only stream."""
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Pass ``data`` on, or raise when it would go over the cap."""
        n = len(data)
        if self.size + n > self.cap:
            raise self.full()
        self.size += n
        self.sink.write(data)
        return n

    def tell(self) -> int:
        """Bytes written so far."""
        return self.size
