"""The grid against real PostgreSQL: timeouts, an outage and recovery, read-only, export."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from dashapp.data.catalog import Catalog, DataUnavailable
from dashapp.data.grid_service import fetch_block, iter_csv
from dashapp.db import make_engine
from tests.grid_fixtures import TABLE, build_mixed

REQ = {"startRow": 0, "endRow": 50}


class TcpProxy:
    """A loopback TCP proxy that can be cut and restored, standing in for a database outage."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                client, _ = sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        if self._listener:
            # shutdown() wakes the thread blocked in accept(); close() alone may not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self._conns.clear()


@pytest.fixture
def pg_table(pg_url: str) -> str:
    build_mixed(pg_url)
    return pg_url


def test_dp001_outage_gives_a_clear_error_then_recovers(pg_table: str) -> None:
    url = make_url(pg_table)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    engine = make_engine(url.set(port=proxy.port), read_only=True, statement_timeout_s=5)
    catalog = Catalog(engine)
    key = f"public.{TABLE}"
    assert len(fetch_block(catalog, key, REQ)[0].rows) == 50
    proxy.stop()
    with pytest.raises(DataUnavailable, match="not reachable"):
        fetch_block(catalog, key, {**REQ, "startRow": 1, "endRow": 3})
    proxy.start()  # same port: the database is back
    assert len(fetch_block(catalog, key, {**REQ, "startRow": 2, "endRow": 4})[0].rows) == 2
    proxy.stop()
    engine.dispose()


def test_dp002_statement_timeout_stops_a_slow_query(pg_url: str) -> None:
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(
            text(
                "CREATE VIEW slow AS SELECT x, pg_sleep(0.05) IS NULL AS s FROM generate_series(1, 100) x"
            )
        )
    admin.dispose()
    engine = make_engine(pg_url, read_only=True, statement_timeout_s=0.3)
    with pytest.raises(DataUnavailable, match="took too long"):
        fetch_block(Catalog(engine), "public.slow", REQ)
    engine.dispose()


def test_dp003_browsing_connection_cannot_write(pg_table: str) -> None:
    engine = make_engine(pg_table, read_only=True)
    with pytest.raises(Exception, match="read-only transaction"), engine.begin() as conn:
        conn.execute(text('DELETE FROM "pairs"'))
    engine.dispose()


def test_dp004_export_streams_the_filtered_sorted_view(pg_table: str) -> None:
    engine = make_engine(pg_table, read_only=True)
    request = {
        "filterModel": {"a": {"filterType": "text", "type": "equals", "filter": "k3"}},
        "sortModel": [{"colId": "b", "sort": "desc"}],
    }
    chunks = list(iter_csv(Catalog(engine), "public.pairs", request))
    lines = "".join(chunks).splitlines()
    assert lines[0] == "a,b,note"
    bs = [int(line.split(",")[1]) for line in lines[1:]]
    assert bs == sorted((b for b in range(300) if b % 7 == 3), reverse=True)
    engine.dispose()


def test_dp009_healthz_under_gunicorn_says_503_while_the_database_is_down(
    pg_table: str, start_server
) -> None:
    import json
    import urllib.error
    import urllib.request

    url = make_url(pg_table)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    server = start_server(
        DASHAPP_DATABASE_URL=url.set(port=proxy.port).render_as_string(hide_password=False),
        DASHAPP_STATEMENT_TIMEOUT_S="3",
    )

    def health() -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(server.url("healthz"), timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    assert health()[0] == 200
    proxy.stop()
    try:
        for _ in range(4):  # whichever of the 2 workers answers
            status, body = health()
            assert status == 503
            assert body["checks"]["database"].startswith("unreachable")
            assert body["checks"]["data_dir"] == "ok"
        with urllib.request.urlopen(server.url("compositor"), timeout=30) as resp:
            assert resp.status == 200  # the other pages keep serving
    finally:
        proxy.start()
    assert all(health()[0] == 200 for _ in range(4))  # and it recovers by itself
    proxy.stop()


def _last_query(admin, pid: int) -> str:
    """What the backend ``pid`` ran last, as PostgreSQL itself reports it."""
    with admin.connect() as conn:
        return str(
            conn.execute(
                text("SELECT query FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            ).scalar_one()
        )


def test_dp010_pre_ping_round_trip_only_for_a_connection_idle_a_while(pg_url: str) -> None:
    from dashapp.db import PING_BYPASS_S

    engine = make_engine(pg_url, read_only=True, pool_size=1)
    admin = make_engine(pg_url)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid() AS marker")).scalar_one()
    with engine.connect() as conn:  # back a moment ago: checked out with no SELECT 1
        assert "marker" in _last_query(admin, pid)
    time.sleep(PING_BYPASS_S + 0.2)
    with engine.connect() as conn:  # idle for a while: the pool pings the server first
        assert _last_query(admin, pid).strip().upper() == "SELECT 1"
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid
    engine.dispose()
    admin.dispose()


def test_dp011_a_connection_the_server_closed_a_moment_ago_is_replaced(pg_url: str) -> None:
    engine = make_engine(pg_url, read_only=True, pool_size=1)
    admin = make_engine(pg_url)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    time.sleep(0.05)  # the server's goodbye reaches our socket
    with engine.connect() as conn:  # within the bypass window, yet no error: it reconnected
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    engine.dispose()
    admin.dispose()


def test_dp012_export_while_the_database_is_down_is_a_503_not_a_file(
    pg_table: str, start_server
) -> None:
    import urllib.error
    import urllib.request

    url = make_url(pg_table)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    server = start_server(
        DASHAPP_DATABASE_URL=url.set(port=proxy.port).render_as_string(hide_password=False),
        DASHAPP_STATEMENT_TIMEOUT_S="3",
        DASHAPP_WORKERS="1",  # the worker that exports has the table's columns cached
    )
    export = server.url("export.csv?table=public.pairs")

    def rows() -> int:
        with urllib.request.urlopen(export, timeout=30) as resp:
            assert resp.status == 200
            return len(resp.read().decode().splitlines()) - 1

    assert rows() == 300
    proxy.stop()
    try:
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(export, timeout=30)
        assert err.value.code == 503
        assert "Export failed: The database is not reachable" in err.value.read().decode()
    finally:
        proxy.start()
    assert rows() == 300  # and it recovers by itself
    proxy.stop()


def test_dp013_a_database_failure_mid_export_breaks_the_download_off(
    pg_url: str, start_server
) -> None:
    """A file cut short must not end like a whole one: the browser would call it done."""
    import http.client
    import urllib.request

    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE wide AS SELECT g AS id, repeat('x', 200) AS pad"
                " FROM generate_series(1, 200000) g; ALTER TABLE wide ADD PRIMARY KEY (id)"
            )
        )
    server = start_server(DASHAPP_DATABASE_URL=pg_url)
    resp = urllib.request.urlopen(server.url("export.csv?table=public.wide"), timeout=30)
    assert resp.status == 200
    start = resp.read(1000)  # 40 MB follow: the server waits on us, mid-stream
    with admin.connect() as conn:  # the export's database session ends (a failover, a kill)
        ended = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    assert ended
    with pytest.raises(http.client.IncompleteRead) as err:
        resp.read()
    got = (start + err.value.partial).decode()
    assert got.startswith("id,pad\r\n1,")
    assert got.rstrip().endswith(
        "# export stopped: The database is not reachable right now; retrying on the next request."
    )
    assert len(got.splitlines()) < 200_000
    admin.dispose()
    assert "CSV export of public.wide stopped" in server.log.read_text()
