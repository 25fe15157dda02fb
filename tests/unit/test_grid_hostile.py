"""Bad and hostile grid requests are refused with a clear message before any SQL runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from dashapp.data.catalog import Catalog, CatalogError
from dashapp.data.filters import GridRequestError
from dashapp.data.grid_service import fetch_block
from dashapp.db import make_engine
from tests.grid_fixtures import TABLE, build_mixed

KEY = f"main.{TABLE}"
OK = {"startRow": 0, "endRow": 10}


@pytest.fixture(scope="module")
def cat(tmp_path_factory) -> Catalog:
    url = f"sqlite:///{tmp_path_factory.mktemp('h') / 'h.sqlite'}"
    build_mixed(url)
    return Catalog(make_engine(url, read_only=True))


HOSTILE: list[tuple[dict[str, Any], str]] = [
    (
        {"filterModel": {"nope": {"filterType": "text", "type": "contains", "filter": "a"}}},
        "no such column",
    ),
    (
        {
            "filterModel": {
                "id; DROP TABLE x": {"filterType": "number", "type": "equals", "filter": 1}
            }
        },
        "no such column",
    ),
    (
        {
            "filterModel": {
                "select": {"filterType": "number", "type": "equals", "filter": "1 OR 1=1"}
            }
        },
        "is not a number",
    ),
    (
        {"filterModel": {"select": {"filterType": "number", "type": "equals", "filter": True}}},
        "is not a number",
    ),
    ({"filterModel": {"select": {"filterType": "number", "type": "equals"}}}, "missing value"),
    (
        {"filterModel": {"select": {"filterType": "number", "type": "sqlInjection", "filter": 1}}},
        "unknown operator",
    ),
    (
        {"filterModel": {"select": {"filterType": "text", "type": "contains", "filter": "1"}}},
        "cannot take a 'text' filter",
    ),
    (
        {"filterModel": {"Name": {"filterType": "text", "type": "contains", "filter": {"$gt": 1}}}},
        "expected text",
    ),
    (
        {"filterModel": {"Name": {"filterType": "text", "type": "contains", "filter": "x" * 5000}}},
        "longer than",
    ),
    (
        {"filterModel": {"day": {"filterType": "date", "type": "equals", "dateFrom": "yesterday"}}},
        "is not a date",
    ),
    (
        {
            "filterModel": {
                "day": {"filterType": "date", "type": "equals", "dateFrom": "2024-02-30"}
            }
        },
        "not a valid date",
    ),
    (
        {"filterModel": {"Name": {"filterType": "text", "operator": "XOR", "conditions": []}}},
        "AND or OR",
    ),
    (
        {"filterModel": {"Name": {"filterType": "text", "operator": "OR", "conditions": [1] * 50}}},
        "conditions",
    ),
    ({"filterModel": {"Name": "contains a"}}, "must be an object"),
    ({"filterModel": ["Name"]}, "must be an object"),
    ({"sortModel": [{"colId": "Name; DROP TABLE x", "sort": "asc"}]}, "no such column"),
    ({"sortModel": [{"colId": "Name", "sort": "sideways"}]}, "in direction"),
    ({"sortModel": "Name"}, "must be a list"),
    ({"startRow": -1}, "a block must be"),
    ({"startRow": 0, "endRow": 10**7}, "a block must be"),
    ({"startRow": "0"}, "whole numbers"),
    ({"quick": ["a"]}, "quick search"),
]


@pytest.mark.parametrize(("patch", "message"), HOSTILE)
def test_gh001_refused_with_message_and_no_sql(cat: Catalog, patch, message: str) -> None:
    cat.table(KEY)  # reflect first: reflection queries are not part of the request
    seen: list[str] = []
    listener = lambda *a: seen.append(a[2])  # noqa: E731
    event.listen(cat.engine, "before_cursor_execute", listener)
    try:
        with pytest.raises(GridRequestError) as err:
            fetch_block(cat, KEY, {**OK, **patch})
    finally:
        event.remove(cat.engine, "before_cursor_execute", listener)
    assert message in str(err.value)
    assert seen == []


def test_gh002_unknown_or_hidden_tables(cat: Catalog, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no table"):
        fetch_block(cat, "main.sqlite_master_x", OK)
    with pytest.raises(CatalogError, match=r"schema\.table"):
        fetch_block(cat, "noschema", OK)
    hidden = Catalog(cat.engine, deny=["main.pairs"])
    with pytest.raises(CatalogError, match="not available"):
        fetch_block(hidden, "main.pairs", OK)
    assert "main.pairs" not in [e.key for e in hidden.list_tables()]
    only = Catalog(cat.engine, allow=["main.p*"])
    assert [e.key for e in only.list_tables()] == ["main.pairs", "main.positive prices"]


def test_gh003_connection_is_read_only(cat: Catalog) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    with pytest.raises(OperationalError, match="readonly"), cat.engine.connect() as conn:
        conn.execute(text("DELETE FROM pairs"))
