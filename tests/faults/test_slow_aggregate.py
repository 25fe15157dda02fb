"""A grouping slower than the statement time limit, for real, under gunicorn.

The browsed database holds a view that takes seconds per thousand rows (``pg_sleep`` per
row in PostgreSQL, a recursive count in SQLite). Grouping it must show progress, must not
hold up the block requests of others (same worker process, other threads), and must end
at the statement time limit with a message saying what to do.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import text as sql

from components.ids import Data
from dashapp.data.grouping import TIMED_OUT
from dashapp.db import make_engine
from tests.callbacks.helpers import build_payload
from tests.conftest import LiveServer, fresh_pg_database

SLOW_PG = (
    "CREATE FUNCTION slow_k(g integer) RETURNS integer LANGUAGE plpgsql VOLATILE"
    " AS $$ BEGIN PERFORM pg_sleep(0.01); RETURN g % 3; END $$;"
    " CREATE VIEW slow AS SELECT g AS id, slow_k(g) AS k FROM generate_series(1, 100000) g"
)
SLOW_SQLITE = (
    "CREATE VIEW slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
    " WHERE x < 2000000000) SELECT x AS id, x % 3 AS k FROM c"
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def slow_server(request, start_server, tmp_path_factory) -> Iterator[tuple[LiveServer, str]]:
    """One gunicorn worker browsing a ``fast`` table and a ``slow`` view; a 2 s time limit."""
    stack = contextlib.ExitStack()
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("slow") / "slow.sqlite"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE fast (id INTEGER PRIMARY KEY, v TEXT)")
        db.executemany("INSERT INTO fast VALUES (?, ?)", [(i, f"v{i % 5}") for i in range(500)])
        db.execute(SLOW_SQLITE)
        db.commit()
        db.close()
        url, schema = f"sqlite:///{path}", "main"
    else:
        server_url = request.getfixturevalue("pg_server_url")
        url = stack.enter_context(fresh_pg_database(server_url))
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(sql("CREATE TABLE fast (id integer primary key, v text)"))
            conn.execute(
                sql("INSERT INTO fast SELECT g, 'v' || g % 5 FROM generate_series(0, 499) g")
            )
            conn.execute(sql(SLOW_PG))
        engine.dispose()
        schema = "public"
    server = start_server(
        DASHAPP_DATABASE_URL=url, DASHAPP_STATEMENT_TIMEOUT_S="2", DASHAPP_WORKERS="1"
    )
    with stack:
        yield server, schema
        server.proc.terminate()  # before its database is dropped
        server.proc.wait(35)


def post(server: LiveServer, body: dict[str, Any]) -> dict[str, Any]:
    """POST a callback request to the live app; its JSON answer."""
    req = urllib.request.Request(
        server.url("/_dash-update-component"),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.status == 200
        return json.loads(resp.read())["response"]


def rows_body(deps: list[dict[str, Any]], table: str, explore: Any) -> dict[str, Any]:
    """A block request of ``table`` as the page sends it (the grid's context names both)."""
    context = {"table": table, "explore": explore}
    request = {"startRow": 0, "endRow": 100, "sortModel": [], "context": context}
    return build_payload(
        deps,
        f"{Data.GRID}.getRowsResponse",
        {f"{Data.GRID}.getRowsRequest": request, f"{Data.QUICK}.value": ""},
    )


def test_sa001_a_slow_grouping_never_holds_up_blocks_and_ends_with_a_message(slow_server):
    server, schema = slow_server
    with urllib.request.urlopen(server.url("/_dash-dependencies"), timeout=30) as resp:
        deps = json.loads(resp.read())
    grouped = rows_body(deps, f"{schema}.slow", {"group": {"by": ["k"]}})
    plain = rows_body(deps, f"{schema}.fast", {})
    post(server, plain)  # the fast table is reflected and counted once beforehand
    answer: dict[str, Any] = {}
    slow = threading.Thread(target=lambda: answer.update(post(server, grouped)))
    slow.start()
    try:
        served = 0
        while slow.is_alive() and served < 5:
            got = post(server, plain)
            assert got[Data.GRID]["getRowsResponse"]["rowCount"] == 500
            served += 1
        # Blocks were answered while the grouping was still running (same worker process).
        assert served >= 1
    finally:
        slow.join(60)
    assert answer[Data.GRID]["getRowsResponse"] == {"rowData": [], "rowCount": 0}
    assert answer[Data.GRID_ERROR]["children"] == TIMED_OUT
    assert answer[Data.GRID_ERROR]["is_open"] is True


def test_sa002_the_page_shows_progress_then_the_time_limits_message(page, slow_server):
    server, schema = slow_server
    group = json.dumps({"by": ["k"]})
    page.goto(server.url(f"/data?table={schema}.slow&group={group}"))
    expect(page.locator(f"#{Data.STATUS}")).to_contain_text("Computing groups by k")
    expect(page.locator(f"#{Data.GRID_ERROR}")).to_contain_text(
        "Grouping took longer than the statement time limit", timeout=30_000
    )
    assert page.watch.problems() == []
