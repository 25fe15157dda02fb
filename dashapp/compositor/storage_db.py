"""The Compositor's files in the app's state database: every node sees every session.

A file is written in one transaction, chunk by chunk as its encoder produces it (never
whole in memory), and read back chunk by chunk through a seekable stream. PostgreSQL is
the shared backend of several nodes; SQLite works too (one node, no gain over folders).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from dashapp.compositor.schema import CHUNK, chunks, files, sessions
from dashapp.compositor.storage import (
    IMAGE,
    OUTPUTS,
    Fill,
    StorageError,
    StorageFull,
    StorageUnavailable,
    what_is,
)

# PostgreSQL's disk_full and read_only_sql_transaction (a standby, a read-only database).
FULL_CODES = ("53100", "25006")
# A session used this recently is not written again on every action.
TOUCH_EVERY_S = 60.0


def _translated(exc: SQLAlchemyError, what: str) -> StorageError:
    """The user's message for a database error: a full or read-only disk, or no answer."""
    orig = getattr(exc, "orig", None)
    text = str(orig).lower()
    if isinstance(exc, DBAPIError) and (
        getattr(orig, "pgcode", None) in FULL_CODES
        or "disk is full" in text
        or "readonly database" in text
    ):
        return StorageFull(what)
    return StorageUnavailable()


@contextlib.contextmanager
def _answers(what: str = "the image") -> Iterator[None]:
    """Turn database errors into StorageError with a message for the user."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise _translated(exc, what) from exc


def _key(sid: str, kind: str, file_id: str) -> Any:
    """The WHERE clause of one file's rows in ``chunks``."""
    return (chunks.c.session == sid) & (chunks.c.kind == kind) & (chunks.c.id == file_id)


class _ChunkSink(io.RawIOBase):
    """A write-only stream that inserts a chunk row each time ``CHUNK`` bytes have come."""

    def __init__(self, conn: Connection, sid: str, kind: str, file_id: str) -> None:
        """Insert into ``conn``'s transaction."""
        super().__init__()
        self.conn, self.row = conn, {"session": sid, "kind": kind, "id": file_id}
        self.buf = bytearray()
        self.seq = self.size = 0

    def writable(self) -> bool:
        """A write-only stream."""
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Buffer ``data``; full chunks go to the database at once."""
        self.buf += data
        self.size += len(data)
        while len(self.buf) >= CHUNK:
            self._insert(bytes(self.buf[:CHUNK]))
            del self.buf[:CHUNK]
        return len(data)

    def tell(self) -> int:
        """Bytes written so far."""
        return self.size

    def finish(self) -> int:
        """Insert the last, shorter chunk; returns the file's size."""
        if self.buf or self.seq == 0:
            self._insert(bytes(self.buf))
            self.buf = bytearray()
        return self.size

    def _insert(self, data: bytes) -> None:
        """One chunk row."""
        self.conn.execute(insert(chunks).values(**self.row, seq=self.seq, data=data))
        self.seq += 1


class ChunkReader(io.RawIOBase):
    """A seekable read-only stream over a stored file, one chunk in memory at a time."""

    def __init__(self, engine: Engine, sid: str, kind: str, file_id: str, size: int) -> None:
        """Read the file ``(sid, kind, file_id)`` of ``size`` bytes."""
        super().__init__()
        self.engine, self.where, self.size = engine, _key(sid, kind, file_id), size
        self.pos = 0
        self.cached: tuple[int, bytes] = (-1, b"")

    def readable(self) -> bool:
        """A read-only stream."""
        return True

    def seekable(self) -> bool:
        """Any position can be read: a chunk is found by its number."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position (no query: the chunk is fetched when read)."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        """The position."""
        return self.pos

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the position (across chunks), or up to the end."""
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self.pos < self.size:
            seq, offset = divmod(self.pos, CHUNK)
            data = self._chunk(seq)
            part = data[offset : offset + len(view) - done]
            if not part:
                raise OSError("a stored file is shorter than its size says (deleted meanwhile?)")
            view[done : done + len(part)] = part
            done += len(part)
            self.pos += len(part)
        return done

    def _chunk(self, seq: int) -> bytes:
        """Chunk ``seq``, from the one kept or from the database."""
        if self.cached[0] != seq:
            with _answers(), self.engine.connect() as conn:
                data = conn.execute(
                    select(chunks.c.data).where(self.where, chunks.c.seq == seq)
                ).scalar()
            self.cached = (seq, b"" if data is None else bytes(data))
        return self.cached[1]


class DatabaseStorage:
    """Files in the ``compositor_*`` tables of the state database (see ``schema``)."""

    def __init__(self, engine: Engine) -> None:
        """Use ``engine`` (the state database's; its schema is migrated at start-up)."""
        self.engine = engine

    def write(
        self, sid: str, kind: str, file_id: str, mime: str, fill: Fill, meta: str = ""
    ) -> int:
        """Store a file in one transaction: all of it, or (on any error) nothing."""
        now = time.time()
        what = what_is(kind)
        with _answers(what):
            self._upsert_session(sid, now)
            with self.engine.begin() as conn:
                row = {"session": sid, "kind": kind, "id": file_id}
                conn.execute(
                    insert(files).values(**row, mime=mime, size=0, meta=meta, created_at=now)
                )
                sink = _ChunkSink(conn, sid, kind, file_id)
                fill(sink)  # type: ignore[arg-type]  # a binary stream, as Pillow needs
                size = sink.finish()
                conn.execute(update(files).where(*self._file(sid, kind, file_id)).values(size=size))
        return size

    def _upsert_session(self, sid: str, now: float) -> None:
        """Create the session's row, or mark it used (in a transaction of its own)."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(sessions).values(id=sid, touched_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={"touched_at": now})
        with self.engine.begin() as conn:
            conn.execute(stmt)

    @staticmethod
    def _file(sid: str, kind: str, file_id: str) -> tuple[Any, ...]:
        """The WHERE clause of one row of ``files``."""
        return files.c.session == sid, files.c.kind == kind, files.c.id == file_id

    def read(self, sid: str, kind: str, file_id: str) -> tuple[Path | BinaryIO, str] | None:
        """A stream over the file and its type, or None."""
        with _answers(), self.engine.connect() as conn:
            row = conn.execute(
                select(files.c.mime, files.c.size).where(*self._file(sid, kind, file_id))
            ).first()
        if row is None:
            return None
        reader = ChunkReader(self.engine, sid, kind, file_id, row.size)
        return reader, row.mime  # type: ignore[return-value]  # a binary stream

    def meta(self, sid: str, kind: str, file_id: str) -> str | None:
        """The file's metadata, or None."""
        with _answers(), self.engine.connect() as conn:
            found = conn.execute(
                select(files.c.meta).where(*self._file(sid, kind, file_id))
            ).scalar()
        return None if found is None else str(found)

    def listing(self, sid: str, kind: str) -> list[str]:
        """Ids of one kind, oldest first."""
        with _answers(), self.engine.connect() as conn:
            rows = conn.execute(
                select(files.c.id)
                .where(files.c.session == sid, files.c.kind == kind)
                .order_by(files.c.created_at, files.c.id)
            )
            return [str(r) for r in rows.scalars()]

    def metas(self, sid: str) -> list[str]:
        """Every image's metadata, oldest first, in one query."""
        with _answers(), self.engine.connect() as conn:
            rows = conn.execute(
                select(files.c.meta)
                .where(files.c.session == sid, files.c.kind == IMAGE)
                .order_by(files.c.created_at, files.c.id)
            )
            return [str(r) for r in rows.scalars()]

    def delete(self, sid: str, kind: str, file_ids: list[str]) -> None:
        """Remove files and their chunks."""
        if not file_ids:
            return
        with _answers(), self.engine.begin() as conn:
            conn.execute(
                delete(chunks).where(
                    chunks.c.session == sid, chunks.c.kind == kind, chunks.c.id.in_(file_ids)
                )
            )
            conn.execute(
                delete(files).where(
                    files.c.session == sid, files.c.kind == kind, files.c.id.in_(file_ids)
                )
            )

    def used(self, sid: str) -> int:
        """Bytes of the session's images and proxies."""
        with _answers(), self.engine.connect() as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(files.c.size), 0)).where(
                    files.c.session == sid, files.c.kind.notin_(OUTPUTS)
                )
            ).scalar()
        return int(total or 0)

    def touch(self, sid: str, now: float) -> None:
        """Mark the session used (no write when it was marked within a minute)."""
        with _answers(), self.engine.begin() as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.id == sid, sessions.c.touched_at < now - TOUCH_EVERY_S)
                .values(touched_at=now)
            )

    def sweep(self, idle_s: float, now: float) -> int:
        """Delete idle sessions with all their files (one transaction)."""
        with _answers(), self.engine.begin() as conn:
            gone = list(
                conn.execute(
                    delete(sessions)
                    .where(sessions.c.touched_at < now - idle_s)
                    .returning(sessions.c.id)
                ).scalars()
            )
            # PostgreSQL cascades; SQLite enforces foreign keys only when asked to.
            for start in range(0, len(gone), 500):
                part = gone[start : start + 500]
                conn.execute(delete(chunks).where(chunks.c.session.in_(part)))
                conn.execute(delete(files).where(files.c.session.in_(part)))
        return len(gone)
