"""Catalog: tables, views, counts, awkward names, composite and missing keys."""

from __future__ import annotations

import pytest

from dashapp.data.catalog import Catalog
from dashapp.data.grid_service import fetch_block, fetch_row
from dashapp.db import make_engine
from tests.grid_fixtures import TABLE, build_mixed


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def cat(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('c') / 'c.sqlite'}"
        schema = "main"
    else:
        url = request.getfixturevalue("pg_module_url")
        schema = "public"
    build_mixed(url)
    engine = make_engine(url, read_only=True)
    yield Catalog(engine), schema
    engine.dispose()


@pytest.fixture(scope="module")
def pg_module_url(pg_server_url):
    from tests.conftest import fresh_pg_database

    with fresh_pg_database(pg_server_url) as url:
        yield url


def test_ca001_lists_tables_and_views_with_counts(cat) -> None:
    catalog, schema = cat
    entries = {e.key: e for e in catalog.list_tables()}
    assert entries[f"{schema}.{TABLE}"].rows == 80
    assert entries[f"{schema}.pairs"].rows == 300
    assert entries[f"{schema}.no key"].rows == 250
    assert entries[f"{schema}.empty"].rows == 0
    view = entries[f"{schema}.positive prices"]
    assert view.is_view
    assert not entries[f"{schema}.pairs"].estimated


def test_ca002_column_kinds(cat) -> None:
    catalog, schema = cat
    kinds = {c.name: c.kind for c in catalog.table(f"{schema}.{TABLE}").columns}
    assert kinds == {
        "id": "number",
        "Name": "text",
        "select": "number",
        "price $": "number",
        "day": "date",
        "at": "datetime",
        "flag": "bool",
    }


def test_ca003_composite_key_deep_paging_and_detail(cat) -> None:
    catalog, schema = cat
    key = f"{schema}.pairs"
    sort = [{"colId": "a", "sort": "desc"}]
    seen = []
    for start in range(0, 300, 50):
        block, _ = fetch_block(
            catalog, key, {"startRow": start, "endRow": start + 50, "sortModel": sort}
        )
        seen += [(r["a"], r["b"]) for r in block.rows]
    assert len(seen) == len(set(seen)) == 300
    assert [a for a, _ in seen] == sorted((a for a, _ in seen), reverse=True)
    row = fetch_row(catalog, key, {"a": "k3", "b": 10, "note": "truncated?"})
    assert row == {"a": "k3", "b": 10, "note": "x" * 0}


def test_ca004_table_without_key_pages_completely(cat) -> None:
    catalog, schema = cat
    key = f"{schema}.no key"
    rows = []
    for start in range(0, 250, 40):
        block, _ = fetch_block(catalog, key, {"startRow": start, "endRow": start + 40})
        rows += [(r["x"], r["y"]) for r in block.rows]
    assert len(rows) == 250
    assert sorted(rows) == rows  # total order over all columns


def test_ca005_views_and_empty_tables(cat) -> None:
    catalog, schema = cat
    block, total = fetch_block(catalog, f"{schema}.empty", {"startRow": 0, "endRow": 100})
    assert (block.rows, block.row_count, total) == ([], 0, 0)
    block, _ = fetch_block(
        catalog,
        f"{schema}.positive prices",
        {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "price $", "sort": "asc"}]},
    )
    prices = [r["price $"] for r in block.rows]
    assert prices
    assert all(p > 10 for p in prices)
    assert prices == sorted(prices)


def test_ca006_seeking_from_anchors_matches_offset_in_any_order(cat) -> None:
    import random

    from sqlalchemy import event

    catalog, schema = cat
    key = f"{schema}.pairs"
    sort = [{"colId": "a", "sort": "desc"}]  # keys a, b are NOT NULL: seekable
    fresh = Catalog(catalog.engine)
    want = [
        (r["a"], r["b"])
        for r in fetch_block(fresh, key, {"startRow": 0, "endRow": 300, "sortModel": sort})[0].rows
    ]
    seen_sql: list[str] = []
    event.listen(catalog.engine, "before_cursor_execute", lambda *a: seen_sql.append(a[2]))
    starts = [s for s in range(0, 300, 20)] * 2
    random.Random(3).shuffle(starts)
    for start in starts:
        block, _ = fetch_block(
            catalog, key, {"startRow": start, "endRow": start + 20, "sortModel": sort}
        )
        assert [(r["a"], r["b"]) for r in block.rows] == want[start : start + 20], start
    if catalog.dialect == "postgresql":
        # Most blocks were found by seeking from an anchor, not by counting past rows.
        seeks = [q for q in seen_sql if "OFFSET" in q and (" > " in q or " < " in q)]
        assert len(seeks) > len(starts) / 2


def test_ca007_blocks_show_each_value_as_the_single_value_path_does(cat) -> None:
    from sqlalchemy import select

    from dashapp.data.json_values import to_json_value

    catalog, schema = cat
    info = catalog.table(f"{schema}.{TABLE}")
    with catalog.engine.connect() as conn:
        raw = conn.execute(select(info.table).order_by(info.table.c.id)).mappings().all()
    want = [{k: to_json_value(v) for k, v in row.items()} for row in raw]
    sort = [{"colId": "id", "sort": "asc"}]
    block, _ = fetch_block(catalog, info.key, {"startRow": 0, "endRow": 100, "sortModel": sort})
    assert block.rows == want
    assert len(want) == 80


def test_ca008_a_table_changed_under_the_app_gives_a_message_then_shows_as_it_is(cat) -> None:
    from sqlalchemy import text

    from dashapp.data.catalog import DataUnavailable

    catalog, schema = cat
    writer = make_engine(catalog.engine.url)
    key = f"{schema}.drift"
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE drift (id INTEGER PRIMARY KEY, a TEXT, b TEXT)"))
        conn.execute(text("INSERT INTO drift VALUES (1, 'a1', 'b1'), (2, 'a2', 'b2')"))
    try:
        request = {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "id", "sort": "asc"}]}
        block, _ = fetch_block(catalog, key, request)
        assert block.rows[0] == {"id": 1, "a": "a1", "b": "b1"}
        with writer.begin() as conn:
            conn.execute(text("ALTER TABLE drift DROP COLUMN b"))
            conn.execute(text("ALTER TABLE drift ADD COLUMN c INTEGER"))
        # The first request after the change says what happened ...
        with pytest.raises(DataUnavailable, match="columns changed"):
            fetch_block(catalog, key, request)
        # ... and the next one (the reload it asks for) sees the table as it is now.
        block, _ = fetch_block(catalog, key, request)
        assert block.rows[1] == {"id": 2, "a": "a2", "c": None}
        # A column added without breaking anything shows up when the table is opened again.
        with writer.begin() as conn:
            conn.execute(text("ALTER TABLE drift ADD COLUMN d INTEGER"))
        assert "d" not in [c.name for c in catalog.table(key).columns]
        assert "d" in [c.name for c in catalog.table(key, max_age_s=0).columns]
    finally:
        with writer.begin() as conn:
            conn.execute(text("DROP TABLE drift"))
        writer.dispose()
