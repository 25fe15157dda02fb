"""The Data page's exploring callbacks through Dash: set filters, groups, chips, profile, views.

Hostile stores and inputs (what a browser, or anyone posting to Dash, can send) get a
message in the page and a 200, never a 500 or a traceback.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from callbacks import data_explore as cbx
from components.ids import Data
from dashapp.app import deps_of
from dashapp.data.view_state import EMPTY
from tests.callbacks.helpers import post_callback

REQ = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
GROUP = {"by": ["event_type"], "aggs": [{"fn": "count"}, {"fn": "max", "col": "duration_ms"}]}


def demo(app) -> sqlite3.Connection:
    return sqlite3.connect(deps_of(app).settings.demo_db_path)


def rows_call(client, request, explore, quick=""):
    """A block request of a grid whose context carries ``explore`` (as the page builds it)."""
    context = {"table": "main.events", "explore": explore}
    status, body = post_callback(
        client,
        "/",
        f"{Data.GRID}.getRowsResponse",
        {
            f"{Data.GRID}.getRowsRequest": {**request, "context": context},
            f"{Data.QUICK}.value": quick,
        },
    )
    assert status == 200, body
    return body["response"]


def test_cx001_block_requests_apply_set_filters_and_groups(app, client) -> None:
    db = demo(app)
    explore = {"sets": {"event_type": ["login", "error"], "message": [None]}}
    resp = rows_call(client, REQ, explore)
    want = db.execute(
        "SELECT count(*) FROM events WHERE event_type IN ('login', 'error') AND message IS NULL"
    ).fetchone()[0]
    assert resp[Data.GRID]["getRowsResponse"]["rowCount"] == want
    shown = resp[Data.GRID]["getRowsResponse"]["rowData"]
    assert {r["event_type"] for r in shown} <= {"login", "error"}
    assert {r["message"] for r in shown} == {None}
    # Grouped: the grid's own (base) filter, the set filters and the search all apply.
    base = {"duration_ms": {"filterType": "number", "type": "greaterThan", "filter": 100}}
    explore = {"filter": base, "sets": {"country": ["DE", "FR"]}, "group": GROUP}
    resp = rows_call(client, {**REQ, "sortModel": [{"colId": "agg0", "sort": "desc"}]}, explore)
    expected = db.execute(
        "SELECT event_type, count(*), max(duration_ms) FROM events WHERE duration_ms > 100"
        " AND country IN ('DE', 'FR') GROUP BY event_type ORDER BY 2 DESC, 1"
    ).fetchall()
    rows = resp[Data.GRID]["getRowsResponse"]["rowData"]
    assert [(r["key0"], r["agg0"], r["agg1"]) for r in rows] == [tuple(e) for e in expected]
    total = sum(e[1] for e in expected)
    assert (
        resp[Data.STATUS]["children"]
        == f"Groups 1–{len(expected)} of {len(expected)} ({total:,} rows)"
    )


@pytest.mark.parametrize(
    ("explore", "message"),
    [
        ({"sets": ["event_type", "login"]}, "set filters must be an object"),
        ({"sets": {"event_type": "login"}}, "'values' must be a list"),
        ({"sets": {"event_type": [{"$ne": 1}]}}, "must be text, numbers"),
        ({"sets": {"event_type": ["a"] * 5000}}, "at most 1,000 values"),
        ({"sets": {"event_type": ["a\x00"]}}, "NUL character"),
        ({"sets": {"nope; DROP TABLE events": ["a"]}}, "no such column"),
        ({"group": {"by": ["nope"]}}, "no such column"),
        (
            {"group": {"by": ["event_type"], "aggs": [{"fn": "sum", "col": "message"}]}},
            "not a number",
        ),
        ({"group": "event_type"}, "must be an object"),
        ({"group": GROUP, "filter": "junk"}, "must be an object"),
    ],
)
def test_cx002_hostile_explore_stores_answer_a_message(client, explore, message) -> None:
    resp = rows_call(client, REQ, explore)
    assert resp[Data.GRID]["getRowsResponse"] == {"rowData": [], "rowCount": 0}
    assert message in resp[Data.GRID_ERROR]["children"]
    assert resp[Data.GRID_ERROR]["is_open"] is True


def act_call(client, trigger: str, **values: Any) -> dict[str, Any]:
    """Post one action of the page (the callback that closes the column panel)."""
    view = {**EMPTY, "table": "main.events", **values.pop("view", {})}
    state = {
        f"{Data.PICKER}.value": "main.events",
        f"{Data.VIEW}.data": view,
        f"{Data.QUICK}.value": view["quick"],
        **{f"{k}": v for k, v in values.items()},
    }
    status, body = post_callback(
        client, "/", f"{Data.COLUMN_PANEL}.is_open@", {f"{trigger}.n_clicks": 1, **state}
    )
    assert status == 200, body
    return body["response"]


def test_cx003_applying_a_set_filter_rebuilds_the_grid_with_it(client) -> None:
    resp = act_call(
        client,
        Data.SET_APPLY,
        **{
            f"{Data.PANEL_COLUMN}.value": "message",
            f"{Data.SET_LIST}.value": [json.dumps("ok"), json.dumps(None)],
        },
    )
    assert resp[Data.EXPLORE]["data"]["sets"] == {"message": ["ok", None]}
    assert resp[Data.GRID_BOX]["children"]["props"]["children"]["props"]["id"] == Data.GRID
    assert resp[Data.COLUMN_PANEL]["is_open"] is False
    # Grouping, then ungrouping, keep the set filter and the search.
    view = {"sets": {"message": ["ok"]}, "quick": "x"}
    resp = act_call(
        client,
        Data.GROUP_APPLY,
        view=view,
        **{
            f"{Data.GROUP_BY}.value": ["event_type", "country"],
            f"{Data.GROUP_AGGS}.value": [
                json.dumps(["count", None]),
                json.dumps(["avg", "cost_usd"]),
            ],
        },
    )
    explore = resp[Data.EXPLORE]["data"]
    assert explore["group"] == {
        "by": ["event_type", "country"],
        "aggs": [{"fn": "count"}, {"fn": "avg", "col": "cost_usd"}],
    }
    assert explore["sets"] == {"message": ["ok"]}
    assert "Computing groups by event_type, country" in resp[Data.STATUS]["children"]
    grid = resp[Data.GRID_BOX]["children"]["props"]["children"]["props"]
    assert [c["headerName"] for c in grid["columnDefs"]] == [
        "event_type",
        "country",
        "count",
        "average of cost_usd",
    ]
    resp = act_call(client, Data.CLEAR_ALL, view={**view, "group": GROUP})
    assert resp[Data.EXPLORE]["data"] == {"filter": {}, "sort": [], "sets": {}, "group": None}
    assert resp[Data.QUICK]["value"] == ""


@pytest.mark.parametrize(
    ("trigger", "values", "message"),
    [
        (Data.SET_APPLY, {f"{Data.SET_LIST}.value": ['"ok"']}, "choose a column first"),
        (
            Data.SET_APPLY,
            {f"{Data.PANEL_COLUMN}.value": "message", f"{Data.SET_LIST}.value": "ok"},
            "not readable",
        ),
        (
            Data.SET_APPLY,
            {f"{Data.PANEL_COLUMN}.value": "message", f"{Data.SET_LIST}.value": ["{nope"]},
            "not readable",
        ),
        (
            Data.SET_APPLY,
            {f"{Data.PANEL_COLUMN}.value": "message", f"{Data.SET_LIST}.value": ['[["x"]]']},
            "must be text, numbers",
        ),
        (
            Data.SET_APPLY,
            {f"{Data.PANEL_COLUMN}.value": "nope", f"{Data.SET_LIST}.value": ['"x"']},
            "no such column",
        ),
        (
            Data.SET_APPLY,
            {f"{Data.PANEL_COLUMN}.value": "id", f"{Data.SET_LIST}.value": ['"x"'] * 1001},
            "at most 1,000 values",
        ),
        (Data.GROUP_APPLY, {f"{Data.GROUP_BY}.value": []}, "choose one to three columns"),
        (
            Data.GROUP_APPLY,
            {f"{Data.GROUP_BY}.value": ["id"], f"{Data.GROUP_AGGS}.value": ["junk", 5]},
            "unknown aggregate",
        ),
        (Data.GROUP_APPLY, {f"{Data.GROUP_BY}.value": [["id"]]}, "no such column"),
    ],
)
def test_cx004_hostile_actions_are_not_applied_and_say_why(client, trigger, values, message):
    resp = act_call(client, trigger, **values)
    assert message in resp[Data.GRID_ERROR]["children"]
    assert resp[Data.GRID_ERROR]["is_open"] is True
    assert Data.GRID_BOX not in resp  # the grid is left as it was


def test_cx005_chips_and_the_actions_behind_them() -> None:
    view = {
        **EMPTY,
        "table": "main.events",
        "filter": {"id": {"filterType": "number", "type": "inRange", "filter": 1, "filterTo": 9}},
        "sets": {"country": ["DE", "FR", "GB", "IN", None]},
        "quick": "x" * 100,
        "group": {"by": ["country"]},
    }
    from dashapp.data.view_state import chips

    assert chips(view) == [
        ("filter:id", "id between 1 and 9"),
        ("set:country", "country in “DE”, “FR”, “GB” +2"),
        ("quick", f"search “{'x' * 59}…”"),
        ("group", "grouped by country"),
    ]
    for key, gone in (("filter:id", "filter"), ("set:country", "sets"), ("quick", "quick")):
        after = cbx.act({"type": "data-chip", "key": key}, view, {})
        assert not after[gone]
        assert [k for k, _ in chips(after)] == [k for k, _ in chips(view) if k != key]
    assert cbx.act({"type": "data-chip", "key": "group"}, view, {})["group"] is None
    assert cbx.act({"type": "data-chip", "key": "junk:x"}, view, {}) == view


def test_cx006_value_lists_and_profiles_through_dash(client) -> None:
    view = {**EMPTY, "table": "main.events", "sets": {"event_type": ["login"]}}
    values = {
        f"{Data.PANEL_COLUMN}.value": "event_type",
        f"{Data.SET_SEARCH}.value": "",
        f"{Data.COLUMN_PANEL}.is_open": True,
        f"{Data.PICKER}.value": "main.events",
        f"{Data.VIEW}.data": view,
    }
    status, body = post_callback(client, "/", f"{Data.SET_LIST}.options", values)
    assert status == 200
    resp = body["response"]
    assert len(resp[Data.SET_LIST]["options"]) == 8  # its own set filter is not applied
    assert resp[Data.SET_LIST]["value"] == ['"login"']
    assert "8 values · rows in the current view" in resp[Data.SET_NOTE]["children"]
    for patch, message in (
        ({f"{Data.PANEL_COLUMN}.value": "nope"}, "no such column"),
        ({f"{Data.PANEL_COLUMN}.value": {"a": 1}}, "no such column"),
        ({f"{Data.SET_SEARCH}.value": "a\x00"}, "NUL character"),
        ({f"{Data.SET_SEARCH}.value": ["a"]}, "the search must be text"),
        ({f"{Data.VIEW}.data": {**view, "sets": {"x": "y"}}}, "no such column"),
    ):
        status, body = post_callback(client, "/", f"{Data.SET_LIST}.options", {**values, **patch})
        assert status == 200
        assert message in json.dumps(body["response"][Data.SET_NOTE]["children"])
    profile = {
        f"{Data.PANEL_COLUMN}.value": "duration_ms",
        f"{Data.PANEL_TABS}.active_tab": "profile",
        f"{Data.COLUMN_PANEL}.is_open": True,
        f"{Data.PICKER}.value": "main.events",
        f"{Data.VIEW}.data": view,
    }
    status, body = post_callback(client, "/", f"{Data.PROFILE_BODY}.children", profile)
    text = json.dumps(body["response"])
    assert status == 200
    assert "Rows in view" in text
    assert "Histogram" in text
    for column in ("nope", 5, None):
        patch = {f"{Data.PANEL_COLUMN}.value": column}
        status, body = post_callback(
            client, "/", f"{Data.PROFILE_BODY}.children", {**profile, **patch}
        )
        assert status == 200
        text = json.dumps(body["response"])
        assert "no such column" in text or "Choose a column" in text


def test_cx009_a_link_with_a_bad_grouping_shows_rows_and_says_why(app) -> None:
    from callbacks.data_open import show_table

    catalog = deps_of(app).catalog
    state = {"table": "main.events", "group": {"by": ["nope"]}, "sets": {"country": ["DE"]}}
    out = show_table(catalog, "main.events", state)
    assert out["note"] == "Grouping not applied: cannot group by 'nope': no such column"
    assert out["explore"]["group"] is None
    assert out["explore"]["sets"] == {"country": ["DE"]}
    state = {"table": "main.events", "group": GROUP, "columns": ["id", "gone"], "chart": "gone"}
    out = show_table(catalog, "main.events", state)
    assert out["explore"]["group"] == GROUP
    assert out["visible"] == ["id"]
    assert out["chart"] is None
