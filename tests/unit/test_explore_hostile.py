"""Bad and hostile set filters, value lists, groupings, profiles and saved views.

Each is refused with a message fit for the user before any SQL runs on the browsed
database: unknown columns, wrong types, huge lists, NUL, nested junk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import LargeBinary, event
from sqlalchemy import text as sql

from dashapp.data.catalog import Catalog
from dashapp.data.distinct import distinct_values
from dashapp.data.filters import GridRequestError
from dashapp.data.grid_service import fetch_block
from dashapp.data.grouping import fetch_groups, group_filters
from dashapp.data.links import merge_filters, parse_query
from dashapp.data.profile import column_profile
from dashapp.data.views import ViewError, check_name, check_view
from dashapp.db import make_engine
from tests.grid_fixtures import TABLE, build_mixed

KEY = f"main.{TABLE}"
BLOCK = {"startRow": 0, "endRow": 10}


@pytest.fixture(scope="module")
def cat(tmp_path_factory) -> Catalog:
    url = f"sqlite:///{tmp_path_factory.mktemp('xh') / 'h.sqlite'}"
    build_mixed(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sql("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)"))
    engine.dispose()
    catalog = Catalog(make_engine(url, read_only=True))
    assert isinstance(catalog.table("main.blobs").table.c.data.type, LargeBinary)
    return catalog


def no_sql(cat: Catalog, call: Callable[[], Any]) -> str:
    """The message ``call`` is refused with; fails if it ran any SQL."""
    cat.table(KEY)  # reflect first: reflection is not part of the request
    cat.table("main.blobs")
    seen: list[str] = []
    listener = lambda *a: seen.append(a[2])  # noqa: E731
    event.listen(cat.engine, "before_cursor_execute", listener)
    try:
        with pytest.raises(GridRequestError) as err:
            call()
    finally:
        event.remove(cat.engine, "before_cursor_execute", listener)
    assert seen == []
    return str(err.value)


def sets(column: str, values: Any) -> dict[str, Any]:
    return {"filterModel": {column: {"filterType": "set", "values": values}}}


SET_FILTERS: list[tuple[dict[str, Any], str]] = [
    (sets("nope", ["a"]), "no such column"),
    (sets("Name; DROP TABLE x", ["a"]), "no such column"),
    (sets("Name", "alpha"), "'values' must be a list"),
    (sets("Name", {"$in": ["a"]}), "'values' must be a list"),
    (sets("Name", ["a"] * 1001), "at most 1,000 values"),
    (sets("Name", ["a\x00b"]), "NUL character"),
    (sets("Name", ["x" * 5000]), "longer than 4,000 characters"),
    (sets("Name", [["nested", ["junk"]]]), "must be text, numbers, true/false or null"),
    (sets("Name", [{"a": 1}]), "must be text, numbers, true/false or null"),
    (sets("Name", [True]), "is not a text value"),
    (sets("select", ["1 OR 1=1"]), "is not a number"),
    (sets("select", [True]), "is not a number value"),
    (sets("select", [float("inf")]), "not a finite number"),
    (sets("select", [2**70 + 1]), "beyond the numbers this database compares exactly"),
    (sets("flag", ["true"]), "is not true or false"),
    (sets("flag", [1]), "is not true or false"),
    (sets("day", [20240101]), "is not a date as text"),
    ({"filterModel": {"data": {"filterType": "set", "values": [None]}}}, "cannot take a set"),
    (
        {
            "filterModel": {
                "Name": {
                    "operator": "AND",
                    "conditions": [
                        {"operator": "OR", "conditions": [{"operator": "OR", "conditions": []}]}
                    ],
                }
            }
        },
        "cannot take a None filter",
    ),
]


@pytest.mark.parametrize(("patch", "message"), SET_FILTERS)
def test_xh001_set_filters_refused_before_sql(cat: Catalog, patch, message: str) -> None:
    key = "main.blobs" if "data" in patch["filterModel"] else KEY
    assert message in no_sql(cat, lambda: fetch_block(cat, key, {**BLOCK, **patch}))


def test_xh002_set_filters_from_the_browser_store_must_be_an_object() -> None:
    with pytest.raises(GridRequestError, match="set filters must be an object"):
        merge_filters({}, ["Name", ["a"]])
    with pytest.raises(GridRequestError, match="set filters must be an object"):
        merge_filters({}, "Name")


VALUE_LISTS: list[tuple[dict[str, Any], str]] = [
    ({"column": "nope"}, "no such column"),
    ({"column": None}, "no such column"),
    ({"column": ["Name"]}, "no such column"),
    ({"column": "Name", "search": 5}, "the search must be text"),
    ({"column": "Name", "search": "a\x00"}, "NUL character"),
    ({"column": "Name", "search": "x" * 2000}, "at most 1000 characters"),
    ({"column": "Name", "request": "junk"}, "the view must be an object"),
    ({"column": "Name", "request": sets("Name", "x")}, "'values' must be a list"),
    ({"column": "Name", "request": sets("nope", ["x"])}, "no such column"),
]


@pytest.mark.parametrize(("args", "message"), VALUE_LISTS)
def test_xh003_value_lists_refused_before_sql(cat: Catalog, args, message: str) -> None:
    def call() -> Any:
        return distinct_values(
            cat,
            KEY,
            args["column"],
            args.get("request", {}),
            search=args.get("search", ""),
        )

    # The column's own set filter is not applied to its list, so a bad one of another
    # column is what gets refused.
    if args.get("request") == sets("Name", "x"):
        args = {**args, "column": "select"}
    assert message in no_sql(cat, call)


def test_xh004_binary_columns_have_no_value_list(cat: Catalog) -> None:
    assert "a binary column" in no_sql(cat, lambda: distinct_values(cat, "main.blobs", "data", {}))


GROUPINGS: list[tuple[Any, str]] = [
    ("event_type", "must be an object"),
    (["Name"], "must be an object"),
    ({"by": "Name"}, "choose 1 to 3 columns"),
    ({"by": []}, "choose 1 to 3 columns"),
    ({"by": ["Name", "select", "day", "flag"]}, "choose 1 to 3 columns"),
    ({"by": ["nope"]}, "no such column"),
    ({"by": [{"nested": "junk"}]}, "no such column"),
    ({"by": ["Name", "Name"]}, "chosen twice"),
    ({"by": ["Name"], "having": "1=1"}, "unknown key 'having'"),
    ({"by": ["Name"], "aggs": "count"}, "at most 10 aggregates"),
    ({"by": ["Name"], "aggs": [{"fn": "count"}] * 11}, "at most 10 aggregates"),
    ({"by": ["Name"], "aggs": [{"fn": "median", "col": "select"}]}, "unknown aggregate"),
    ({"by": ["Name"], "aggs": [{"fn": "sum", "col": "Name"}]}, "not a number column"),
    ({"by": ["Name"], "aggs": [{"fn": "sum", "col": "nope"}]}, "no such column"),
    ({"by": ["Name"], "aggs": [{"fn": "count", "col": "select"}]}, "count takes no column"),
    ({"by": ["Name"], "aggs": [{"fn": "sum", "col": "select", "x": 1}]}, "each aggregate"),
    ({"by": ["Name"], "aggs": [["sum", "select"]]}, "each aggregate"),
    ({"by": ["Name"], "aggs": [{"fn": "count"}, {"fn": "count"}]}, "chosen twice"),
]


@pytest.mark.parametrize(("spec", "message"), GROUPINGS)
def test_xh005_groupings_refused_before_sql(cat: Catalog, spec, message: str) -> None:
    assert message in no_sql(cat, lambda: fetch_groups(cat, KEY, spec, BLOCK))


@pytest.mark.parametrize(
    ("request_patch", "message"),
    [
        ({"sortModel": [{"colId": "Name", "sort": "asc"}]}, "cannot sort groups by 'Name'"),
        ({"sortModel": [{"colId": "key0", "sort": "up"}]}, "in direction"),
        ({"sortModel": "key0"}, "must be a list"),
        ({"endRow": 10**7}, "a block must be"),
        (sets("Name", [{"x": 1}]), "must be text, numbers"),
    ],
)
def test_xh006_grouped_blocks_refused_before_sql(cat: Catalog, request_patch, message) -> None:
    spec = {"by": ["Name"]}
    assert message in no_sql(cat, lambda: fetch_groups(cat, KEY, spec, {**BLOCK, **request_patch}))


def test_xh007_a_group_to_open_must_be_one(cat: Catalog) -> None:
    for spec, row in [
        ({"by": ["Name"]}, "row"),
        ({"by": ["Name"]}, {"other": 1}),
        ({"by": "Name"}, {"key0": "a"}),
        (None, {"key0": "a"}),
    ]:
        with pytest.raises(GridRequestError, match="not a group to open"):
            group_filters(spec, row)


@pytest.mark.parametrize(
    ("column", "request_", "message"),
    [
        ("nope", {}, "no such column"),
        (7, {}, "no such column"),
        ("Name", "junk", "the view must be an object"),
        ("Name", {"quick": ["x"]}, "quick search must be text"),
        ("Name", sets("day", [1.5]), "is not a date as text"),
    ],
)
def test_xh008_profiles_refused_before_sql(cat: Catalog, column, request_, message) -> None:
    assert message in no_sql(cat, lambda: column_profile(cat, KEY, column, request_))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "Give the view a name"),
        ("   ", "Give the view a name"),
        (["a"], "Give the view a name"),
        ("x" * 121, "at most 120 characters"),
        ("a\x00b", "control characters"),
        ("bell\x07", "control characters"),
    ],
)
def test_xh009_view_names(name, message: str) -> None:
    with pytest.raises(ViewError, match=message):
        check_name(name)


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (None, "There is no view to save"),
        ("main.events", "There is no view to save"),
        ({"filter": {}}, "Choose a table first"),
        ({"table": KEY, "filter": "x"}, "filter is not readable"),
        ({"table": KEY, "columns": [1, 2]}, "columns are not readable"),
        ({"table": KEY, "sets": {"Name": ["a" * 3000] * 30}}, "too large to save"),
        ({"table": "main.nope"}, "there is no table"),
        ({"table": KEY, "sets": {"nope": ["a"]}}, "no such column"),
        ({"table": KEY, "group": {"by": ["nope"]}}, "no such column"),
        ({"table": KEY, "columns": ["id", "gone"]}, "columns the table does not have"),
        ({"table": KEY, "chart": "gone"}, "chart column is not in the table"),
        ({"table": KEY, "quick": "a\x00"}, "NUL character"),
    ],
)
def test_xh010_views_refused_when_saved(cat: Catalog, view, message: str) -> None:
    with pytest.raises(ViewError, match=message):
        check_view(cat, view)


def test_xh011_hostile_links_are_read_or_named_never_raised() -> None:
    state = parse_query(
        {
            "table": "main.events",
            "cols": '["a", {"b": 1}]',
            "group": "[1, 2]",
            "view": "../../etc/passwd",
            "filter": '{"a": {"filterType": "set", "values": "x"}}',
            "chart": "x" * 5000,
        }
    )
    assert state["columns"] is None
    assert state["group"] is None
    assert "view_id" not in state
    assert state["sets"] == {"a": "x"}  # refused by name when the rows are asked for
    assert len(state["chart"]) == 1000
    assert sorted(state["warnings"]) == [
        "ignored an unreadable cols in the link",
        "ignored an unreadable group in the link",
        "ignored an unreadable saved view id in the link",
    ]
    huge = parse_query({"filter": "{" + " " * 200_000 + "}"})
    assert huge["warnings"] == ["ignored an unreadable filter in the link"]


def test_xh012_the_header_menu_script_names_the_panels_ids() -> None:
    """assets/dashapp.js opens the column panel by id: those ids are the ones in ids.py."""
    from components.ids import Data
    from tests.conftest import ROOT

    script = (ROOT / "assets" / "dashapp.js").read_text()
    assert f'"{Data.PANEL_COLUMN}"' in script
    assert f'"{Data.COLUMN_PANEL}"' in script
