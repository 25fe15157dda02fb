"""Database engines: URL normalisation, engine creation, and liveness limits for PostgreSQL."""

from __future__ import annotations

import logging
import math
import select
import sqlite3
import time
from typing import Any, Protocol, cast
from weakref import WeakKeyDictionary

import psycopg2
from psycopg2 import extensions as pg_ext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5
# The client gives up on a statement this long after the server's own time limit should
# have stopped it: a server that says nothing by then is frozen or cut off.
WAIT_MARGIN_S = 5.0
# A pool pre-ping (``SELECT 1``) never waits longer than this.
PING_LIMIT_S = 3.0
# TCP-level liveness: dead peers of idle pooled connections (keepalives) and data the peer
# never acknowledges (a partition). Neither fires for a frozen server (SIGSTOP): its kernel
# still ACKs, which is why every wait also has a client-side deadline (``wait_for_server``).
TCP_LIVENESS = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
_STEADY = frozenset((pg_ext.STATUS_READY, pg_ext.STATUS_BEGIN, pg_ext.STATUS_PREPARED))


class ServerNotAnswering(psycopg2.OperationalError):  # type: ignore[misc]
    """The server sent nothing within the wait limit; psycopg2 then closes the connection."""


class DatabaseUnresponsive(SQLAlchemyError):
    """Refused at once: this database stopped answering moments ago (its circuit is open)."""


class DatabaseBusy(SQLAlchemyError):
    """Refused: every database slot of this process is held by a request waiting on a server."""


def is_unresponsive(exc: BaseException) -> bool:
    """Whether a failure means a server stopped answering (not that it refused or erred)."""
    if isinstance(exc, DatabaseUnresponsive):
        return True
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, ServerNotAnswering):
        return True
    text = str(orig).lower()
    # libpq's own connect_timeout, and TCP keepalive / tcp_user_timeout giving up.
    return isinstance(orig, psycopg2.OperationalError) and (
        "timeout expired" in text or "timed out" in text
    )


class Guard(Protocol):
    """What an engine's pool reports to, and asks, before and after each checkout."""

    def enter(self) -> bool:
        """Take a slot (True: this call is the trial of an open circuit), or raise at once."""

    def leave(self) -> None:
        """Give the slot back."""

    def answered(self) -> None:
        """The server answered a trial (or refused it): close the circuit."""

    def not_answering(self) -> None:
        """A wait on the server ran out: fail fast for a while."""


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
    wait_limit_s: float | None = None,
    deadline_s: float | None = None,
    guard: Guard | None = None,
    **kw: Any,
) -> Engine:
    """Create an engine with pre-ping; optionally read-only and with a statement time limit.

    A read-only engine autocommits: each read is one statement, with no BEGIN and ROLLBACK
    round trips around it (a third of a grid block's time on PostgreSQL). What needs one
    snapshot over several statements opens its own transaction (``grid_service.iter_csv``).

    PostgreSQL only: ``wait_limit_s`` (default: the statement time limit plus
    ``WAIT_MARGIN_S``) bounds each wait for the server, ``deadline_s`` everything a
    connection waits from its opening on (health probes), and ``guard`` is asked before
    each checkout (see ``Guard``).
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if read_only:
        kw.setdefault("isolation_level", "AUTOCOMMIT")
    connect_args: dict[str, Any] = dict(kw.pop("connect_args", {}))
    if backend == "postgresql":
        if wait_limit_s is None and statement_timeout_s:
            wait_limit_s = statement_timeout_s + WAIT_MARGIN_S
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        connect_args.setdefault("application_name", "dashapp")
        for key, value in TCP_LIVENESS.items():
            connect_args.setdefault(key, value)
        connect_args.setdefault(
            "connection_factory",
            limited_connection(float(connect_args["connect_timeout"]), wait_limit_s, deadline_s),
        )
        if wait_limit_s is not None or deadline_s is not None:
            enable_wait_limits()
        options = []
        if statement_timeout_s:
            options.append(f"-c statement_timeout={int(statement_timeout_s * 1000)}")
        if read_only:
            options.append("-c default_transaction_read_only=on")
        if options:
            connect_args.setdefault("options", " ".join(options))
        if guard is not None:
            kw.setdefault("poolclass", GuardedPool)
    elif backend == "sqlite":
        connect_args.setdefault("timeout", 15)
        connect_args.setdefault("check_same_thread", False)
    engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **kw)
    if backend == "postgresql":
        _install_quick_ping(engine, guard)
        _install_liveness_events(engine, guard)
    if backend == "sqlite":
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


# --- liveness: every wait for a PostgreSQL server has an end -------------------------------


def limited_connection(connect_s: float, wait_s: float | None, deadline_s: float | None) -> type:
    """A psycopg2 connection class carrying its engine's limits for ``wait_for_server``."""
    attrs = {"connect_limit_s": connect_s, "wait_limit_s": wait_s, "deadline_s": deadline_s}
    return type("LimitedConnection", (pg_ext.connection,), {**attrs, "pinging": False})


def enable_wait_limits() -> None:
    """Make psycopg2 wait through ``wait_for_server`` in this process (idempotent).

    psycopg2's wait callback is one per process, and with one installed it refuses COPY:
    only engines that ask for limits turn it on (the web app's); the demo loader, which
    uses COPY, runs in a process of its own (``dashapp demo-db``).
    """
    if pg_ext.get_wait_callback() is not wait_for_server:
        pg_ext.set_wait_callback(wait_for_server)


def wait_for_server(conn: Any, cursor: Any = None) -> None:
    """psycopg2's wait callback: wait on the socket as libpq would, but never for ever.

    Connecting may take the connection's ``connect_limit_s`` in all (libpq's own
    connect_timeout does not apply once a callback is installed); after that, each wait
    ends after ``wait_limit_s`` without a byte from the server (a long result that keeps
    arriving is fine), a ping after ``PING_LIMIT_S``, and nothing after ``deadline_s``
    from the opening. Raising ``ServerNotAnswering`` makes psycopg2 close the connection,
    so the pool drops it. Connections of other classes wait without limits.
    """
    now = time.monotonic()
    connecting = conn.status not in _STEADY
    limit: float | None = getattr(conn, "connect_limit_s" if connecting else "wait_limit_s", None)
    if getattr(conn, "pinging", False):
        limit = PING_LIMIT_S if limit is None else min(limit, PING_LIMIT_S)
    hard_end = math.inf
    if getattr(conn, "deadline_s", None) is not None:
        if getattr(conn, "opened_at", None) is None:
            conn.opened_at = now
        hard_end = conn.opened_at + conn.deadline_s
    end = min(hard_end, now + limit if limit is not None else math.inf)
    while True:
        state = conn.poll()
        if state == pg_ext.POLL_OK:
            return
        if state == pg_ext.POLL_READ:
            events = select.POLLIN
        elif state == pg_ext.POLL_WRITE:
            events = select.POLLOUT
        else:
            raise psycopg2.OperationalError(f"unexpected psycopg2 poll state {state!r}")
        waiter = select.poll()
        waiter.register(conn.fileno(), events)
        left = end - time.monotonic()
        ready = waiter.poll(None if math.isinf(left) else max(0, math.ceil(left * 1000)))
        if ready:
            if not connecting and limit is not None:  # progress: the server is alive
                end = min(hard_end, time.monotonic() + limit)
        elif time.monotonic() >= end:
            waited = limit if limit is not None else (conn.deadline_s or 0)
            raise ServerNotAnswering(
                f"the database server sent nothing for {waited:g} s (frozen or cut off); "
                "this connection was given up"
            )


class GuardedPool(QueuePool):
    """A pool that asks its guard before each checkout and tells it how the server did."""

    guard: Guard | None = None

    def connect(self) -> PoolProxiedConnection:
        """Check out a connection unless the guard refuses; report the outcome."""
        guard = self.guard
        if guard is None:
            return super().connect()
        trial = guard.enter()
        try:
            conn = super().connect()
        except BaseException as exc:
            guard.leave()
            if is_unresponsive(exc):
                guard.not_answering()
            elif trial:  # refused or erred quickly: alive enough to hold no thread
                guard.answered()
            raise
        if trial:
            guard.answered()
        return conn

    def recreate(self) -> QueuePool:
        """The same pool afresh (after ``dispose``), keeping the guard."""
        pool = cast(GuardedPool, super().recreate())
        pool.guard = self.guard
        return pool


def _install_liveness_events(engine: Engine, guard: Guard | None) -> None:
    """Drop a connection whose server stopped answering, tell the guard, free its slot."""

    @event.listens_for(engine, "handle_error")
    def _silent_server(ctx: Any) -> None:
        if is_unresponsive(ctx.original_exception):
            ctx.is_disconnect = True  # never hand this connection out again
            if guard is not None:
                guard.not_answering()

    pool = engine.pool
    if guard is None or not isinstance(pool, GuardedPool):
        return
    pool.guard = guard
    held: set[Any] = set()  # connection records checked out through the guard

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        held.add(record)

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_conn: Any, record: Any) -> None:
        if record in held:
            held.discard(record)
            guard.leave()


# A connection handed back to the pool less than this long ago is pinged without a round trip
# (HikariCP's ``aliveBypassWindowMs`` has the same default).
PING_BYPASS_S = 0.5


def _install_quick_ping(engine: Engine, guard: Guard | None = None) -> None:
    """Keep ``pool_pre_ping`` but skip its round trip for a connection used moments ago.

    The pre-ping's ``SELECT 1`` doubles the round trips of every short read (a grid block:
    a third of its server time on loopback, half of its latency against a database across
    a network). A connection back in the pool for under ``PING_BYPASS_S`` whose socket has
    nothing waiting is alive as far as any ping could tell; a server that closed it or said
    anything since (a restart, ``pg_terminate_backend``) leaves the socket readable, and
    then the full ping runs (for at most ``PING_LIMIT_S``) and the pool reconnects as usual.
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
        if recent and socket_is_quiet(dbapi_conn):
            return True
        try:
            dbapi_conn.pinging = True
        except AttributeError:  # not one of ours: no ping limit
            return bool(full_ping(dbapi_conn))
        try:
            return bool(full_ping(dbapi_conn))
        except Exception as exc:
            if guard is not None and is_unresponsive(exc):
                guard.not_answering()
            raise
        finally:
            dbapi_conn.pinging = False

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
