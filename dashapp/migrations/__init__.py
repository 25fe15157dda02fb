"""Versioned migrations of the app's state database (Alembic), one migrator at a time.

``upgrade(engine)`` brings the schema to this code's head under a database lock (a
PostgreSQL advisory lock, a file lock beside a SQLite file), so any number of nodes and
workers starting together end with one upgrade. A database created before migrations
existed is adopted by the first revision (its tables kept, missing ones added). A database
at a revision this code does not know was upgraded by newer code: ``SchemaError``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

HERE = Path(__file__).resolve().parent
LOG = logging.getLogger("dashapp.migrations")
# pg_advisory_xact_lock key: any constant our other locks never use ("dashapp" in ASCII).
LOCK_KEY = 0x64617368617070


class SchemaError(RuntimeError):
    """The state database's schema does not fit this code; the message says what to do."""


def config() -> Config:
    """Alembic's configuration for our migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def head() -> str:
    """The newest revision this code knows."""
    rev = ScriptDirectory.from_config(config()).get_current_head()
    assert rev is not None
    return rev


def known(revision: str) -> bool:
    """Whether this code's migrations contain ``revision``."""
    return any(
        s.revision == revision for s in ScriptDirectory.from_config(config()).walk_revisions()
    )


def current(engine: Engine) -> str | None:
    """The database's revision (None: never migrated, or empty)."""
    with engine.connect() as conn:
        return _current(conn)


def _current(conn: Connection) -> str | None:
    """The revision read on ``conn`` (no alembic_version table: None)."""
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError:
        return None


def check(rev: str | None) -> None:
    """Refuse a database that newer code has upgraded (this code would fail on it later)."""
    if rev is not None and not known(rev):
        raise SchemaError(
            f"the state database is at revision {rev}, newer than this code's {head()}: "
            "it was upgraded by a newer dashapp; run that release (or newer) on this node"
        )


def upgrade(engine: Engine) -> str:
    """Bring the schema to head, one process at a time; returns the revision reached."""
    target = head()
    rev = current(engine)
    check(rev)
    if rev == target:
        return target  # the common start-up: nothing to do, no lock taken
    with _exclusive(engine) as conn:
        rev = _current(conn)  # another process may have upgraded while we waited
        check(rev)
        if rev != target:
            cfg = config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            LOG.info("state database upgraded from %s to %s", rev or "(none)", target)
    return target


def require_head(engine: Engine) -> str:
    """With automatic upgrades off: refuse to start unless the schema is at head."""
    rev = current(engine)
    check(rev)
    if rev != head():
        raise SchemaError(
            f"the state database is at revision {rev or '(none)'}, this code needs {head()}: "
            "run `dashapp db upgrade` (automatic upgrades are off: DASHAPP_AUTO_MIGRATE)"
        )
    return rev


@contextlib.contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other migrator holds at the same time."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            # Released at commit; DDL is transactional, so waiters see the finished schema.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            yield conn
        return
    database = engine.url.database
    lock: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        lock = _file_lock(Path(database).with_name(f".{Path(database).name}.migrate-lock"))
    with lock, engine.begin() as conn:
        yield conn


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[object]:
    """An exclusive lock on ``path`` (created if needed) for the block's duration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
