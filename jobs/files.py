"""A job's files on the server's disk: written whole or not at all, and disk faults told plainly."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

# A disk that is full, over its quota, or mounted read-only: no retry helps, the operator must.
DISK_FULL_OR_READ_ONLY = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
NO_PERMISSION = (errno.EACCES, errno.EPERM)
# Kept free on the job's disk while it runs, given back for its last writes (its end).
RESERVE_BYTES = 256 * 1024
# SQLite says so in words (its own errors carry no errno).
SQLITE_DISK_WORDS = ("database or disk is full", "readonly database", "disk i/o error")


def artifacts_root(data_dir: Path) -> Path:
    """The folder every job's files go under."""
    return data_dir / "artifacts"


def artifact_dir(data_dir: Path, job_id: str) -> Path:
    """Where a job's files live."""
    return artifacts_root(data_dir) / job_id


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it was raised from or during (a wrapper often hides the OSError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def disk_problem(exc: BaseException) -> str | None:
    """What to tell people when ``exc`` comes from a disk that cannot be written; else None."""
    for err in _causes(exc):
        if isinstance(err, OSError) and err.errno in DISK_FULL_OR_READ_ONLY:
            return f"the server's disk is full or read-only: {err}"
        if isinstance(err, OSError) and err.errno in NO_PERMISSION:
            return f"the server may not write the job's files: {err}"
        if isinstance(err, sqlite3.Error) and any(w in str(err).lower() for w in SQLITE_DISK_WORDS):
            return f"the server's disk is full or read-only: {err}"
    return None


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, renamed into place.

    A failure (a full disk) removes the temporary file, so no truncated file is left,
    neither under the final name nor as a ``.tmp``.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # the bytes are on disk before the name says they are
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_writable(folder: Path) -> str | None:
    """None if files can be written in ``folder`` (created if missing), else why not.

    A real write, not a permission check: a full or read-only disk passes every ``access``.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / ".write-check", b"ok")
        (folder / ".write-check").unlink()
    except OSError as exc:
        return disk_problem(exc) or f"the server cannot write the job's files: {exc}"
    return None


def hold_reserve(folder: Path) -> Path | None:
    """Take ``RESERVE_BYTES`` of real disk space in ``folder`` (None if the disk has none).

    Released before a job records its end, so that a disk the job filled still has room
    for that (a SQLite state database beside the artifacts needs some for its journal).
    """
    path = folder / ".reserve"
    try:
        write_atomic(path, bytes(RESERVE_BYTES))  # zeros written, not a sparse hole
    except OSError:
        return None
    return path


def release_reserve(path: Path | None) -> None:
    """Give the reserved space back."""
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()
