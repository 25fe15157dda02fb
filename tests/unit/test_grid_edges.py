"""Edge values in filters and in the data: the last day, 64-bit limits, NUL, odd dates, text.

Each either gives the right rows (checked against the same filter in Python) or a message
before any SQL runs; never an exception the page would show as a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, MetaData, Table, Text, event
from sqlalchemy import text as sql

from dashapp.data.catalog import Catalog
from dashapp.data.filters import GridRequestError
from dashapp.data.grid_service import aggregate, fetch_block, iter_csv
from dashapp.db import make_engine

BIG = 2**63
EDGE_ROWS: list[dict[str, Any]] = [
    {"id": 1, "day": date(9999, 12, 31), "at": datetime(9999, 12, 31, 23, 59, 59), "n": BIG - 1},
    {"id": 2, "day": date(9999, 12, 30), "at": datetime(9999, 12, 31), "n": -BIG},
    {"id": 3, "day": date(1, 1, 1), "at": datetime(1, 1, 1), "n": 0},
    {"id": 4, "day": date(2024, 5, 5), "at": datetime(9999, 12, 30, 23, 59, 59), "n": 5},
    {"id": 5, "day": None, "at": None, "n": None},
]


def build_edges(url: str) -> None:
    """The ``edges`` table: values at the ends of the date and 64-bit integer ranges."""
    meta = MetaData()
    table = Table(
        "edges",
        meta,
        Column("id", Integer, primary_key=True),
        Column("day", Date),
        Column("at", DateTime),
        Column("n", BigInteger),
        Column("note", Text),
    )
    engine = make_engine(url)
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(table.insert(), [{**r, "note": f"row {r['id']}"} for r in EDGE_ROWS])
    engine.dispose()


@pytest.fixture(scope="module")
def pg_module_url(pg_server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database shared by this module's tests."""
    from tests.conftest import fresh_pg_database

    with fresh_pg_database(pg_server_url) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def edges(request, tmp_path_factory) -> Iterator[tuple[Catalog, str]]:
    """The edges table in a fresh SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('edges') / 'e.sqlite'}"
        key = "main.edges"
    else:
        url = request.getfixturevalue("pg_module_url")
        key = "public.edges"
    build_edges(url)
    engine = make_engine(url, read_only=True)
    yield Catalog(engine), key
    engine.dispose()


def ids_for(edges: tuple[Catalog, str], filter_model: dict[str, Any]) -> list[int]:
    cat, key = edges
    block, _ = fetch_block(cat, key, {"startRow": 0, "endRow": 100, "filterModel": filter_model})
    return [r["id"] for r in block.rows]


def expect(pred: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [r["id"] for r in EDGE_ROWS if pred(r)]


def _day(v: date | datetime) -> date:
    return v.date() if isinstance(v, datetime) else v


LAST = date(9999, 12, 31)
LAST_DAY_CASES: list[tuple[str, Callable[[date], bool]]] = [
    ("equals", lambda d: d == LAST),
    ("notEqual", lambda d: d != LAST),
    ("lessThan", lambda d: d < LAST),
    ("greaterThan", lambda d: d > LAST),
    ("inRange", lambda d: date(9999, 12, 30) <= d <= LAST),
]


@pytest.mark.parametrize("column", ["day", "at"])
@pytest.mark.parametrize(("op", "pred"), LAST_DAY_CASES)
def test_ge001_the_last_day_python_knows_filters_exactly(edges, column, op, pred) -> None:
    start = "9999-12-30 00:00:00" if op == "inRange" else "9999-12-31 00:00:00"
    model = {
        column: {"filterType": "date", "type": op, "dateFrom": start, "dateTo": LAST.isoformat()}
    }
    assert ids_for(edges, model) == expect(
        lambda r: r[column] is not None and pred(_day(r[column]))
    )


def _no_sql_runs(cat: Catalog, key: str, request: dict[str, Any]) -> str:
    """The message a refused request gets; fails if any SQL ran for it."""
    cat.table(key)
    seen: list[str] = []
    listener = lambda *a: seen.append(a[2])  # noqa: E731
    event.listen(cat.engine, "before_cursor_execute", listener)
    try:
        with pytest.raises(GridRequestError) as err:
            fetch_block(cat, key, {"startRow": 0, "endRow": 10, **request})
    finally:
        event.remove(cat.engine, "before_cursor_execute", listener)
    assert seen == []
    return str(err.value)


@pytest.mark.parametrize("value", ["0000-01-01", "10000-01-01 00:00:00", "99999-12-31"])
def test_ge002_dates_outside_the_calendar_get_a_message(edges, value) -> None:
    cat, key = edges
    model = {"day": {"filterType": "date", "type": "equals", "dateFrom": value}}
    assert "outside the dates a filter can take" in _no_sql_runs(cat, key, {"filterModel": model})


# Integers past 64 bits as a browser sends them (JSON of a JavaScript number: exact
# doubles; from 1e21 on it writes an exponent, which arrives as a float).
NUMBER_CASES: list[tuple[str, int | float, Callable[[int], bool]]] = [
    ("lessThan", BIG, lambda v: v < BIG),
    ("greaterThanOrEqual", BIG, lambda v: v >= BIG),
    ("equals", BIG, lambda v: v == BIG),
    ("notEqual", BIG, lambda v: v != BIG),
    ("greaterThan", -BIG - 2048, lambda v: v > -BIG - 2048),
    ("lessThanOrEqual", -BIG - 2048, lambda v: v <= -BIG - 2048),
    ("equals", -BIG, lambda v: v == -BIG),
    ("greaterThan", 2**70, lambda v: v > 2**70),
    ("lessThan", 1e30, lambda v: v < 1e30),
]


@pytest.mark.parametrize(("op", "value", "pred"), NUMBER_CASES)
def test_ge003_integers_beyond_64_bits_compare_exactly(edges, op, value, pred) -> None:
    model = {"n": {"filterType": "number", "type": op, "filter": value}}
    assert ids_for(edges, model) == expect(lambda r: r["n"] is not None and pred(r["n"]))


def test_ge004_integers_beyond_64_bits_in_a_range(edges) -> None:
    model = {
        "n": {"filterType": "number", "type": "inRange", "filter": -(2**64), "filterTo": 2**64}
    }
    assert ids_for(edges, model) == expect(lambda r: r["n"] is not None)


@pytest.mark.parametrize("value", [BIG + 1, -BIG - 1])
def test_ge008_an_integer_no_double_holds(edges, value: int) -> None:
    """Only a hand-made request sends one: PostgreSQL compares it, SQLite says it cannot."""
    cat, key = edges
    model = {"n": {"filterType": "number", "type": "greaterThan", "filter": value}}
    if cat.dialect == "postgresql":
        assert ids_for(edges, model) == expect(lambda r: r["n"] is not None and r["n"] > value)
    else:
        message = _no_sql_runs(cat, key, {"filterModel": model})
        assert "beyond the numbers this database compares exactly" in message


@pytest.mark.parametrize(
    ("request_patch", "message"),
    [
        (
            {"filterModel": {"note": {"filterType": "text", "type": "contains", "filter": "a\0"}}},
            "cannot contain the NUL character",
        ),
        (
            {"filterModel": {"note": {"filterType": "text", "type": "equals", "filter": "\0"}}},
            "cannot contain the NUL character",
        ),
        ({"quick": "row\x001"}, "quick search cannot contain the NUL character"),
    ],
)
def test_ge005_nul_in_a_text_filter_or_the_search_gets_a_message(
    edges, request_patch, message
) -> None:
    cat, key = edges
    assert message in _no_sql_runs(cat, key, request_patch)


def _read_everything(cat: Catalog, key: str) -> tuple[list[dict[str, Any]], str]:
    """A block of every row, and the whole CSV export."""
    block, _ = fetch_block(cat, key, {"startRow": 0, "endRow": 100, "sortModel": []})
    return block.rows, "".join(iter_csv(cat, key, {}))


def test_ge006_postgresql_dates_python_cannot_hold_show_as_stored(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(
            sql(
                "CREATE TABLE odd (id int PRIMARY KEY, d date, t timestamp, tz timestamptz,"
                " ds date[]);"
                "INSERT INTO odd VALUES"
                " (1, 'infinity', '-infinity', 'infinity', ARRAY['10000-01-01'::date]),"
                " (2, '10000-01-01', '12000-05-05 10:00', '2024-01-01 00:00+00', NULL),"
                " (3, '0044-03-15 BC', '2024-01-02 03:04:05', '-infinity', NULL),"
                " (4, '2024-01-01', NULL, NULL, ARRAY['2024-01-01'::date])"
            )
        )
    engine.dispose()
    cat = Catalog(make_engine(pg_url, read_only=True))
    rows, csv_text = _read_everything(cat, "public.odd")
    assert [r["d"] for r in rows] == ["infinity", "10000-01-01", "0044-03-15 BC", "2024-01-01"]
    assert [r["t"] for r in rows] == [
        "-infinity",
        "12000-05-05 10:00:00",
        "2024-01-02 03:04:05",
        None,
    ]
    assert rows[0]["tz"] == "infinity"
    assert rows[0]["ds"] == '["10000-01-01"]'
    assert rows[3]["ds"] == '["2024-01-01"]'
    assert len(csv_text.splitlines()) == 5
    assert "12000-05-05 10:00:00" in csv_text
    # Filters and the seek between blocks still work around such values.
    after = {"d": {"filterType": "date", "type": "greaterThan", "dateFrom": "9999-12-31"}}
    block, _ = fetch_block(cat, "public.odd", {"startRow": 0, "endRow": 10, "filterModel": after})
    assert [r["id"] for r in block.rows] == [1, 2]
    by_day = [{"colId": "d", "sort": "asc"}]
    pages = [
        fetch_block(cat, "public.odd", {"startRow": i, "endRow": i + 1, "sortModel": by_day})[0]
        for i in range(4)
    ]
    assert [p.rows[0]["id"] for p in pages] == [3, 4, 2, 1]
    timeline = aggregate(cat, "public.odd", "d", {})
    assert sum(timeline.counts) >= 1
    cat.engine.dispose()


def test_ge007_sqlite_values_its_column_type_cannot_parse_show_as_stored(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "dirty.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE dirty (id INTEGER PRIMARY KEY, d DATE, t DATETIME, x NUMERIC, s TEXT)")
    db.executemany(
        "INSERT INTO dirty VALUES (?, ?, ?, ?, ?)",
        [
            (1, "10000-01-01", "garbage", "n/a", "a\x00b"),
            (2, "2024-01-01", "2024-01-01 10:00:00", 1.5, "plain"),
            (3, None, "2024-13-45 99:99:99", None, None),
        ],
    )
    db.execute("INSERT INTO dirty VALUES (4, '2024-01-02', NULL, 2, CAST(x'ff41' AS TEXT))")
    db.commit()
    db.close()
    cat = Catalog(make_engine(f"sqlite:///{path}", read_only=True))
    rows, csv_text = _read_everything(cat, "main.dirty")
    assert [r["d"] for r in rows] == ["10000-01-01", "2024-01-01", None, "2024-01-02"]
    assert [r["t"] for r in rows] == ["garbage", "2024-01-01 10:00:00", "2024-13-45 99:99:99", None]
    assert [r["x"] for r in rows] == ["n/a", 1.5, None, 2.0]
    assert [r["s"] for r in rows] == ["a\x00b", "plain", None, "\ufffdA"]
    lines = csv_text.splitlines()
    assert lines[0] == "id,d,t,x,s"
    assert len(lines) == 5
    assert lines[1] == "1,10000-01-01,garbage,n/a,a\x00b"
    by_month = aggregate(cat, "main.dirty", "d", {})  # no span to measure: months
    assert (by_month.labels, by_month.counts) == (["2024-01-01"], [2])
    with pytest.raises(GridRequestError, match="not finite numbers"):
        aggregate(cat, "main.dirty", "x", {})
    cat.engine.dispose()
