"""Every filter operator and type, on SQLite and PostgreSQL, against the same filter in Python."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from dashapp.data.catalog import Catalog
from dashapp.data.grid_service import fetch_block
from dashapp.db import make_engine
from tests.grid_fixtures import TABLE, build_mixed, mixed_rows

ROWS = mixed_rows()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def catalog(request, tmp_path_factory) -> Iterator[tuple[Catalog, str]]:
    """The mixed table in a fresh SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('grid') / 'g.sqlite'}"
        schema = "main"
    else:
        url = request.getfixturevalue("pg_module_url")
        schema = "public"
    build_mixed(url)
    engine = make_engine(url, read_only=True)
    yield Catalog(engine), f"{schema}.{TABLE}"
    engine.dispose()


def ids_for(
    catalog: tuple[Catalog, str], filter_model: dict[str, Any], quick: str = ""
) -> list[int]:
    cat, key = catalog
    req = {"startRow": 0, "endRow": 1000, "sortModel": [], "filterModel": filter_model}
    if quick:
        req["quick"] = quick
    block, _ = fetch_block(cat, key, req)
    return [r["id"] for r in block.rows]


def expect(pred: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [r["id"] for r in ROWS if pred(r)]


def low(v: Any) -> str | None:
    return None if v is None else str(v).lower()


TEXT_CASES: list[tuple[str, str, Callable[[Any, str], bool]]] = [
    ("contains", "al", lambda v, f: v is not None and f.lower() in v.lower()),
    ("notContains", "al", lambda v, f: v is None or f.lower() not in v.lower()),
    ("equals", "alpha", lambda v, f: v is not None and v.lower() == f.lower()),
    ("notEqual", "alpha", lambda v, f: v is None or v.lower() != f.lower()),
    ("startsWith", "ALP", lambda v, f: v is not None and v.lower().startswith(f.lower())),
    ("endsWith", "A", lambda v, f: v is not None and v.lower().endswith(f.lower())),
    # Wildcards and escapes are literal text, not patterns.
    ("contains", "%", lambda v, f: v is not None and f in v),
    ("contains", "_", lambda v, f: v is not None and f in v),
    ("contains", "\\", lambda v, f: v is not None and f in v),
    ("contains", "ë", lambda v, f: v is not None and f in v),
    ("contains", "'", lambda v, f: v is not None and f in v),
]


@pytest.mark.parametrize(("op", "value", "pred"), TEXT_CASES)
def test_gf001_text_filters(catalog, op: str, value: str, pred) -> None:
    model = {"Name": {"filterType": "text", "type": op, "filter": value}}
    assert ids_for(catalog, model) == expect(lambda r: pred(r["Name"], value))


@pytest.mark.parametrize("op", ["blank", "notBlank"])
def test_gf002_text_blank(catalog, op: str) -> None:
    model = {"Name": {"filterType": "text", "type": op}}
    blank = expect(lambda r: r["Name"] in (None, ""))
    got = ids_for(catalog, model)
    assert got == (
        blank if op == "blank" else [i for i in expect(lambda r: True) if i not in blank]
    )


NUMBER_CASES: list[tuple[str, Callable[[Any], bool]]] = [
    ("equals", lambda v: v == 2),
    ("notEqual", lambda v: v != 2),
    ("lessThan", lambda v: v < 2),
    ("lessThanOrEqual", lambda v: v <= 2),
    ("greaterThan", lambda v: v > 2),
    ("greaterThanOrEqual", lambda v: v >= 2),
]


@pytest.mark.parametrize(("op", "pred"), NUMBER_CASES)
def test_gf003_number_filters(catalog, op: str, pred) -> None:
    model = {"select": {"filterType": "number", "type": op, "filter": 2}}
    assert ids_for(catalog, model) == expect(
        lambda r: r["select"] is not None and pred(r["select"])
    )


def test_gf004_number_range_blank_and_decimals(catalog) -> None:
    rng = {"price $": {"filterType": "number", "type": "inRange", "filter": 10.5, "filterTo": 50}}
    assert ids_for(catalog, rng) == expect(
        lambda r: r["price $"] is not None and 10.5 <= r["price $"] <= 50
    )
    blank = {"price $": {"filterType": "number", "type": "blank"}}
    assert ids_for(catalog, blank) == expect(lambda r: r["price $"] is None)
    not_blank = {"select": {"filterType": "number", "type": "notBlank"}}
    assert ids_for(catalog, not_blank) == expect(lambda r: r["select"] is not None)


def _day(v: date | datetime | None) -> date | None:
    return v.date() if isinstance(v, datetime) else v


DATE_CASES: list[tuple[str, Callable[[date], bool]]] = [
    ("equals", lambda d: d == date(2024, 1, 5)),
    ("notEqual", lambda d: d != date(2024, 1, 5)),
    ("lessThan", lambda d: d < date(2024, 1, 5)),
    ("greaterThan", lambda d: d > date(2024, 1, 5)),
    ("inRange", lambda d: date(2024, 1, 3) <= d <= date(2024, 1, 7)),
]


@pytest.mark.parametrize("column", ["day", "at"])
@pytest.mark.parametrize(("op", "pred"), DATE_CASES)
def test_gf005_date_and_timestamp_filters(catalog, column: str, op: str, pred) -> None:
    model = {
        column: {
            "filterType": "date",
            "type": op,
            "dateFrom": "2024-01-05 00:00:00" if op != "inRange" else "2024-01-03 00:00:00",
            "dateTo": "2024-01-07 00:00:00" if op == "inRange" else None,
        }
    }
    assert ids_for(catalog, model) == expect(
        lambda r: r[column] is not None and pred(_day(r[column]))
    )


@pytest.mark.parametrize("column", ["day", "at"])
def test_gf006_date_blank(catalog, column: str) -> None:
    model = {column: {"filterType": "date", "type": "blank", "dateFrom": None, "dateTo": None}}
    assert ids_for(catalog, model) == expect(lambda r: r[column] is None)


@pytest.mark.parametrize(
    ("op", "pred"),
    [
        ("true", lambda v: v is True),
        ("false", lambda v: v is False),
        ("blank", lambda v: v is None),
        ("notBlank", lambda v: v is not None),
    ],
)
def test_gf007_boolean_filters(catalog, op: str, pred) -> None:
    model = {"flag": {"filterType": "text", "type": op}}
    assert ids_for(catalog, model) == expect(lambda r: pred(r["flag"]))


def test_gf008_combined_conditions_and_columns(catalog) -> None:
    model = {
        "Name": {
            "filterType": "text",
            "operator": "OR",
            "conditions": [
                {"filterType": "text", "type": "startsWith", "filter": "alpha"},
                {"filterType": "text", "type": "equals", "filter": "beta"},
            ],
        },
        "select": {
            "filterType": "number",
            "operator": "AND",
            "conditions": [
                {"filterType": "number", "type": "greaterThan", "filter": -3},
                {"filterType": "number", "type": "lessThan", "filter": 4},
            ],
        },
    }

    def pred(r: dict[str, Any]) -> bool:
        name, sel = low(r["Name"]), r["select"]
        name_ok = name is not None and (name.startswith("alpha") or name == "beta")
        return name_ok and sel is not None and -3 < sel < 4

    assert ids_for(catalog, model) == expect(pred)


def test_gf009_quick_search_spans_text_columns(catalog) -> None:
    assert ids_for(catalog, {}, quick="BETA") == expect(
        lambda r: r["Name"] is not None and "beta" in r["Name"].lower()
    )


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ([{"colId": "select", "sort": "asc"}], lambda r: (r["select"], r["id"])),
        ([{"colId": "price $", "sort": "desc"}], lambda r: (r["price $"], r["id"])),
        (
            [{"colId": "flag", "sort": "asc"}, {"colId": "day", "sort": "desc"}],
            lambda r: (r["flag"], r["day"]),
        ),
    ],
)
def test_gf010_sort_is_total_and_pages_line_up(catalog, sort, key) -> None:
    cat, table = catalog
    whole, _ = fetch_block(cat, table, {"startRow": 0, "endRow": 1000, "sortModel": sort})
    pages: list[int] = []
    for start in range(0, 80, 7):
        block, _ = fetch_block(
            cat, table, {"startRow": start, "endRow": start + 7, "sortModel": sort}
        )
        pages += [r["id"] for r in block.rows]
    ids = [r["id"] for r in whole.rows]
    assert pages == ids
    assert sorted(ids) == list(range(1, 81))
    # Non-null values are in the requested order (NULL placement is the database's).
    first = sort[0]
    vals = [r[first["colId"]] for r in whole.rows if r[first["colId"]] is not None]
    assert vals == sorted(vals, reverse=first["sort"] == "desc")
    del key


def test_gf011_counts(catalog) -> None:
    cat, table = catalog
    model = {"select": {"filterType": "number", "type": "greaterThan", "filter": 0}}
    block, total = fetch_block(
        cat, table, {"startRow": 0, "endRow": 5, "sortModel": [], "filterModel": model}
    )
    assert block.row_count == len(expect(lambda r: r["select"] is not None and r["select"] > 0))
    assert total == 80
    assert len(block.rows) == 5


@pytest.fixture(scope="module")
def pg_module_url(pg_server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database shared by this module's tests."""
    from tests.conftest import fresh_pg_database

    with fresh_pg_database(pg_server_url) as url:
        yield url


def test_gf012_sqlite_midnight_is_on_the_right_day(tmp_path: Path) -> None:
    # Timestamps stored as text without fractions must still compare by day exactly.
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, at DATETIME)"))
        conn.execute(
            text("INSERT INTO t VALUES (1, '2024-01-02 00:00:00'), (2, '2024-01-01 23:59:59')")
        )
    cat = Catalog(eng)
    after = {"at": {"filterType": "date", "type": "greaterThan", "dateFrom": "2024-01-01"}}
    on = {"at": {"filterType": "date", "type": "equals", "dateFrom": "2024-01-02"}}
    req = {"startRow": 0, "endRow": 10}
    assert [r["id"] for r in fetch_block(cat, "main.t", {**req, "filterModel": after})[0].rows] == [
        1
    ]
    assert [r["id"] for r in fetch_block(cat, "main.t", {**req, "filterModel": on})[0].rows] == [1]
