"""Saved views in the state database (SQLite and PostgreSQL): privacy, links, gone columns."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from dashapp import migrations
from dashapp.data.catalog import Catalog
from dashapp.data.links import VIEW_ID, parse_query, view_query
from dashapp.data.views import SavedViewStore, ViewError, check_view, open_view
from dashapp.db import make_engine
from tests.grid_fixtures import TABLE, build_mixed

KEY = f"main.{TABLE}"
QUOTED = '"' + TABLE.replace('"', '""') + '"'
VIEW = {
    "table": KEY,
    "filter": {"select": {"filterType": "number", "type": "greaterThan", "filter": 0}},
    "sets": {"Name": ["alpha", None]},
    "sort": [{"colId": "price $", "sort": "desc"}],
    "quick": "a",
    "columns": ["id", "Name", "select"],
    "group": {"by": ["flag"], "aggs": [{"fn": "count"}, {"fn": "avg", "col": "price $"}]},
    "chart": "day",
}


def one_source(catalog: Catalog) -> Callable[[str], tuple[Catalog, str]]:
    """``Deps.locate`` of a single database: every key is of ``catalog``."""
    return lambda key: (catalog, key)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path) -> SavedViewStore:
    """A migrated state database of either kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    migrations.upgrade(engine)
    yield SavedViewStore(engine)
    engine.dispose()


@pytest.fixture
def data(tmp_path: Path) -> tuple[Catalog, str]:
    """The mixed table in a SQLite file the test may change (a read-only catalog over it)."""
    url = f"sqlite:///{tmp_path / 'data.sqlite'}"
    build_mixed(url)
    return Catalog(make_engine(url, read_only=True)), url


def test_sv001_private_views_are_their_owners_shared_ones_everyones(store, data) -> None:
    catalog, _ = data
    view = check_view(catalog, VIEW)
    mine = store.save(owner="ann", name="  My   failed logins ", view=view, shared=False)
    ours = store.save(owner="ann", name="Team view", view=view, shared=True)
    assert VIEW_ID.fullmatch(mine.id)
    assert len(mine.id) == 8
    assert mine.name == "My failed logins"
    assert store.get(mine.id, "ann").view == view
    assert store.get(mine.id, "bob") is None  # private
    assert store.get(ours.id, "bob").name == "Team view"
    assert [v.id for v in store.visible("ann")] == [ours.id, mine.id]  # newest first
    assert [v.id for v in store.visible("bob")] == [ours.id]
    assert store.delete(ours.id, "bob") is False  # only the owner deletes
    assert store.get(ours.id, "bob") is not None
    assert store.delete(ours.id, "ann") is True
    assert store.visible("bob") == []
    assert store.get("../etc", "ann") is None
    assert store.delete("x' OR '1'='1", "ann") is False
    with pytest.raises(ViewError, match="Give the view a name"):
        store.save(owner="ann", name="", view=view, shared=False)


def test_sv002_a_saved_link_opens_the_same_view(store, data) -> None:
    catalog, _ = data
    saved = store.save(owner="ann", name="v", view=check_view(catalog, VIEW), shared=False)
    query, notes = open_view(store, one_source(catalog), saved.id, "ann")
    assert notes == []
    state = parse_query(query)
    assert state["table"] == KEY
    assert state["grid_filter"] == VIEW["filter"]
    assert state["sets"] == VIEW["sets"]
    assert (state["sort"], state["quick"], state["columns"]) == (
        VIEW["sort"],
        VIEW["quick"],
        VIEW["columns"],
    )
    assert (state["group"], state["chart"]) == (VIEW["group"], VIEW["chart"])
    # Someone else cannot open a private view; an unknown id says so.
    query, notes = open_view(store, one_source(catalog), saved.id, "bob")
    assert query == {}
    assert "no saved view" in notes[0]


def test_sv003_a_view_whose_table_or_columns_have_gone_says_so(store, data) -> None:
    catalog, url = data
    saved = store.save(owner="ann", name="Prices", view=check_view(catalog, VIEW), shared=True)
    writer = make_engine(url)
    with writer.begin() as conn:
        conn.execute(sql('DROP VIEW "positive prices"'))  # it reads the column dropped next
        conn.execute(sql(f'ALTER TABLE {QUOTED} DROP COLUMN "price $"'))
        conn.execute(sql(f'ALTER TABLE {QUOTED} DROP COLUMN "day"'))
    catalog.forget()
    query, notes = open_view(store, one_source(catalog), saved.id, "bob")
    assert notes == [
        f"The saved view 'Prices' refers to columns that are no longer in {KEY}: 'price $',"
        " 'day'. It is shown without them."
    ]
    state = parse_query(query)
    assert state["sort"] == []
    assert state["chart"] is None
    assert state["group"] == {"by": ["flag"], "aggs": [{"fn": "count"}]}
    assert state["sets"] == VIEW["sets"]
    assert state["columns"] == VIEW["columns"]
    with writer.begin() as conn:
        conn.execute(sql(f"DROP TABLE {QUOTED}"))
    writer.dispose()
    catalog.forget()
    query, notes = open_view(store, one_source(catalog), saved.id, "ann")
    assert query == {}
    assert notes == [f"The saved view 'Prices' shows the table {KEY}, which is no longer there."]


def test_sv004_links_carry_every_part_of_a_view() -> None:
    query = view_query(VIEW)
    assert set(query) == {"table", "sort", "filter", "q", "cols", "group", "chart"}
    merged = json.loads(query["filter"])
    assert merged["Name"] == {"filterType": "set", "values": ["alpha", None]}
    assert parse_query(query)["filter"] == merged  # exports get set filters as they are
    assert view_query({"table": KEY}) == {"table": KEY}
