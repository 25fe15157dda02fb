"""Set filters, distinct values, group by and column profiles on SQLite and PostgreSQL.

Each result is checked against the same computation in Python over the rows the table was
built from (tests/grid_fixtures.py: NULLs, empty text, ties, odd names).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text as sql

from dashapp.data.catalog import Catalog
from dashapp.data.distinct import distinct_values
from dashapp.data.grid_service import fetch_block
from dashapp.data.grouping import fetch_groups, group_filters
from dashapp.data.links import merge_filters
from dashapp.data.profile import column_profile
from dashapp.db import make_engine
from tests.grid_fixtures import TABLE, build_mixed, mixed_rows

ROWS = mixed_rows()
SET_COLUMNS = ["Name", "select", "price $", "day", "at", "flag"]


@pytest.fixture(scope="module")
def pg_module_url(pg_server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database shared by this module's tests."""
    from tests.conftest import fresh_pg_database

    with fresh_pg_database(pg_server_url) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def catalog(request, tmp_path_factory) -> Iterator[tuple[Catalog, str]]:
    """The mixed table in a fresh SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('explore') / 'e.sqlite'}"
        schema = "main"
    else:
        url = request.getfixturevalue("pg_module_url")
        schema = "public"
    build_mixed(url)
    engine = make_engine(url, read_only=True, statement_timeout_s=10)
    yield Catalog(engine), f"{schema}.{TABLE}"
    engine.dispose()


def ids_for(
    catalog: tuple[Catalog, str], filter_model: dict[str, Any], quick: str = ""
) -> list[int]:
    cat, key = catalog
    req = {"startRow": 0, "endRow": 1000, "filterModel": filter_model, "quick": quick}
    return [r["id"] for r in fetch_block(cat, key, req)[0].rows]


def as_python(value: Any) -> Any:
    """A fixture value as JSON carries it back (numbers as numbers, dates as text)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def stamp(value: Any) -> Any:
    """A listed timestamp as the fixture writes it (SQLite keeps SQLAlchemy's ``.000000``)."""
    if isinstance(value, str) and value.endswith(".000000"):
        return value[:19]
    return value


def test_ex001_set_filter_picks_exactly_the_listed_values_and_null(catalog) -> None:
    """Every listed value, filtered on, gives the rows it was counted with (NULL too)."""
    for col in SET_COLUMNS:
        found = distinct_values(catalog[0], catalog[1], col, {}, limit=500)
        assert not found.more
        assert not found.estimated
        expected = Counter(as_python(r[col]) for r in ROWS)
        assert sorted(n for _, n in found.values) == sorted(expected.values()), col
        counts = [n for _, n in found.values]
        assert counts == sorted(counts, reverse=True)  # commonest first
        for value, n in found.values:
            got = ids_for(catalog, {col: {"filterType": "set", "values": [value]}})
            assert len(got) == n, (col, value)
            same = [r["id"] for r in ROWS if as_python(r[col]) == stamp(value)]
            assert got == same, (col, value)
    two = ids_for(catalog, {"Name": {"filterType": "set", "values": ["alpha", None]}})
    assert two == [r["id"] for r in ROWS if r["Name"] in ("alpha", None)]
    assert ids_for(catalog, {"Name": {"filterType": "set", "values": []}}) == []


def test_ex002_set_filter_combines_with_the_columns_own_filter(catalog) -> None:
    merged = merge_filters(
        {"select": {"filterType": "number", "type": "greaterThan", "filter": 0}},
        {"select": [1, 2, -3, None], "Name": ["Beta"]},
    )
    assert ids_for(catalog, merged) == [
        r["id"] for r in ROWS if r["select"] in (1, 2) and r["Name"] == "Beta"
    ]


def test_ex003_distinct_values_follow_the_other_filters_not_their_own(catalog) -> None:
    cat, key = catalog
    view = {
        "filterModel": merge_filters(
            {"flag": {"filterType": "text", "type": "true"}}, {"Name": ["alpha"]}
        )
    }
    found = distinct_values(cat, key, "Name", view)
    expected = Counter(r["Name"] for r in ROWS if r["flag"] is True)
    assert dict(found.values) == dict(expected)  # its own set filter is left out
    # The search narrows in SQL, case-insensitively, with wildcards as plain text.
    found = distinct_values(cat, key, "Name", {}, search="ALPHA")
    assert {v for v, _ in found.values} == {"alpha", "ALPHA beta"}
    assert distinct_values(cat, key, "Name", {}, search="%").values == [
        ("50% off", sum(r["Name"] == "50% off" for r in ROWS))
    ]
    # More values than listed: the commonest, and it says there are more.
    found = distinct_values(cat, key, "at", {}, limit=5)
    assert found.more
    assert len(found.values) == 5
    # A profile keeps the column's own filter (it describes the view as shown).
    kept = distinct_values(cat, key, "Name", view, keep_own_filter=True)
    assert [v for v, _ in kept.values] == ["alpha"]


def test_ex004_group_by_with_aggregates_sorts_pages_and_opens(catalog) -> None:
    cat, key = catalog
    spec = {
        "by": ["Name", "flag"],
        "aggs": [
            {"fn": "count"},
            {"fn": "sum", "col": "select"},
            {"fn": "avg", "col": "price $"},
            {"fn": "min", "col": "select"},
            {"fn": "max", "col": "price $"},
        ],
    }
    groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for r in ROWS:
        groups.setdefault((r["Name"], r["flag"]), []).append(r)
    req = {"startRow": 0, "endRow": 1000, "sortModel": [{"colId": "agg0", "sort": "desc"}]}
    found = fetch_groups(cat, key, spec, req)
    assert found.groups == len(groups) == len(found.block.rows)
    assert found.rows == len(ROWS)
    counts = [g["agg0"] for g in found.block.rows]
    assert counts == sorted(counts, reverse=True)
    for g in found.block.rows:
        rows = groups[(g["key0"], g["key1"])]
        sel = [r["select"] for r in rows if r["select"] is not None]
        prices = [float(r["price $"]) for r in rows if r["price $"] is not None]
        assert g["agg0"] == len(rows)
        assert g["agg1"] == (sum(sel) if sel else None)
        assert g["agg2"] == (pytest.approx(sum(prices) / len(prices)) if prices else None)
        assert g["agg3"] == (min(sel) if sel else None)
        assert g["agg4"] == (pytest.approx(max(prices)) if prices else None)
    # Paged: blocks of 3 groups, in the same order, count known from the first block on.
    page = fetch_groups(cat, key, spec, {**req, "startRow": 3, "endRow": 6})
    assert page.block.rows == found.block.rows[3:6]
    assert page.groups == len(groups)
    # Opening a group: its keys become set filters, which select exactly its rows.
    for g in found.block.rows[:6]:
        sets = group_filters(spec, g)
        assert ids_for(catalog, merge_filters({}, sets)) == [
            r["id"] for r in groups[(g["key0"], g["key1"])]
        ]


def test_ex005_group_by_dates_over_a_filtered_view(catalog) -> None:
    cat, key = catalog
    flt = {"select": {"filterType": "number", "type": "greaterThanOrEqual", "filter": 0}}
    found = fetch_groups(
        cat, key, {"by": ["day"]}, {"startRow": 0, "endRow": 100, "filterModel": flt}
    )
    expected = Counter(
        as_python(r["day"]) for r in ROWS if r["select"] is not None and r["select"] >= 0
    )
    assert {g["key0"]: g["agg0"] for g in found.block.rows} == dict(expected)
    keys = [g["key0"] for g in found.block.rows if g["key0"] is not None]
    assert keys == sorted(keys)  # key order by default
    assert found.rows == sum(expected.values())


def test_ex006_profile_counts_nulls_distinct_range_and_shape(catalog) -> None:
    cat, key = catalog
    flt = {"flag": {"filterType": "text", "type": "notBlank"}}
    shown = [r for r in ROWS if r["flag"] is not None]
    prof = column_profile(cat, key, "select", {"filterModel": flt})
    values = [r["select"] for r in shown if r["select"] is not None]
    assert (prof.rows, prof.nulls, prof.distinct) == (
        len(shown),
        len(shown) - len(values),
        len(set(values)),
    )
    assert (prof.minimum, prof.maximum, prof.estimated) == (min(values), max(values), False)
    assert prof.chart is not None
    assert sum(prof.chart.counts) == len(values)
    prof = column_profile(cat, key, "Name", {})
    assert prof.nulls == sum(r["Name"] is None for r in ROWS)
    assert prof.distinct == len({r["Name"] for r in ROWS if r["Name"] is not None})
    assert prof.top is not None
    assert prof.top.values[0][1] == max(Counter(r["Name"] for r in ROWS).values())
    prof = column_profile(cat, key, "at", {"quick": "zzz-nothing"})
    assert (prof.rows, prof.nulls, prof.distinct, prof.chart) == (0, 0, 0, None)


@pytest.fixture(scope="module")
def big_pg(pg_module_url: str) -> Catalog:
    """A PostgreSQL table larger than the estimate threshold, analysed."""
    engine = make_engine(pg_module_url)
    with engine.begin() as conn:
        conn.execute(sql("CREATE TABLE big (id integer primary key, kind text, n integer)"))
        conn.execute(
            sql(
                "INSERT INTO big SELECT g, (ARRAY['a','b','c','d'])[1 + g % 4],"
                " CASE WHEN g % 10 = 0 THEN NULL ELSE g % 7 END FROM generate_series(1, 250000) g"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sql("ANALYZE big"))
    engine.dispose()
    return Catalog(make_engine(pg_module_url, read_only=True, statement_timeout_s=10))


def test_ex007_large_unfiltered_postgresql_tables_use_the_planners_estimates(big_pg) -> None:
    found = distinct_values(big_pg, "public.big", "kind", {})
    assert found.estimated
    assert sorted(v for v, _ in found.values) == ["a", "b", "c", "d"]
    for _, n in found.values:
        assert n == pytest.approx(62_500, rel=0.1)
    nums = distinct_values(big_pg, "public.big", "n", {})
    assert nums.estimated
    assert None in dict(nums.values)
    assert sorted(v for v in dict(nums.values) if v is not None) == list(range(7))
    # With a filter the counts are exact.
    flt = {
        "filterModel": {"id": {"filterType": "number", "type": "lessThanOrEqual", "filter": 100}}
    }
    exact = distinct_values(big_pg, "public.big", "kind", flt)
    assert not exact.estimated
    assert dict(exact.values) == {"a": 25, "b": 25, "c": 25, "d": 25}
    prof = column_profile(big_pg, "public.big", "n", {})
    assert prof.estimated
    assert prof.distinct == 7
    assert prof.nulls == pytest.approx(25_000, rel=0.15)
    assert (prof.minimum, prof.maximum) == (0, 6)
