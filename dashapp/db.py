"""Database engines: URL normalisation and engine creation for SQLite and PostgreSQL."""

from __future__ import annotations

import select
import sqlite3
import time
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url


def normalize_url(url: str | URL) -> URL:
    """Map plain ``postgresql://`` (and ``postgres://``) to the psycopg2 driver we ship."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def make_engine(
    url: str | URL,
    *,
    statement_timeout_s: float | None = None,
    read_only: bool = False,
    **kw: Any,
) -> Engine:
    """Create an engine with pre-ping; optionally read-only and with a statement time limit.

    A read-only engine autocommits: each read is one statement, with no BEGIN and ROLLBACK
    round trips around it (a third of a grid block's time on PostgreSQL). What needs one
    snapshot over several statements opens its own transaction (``grid_service.iter_csv``).
    """
    parsed = normalize_url(url)
    if read_only:
        kw.setdefault("isolation_level", "AUTOCOMMIT")
    connect_args: dict[str, Any] = dict(kw.pop("connect_args", {}))
    if parsed.get_backend_name() == "postgresql":
        connect_args.setdefault("connect_timeout", 5)
        connect_args.setdefault("application_name", "dashapp")
        options = []
        if statement_timeout_s:
            options.append(f"-c statement_timeout={int(statement_timeout_s * 1000)}")
        if read_only:
            options.append("-c default_transaction_read_only=on")
        if options:
            connect_args.setdefault("options", " ".join(options))
    elif parsed.get_backend_name() == "sqlite":
        connect_args.setdefault("timeout", 15)
        connect_args.setdefault("check_same_thread", False)
    engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **kw)
    if parsed.get_backend_name() == "postgresql":
        _install_quick_ping(engine)
    if parsed.get_backend_name() == "sqlite":
        if statement_timeout_s:
            _install_sqlite_timeout(engine, statement_timeout_s)
        if read_only:

            @event.listens_for(engine, "connect")
            def _query_only(dbapi_conn: Any, record: Any) -> None:
                dbapi_conn.execute("PRAGMA query_only = ON")

        else:

            @event.listens_for(engine, "connect")
            def _wal(dbapi_conn: Any, record: Any) -> None:
                # Readers never block the writer (a job reporting while pages poll).
                dbapi_conn.execute("PRAGMA journal_mode=WAL")
                dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    return engine


def _install_sqlite_timeout(engine: Engine, seconds: float) -> None:
    """Abort SQLite statements that run longer than ``seconds`` (SQLite has no server timeout)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any) -> None:
        deadline = time.monotonic() + seconds
        raw = conn.connection.dbapi_connection
        if isinstance(raw, sqlite3.Connection):
            raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(
        conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any
    ) -> None:
        raw = conn.connection.dbapi_connection
        if isinstance(raw, sqlite3.Connection):
            raw.set_progress_handler(None, 0)


# A connection handed back to the pool less than this long ago is pinged without a round trip
# (HikariCP's ``aliveBypassWindowMs`` has the same default).
PING_BYPASS_S = 0.5


def _install_quick_ping(engine: Engine) -> None:
    """Keep ``pool_pre_ping`` but skip its round trip for a connection used moments ago.

    The pre-ping's ``SELECT 1`` doubles the round trips of every short read (a grid block:
    a third of its server time on loopback, half of its latency against a database across
    a network). A connection back in the pool for under ``PING_BYPASS_S`` whose socket has
    nothing waiting is alive as far as any ping could tell; a server that closed it or said
    anything since (a restart, ``pg_terminate_backend``) leaves the socket readable, and
    then the full ping runs and the pool reconnects as usual.
    """
    returned: WeakKeyDictionary[Any, float] = WeakKeyDictionary()
    full_ping = engine.dialect.do_ping

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is not None:
            returned[dbapi_conn] = time.monotonic()

    def do_ping(dbapi_conn: Any) -> bool:
        since = returned.get(dbapi_conn)
        recent = since is not None and time.monotonic() - since < PING_BYPASS_S
        return (recent and socket_is_quiet(dbapi_conn)) or bool(full_ping(dbapi_conn))

    engine.dialect.do_ping = do_ping  # type: ignore[method-assign,assignment]


def socket_is_quiet(dbapi_conn: Any) -> bool:
    """True when the server has sent nothing on this connection since its last answer."""
    try:
        if getattr(dbapi_conn, "closed", 0):
            return False
        poller = select.poll()
        poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)  # POLLHUP and POLLERR are reported even unasked
    except (OSError, ValueError, AttributeError):
        return False
