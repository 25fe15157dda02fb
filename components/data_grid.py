"""The Data page's grids: a table's, and a grouped view's; rows come from SQL block by block."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
from dash import html

from components.ids import Data
from dashapp.data.catalog import BINARY, BOOL, DATE, DATETIME, JSONISH, NUMBER, TableInfo
from dashapp.data.filters import (
    BLANK_OPERATORS,
    DATE_OPERATORS,
    NUMBER_OPERATORS,
    TEXT_OPERATORS,
)
from dashapp.data.grouping import Grouping

BLOCK_SIZE = 100
# The menus offer exactly what the server implements (dashapp.data.filters).
TEXT_OPTIONS = [*TEXT_OPERATORS, *BLANK_OPERATORS]
NUMBER_OPTIONS = [*NUMBER_OPERATORS, *BLANK_OPERATORS]
DATE_OPTIONS = [*DATE_OPERATORS, *BLANK_OPERATORS]
# Custom options need a predicate to pass AG Grid's check; rows are filtered in SQL, so
# the predicate is never called.
BOOL_OPTIONS: list[Any] = [
    {"displayKey": "true", "displayName": "True", "predicate": "sql", "numberOfInputs": 0},
    {"displayKey": "false", "displayName": "False", "predicate": "sql", "numberOfInputs": 0},
    "blank",
    "notBlank",
]
WIDTHS = {NUMBER: 120, DATE: 125, DATETIME: 175, BOOL: 105, BINARY: 140}
NULL_AWARE = {"function": "dashappFormat(params)"}
# What the table's grid and a grouped grid share.
GRID_OPTIONS: dict[str, Any] = {
    "cacheBlockSize": BLOCK_SIZE,
    "maxBlocksInCache": 50,
    # With two requests in flight a block can stay blank for good (measured).
    "maxConcurrentDatasourceRequests": 1,
    "infiniteInitialRowCount": 1,
    "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
    "tooltipShowDelay": 400,
    "multiSortKey": "ctrl",
    "rowHeight": 34,
    "headerHeight": 38,
    # Column names are names, never paths: "a.b" is a column, not b inside a.
    "suppressFieldDotNotation": True,
}
GRID_STYLE = {"height": "calc(100vh - 300px)", "minHeight": "360px", "width": "100%"}


def block_deadline_ms(statement_timeout_s: float) -> int:
    """How long the browser waits for one block before it gives up on it and retries.

    A block runs up to three statements (rows, the view's count, the table's count), each
    within the statement time limit, plus a connect (5 s at most): a request past that is
    lost.
    """
    return int((3 * statement_timeout_s + 5) * 1000)


def column_defs(
    info: TableInfo, sort: list[Any], visible: list[str] | None = None
) -> list[dict[str, Any]]:
    """AG Grid column definitions from reflected columns, with the linked sort applied.

    ``visible``: the columns shown (None: all).
    """
    sort_of = {
        s.get("colId"): (i, s.get("sort"))
        for i, s in enumerate(sort)
        if isinstance(s, dict) and s.get("sort") in ("asc", "desc")
    }
    defs = []
    for i, col in enumerate(info.columns):
        d: dict[str, Any] = {
            "field": col.name,
            "colId": col.name,
            "headerName": col.name,
            "headerTooltip": f"{col.name}: {col.sql_type}"
            + (" (key)" if col.primary_key else "")
            + " · right-click for its values and profile",
            "valueFormatter": NULL_AWARE,
            "cellClassRules": {"cell-null": "params.value === null"},
            "cellDataType": False,
            "filter": "agTextColumnFilter",
            "filterParams": {"filterOptions": TEXT_OPTIONS, "maxNumConditions": 2},
            "tooltipField": col.name,
        }
        if col.kind == NUMBER:
            d.update(
                type="rightAligned",
                filter="agNumberColumnFilter",
                filterParams={"filterOptions": NUMBER_OPTIONS, "inRangeInclusive": True},
            )
        elif col.kind in (DATE, DATETIME):
            d.update(
                filter="agDateColumnFilter",
                filterParams={"filterOptions": DATE_OPTIONS, "inRangeInclusive": True},
            )
        elif col.kind == BOOL:
            d.update(filterParams={"filterOptions": BOOL_OPTIONS, "maxNumConditions": 1})
        elif col.kind in (JSONISH, BINARY):
            d["sortable"] = False
            if col.kind == BINARY:
                d["filterParams"] = {"filterOptions": ["blank", "notBlank"]}
        # Set after the kind: an explicit cellClass replaces the one a column type brings.
        d["cellClass"] = [f"cell-{col.kind}"]
        if col.kind == NUMBER:
            d["cellClass"].append("ag-right-aligned-cell")
            d["headerClass"] = "ag-right-aligned-header"
        d["width"] = max(WIDTHS.get(col.kind, 160), min(320, 60 + 8 * len(col.name)))
        if i == 0:
            d["pinned"] = "left"
        if col.name in sort_of:
            d["sortIndex"], d["sort"] = sort_of[col.name]
        if visible is not None and col.name not in visible:
            d["hide"] = True
        defs.append(d)
    return defs


def grid_frame(
    info: TableInfo,
    state: dict[str, Any],
    deadline_ms: int,
    key: str | None = None,
    explore: dict[str, Any] | None = None,
) -> html.Div:
    """The grid, in a frame telling the browser how long a block may take (dashapp.js)."""
    return frame(grid(info, state, key, explore), deadline_ms)


def frame(grid: dag.AgGrid, deadline_ms: int) -> html.Div:
    """A grid in its frame (``data-block-deadline-ms``: how long the browser waits a block)."""
    attrs: dict[str, Any] = {"data-block-deadline-ms": str(deadline_ms)}
    return html.Div(grid, **attrs)


def grid_context(key: str, explore: dict[str, Any] | None) -> dict[str, Any]:
    """What every block request of a grid carries (AG Grid's ``context``).

    The table (as the picker names it, ``[source:]schema.table``) and the view's set filters
    and grouping (``callbacks.data_explore.explore_store``): the rows callback then reads no
    other component. Dash holds back a callback whose state another one still computes, and
    the picker's list of tables (or the callback that opened the table) took the first rows
    ~0.7 s back that way. A grid is built anew whenever either changes.
    """
    return {"table": key, "explore": explore or {}}


def grid(
    info: TableInfo,
    state: dict[str, Any],
    key: str | None = None,
    explore: dict[str, Any] | None = None,
) -> dag.AgGrid:
    """A fresh infinite-model grid for one table (a new grid resets its block cache).

    ``key``: the table as the picker names it (default: its own key); ``explore``: the set
    filters and grouping its block requests carry (``grid_context``).
    """
    filter_model = state.get("filter") if state.get("table") == info.key else {}
    sort = state.get("sort") if state.get("table") == info.key else []
    visible = state.get("columns") if state.get("table") == info.key else None
    return dag.AgGrid(
        id=Data.GRID,
        columnDefs=column_defs(info, sort or [], visible),
        defaultColDef={"resizable": True, "sortable": True, "minWidth": 80},
        rowModelType="infinite",
        filterModel=filter_model or {},
        dashGridOptions={
            **GRID_OPTIONS,
            "context": grid_context(key or info.key, explore),
            "enableCellTextSelection": True,
            # Render every column of narrow tables (wide ones keep virtualisation).
            "suppressColumnVirtualisation": len(info.columns) <= 40,
        },
        className="dashapp-grid",
        style=GRID_STYLE,
    )


def grouped_grid(
    grouping: Grouping, deadline_ms: int, key: str, explore: dict[str, Any]
) -> html.Div:
    """The grid of a grouped view: keys then aggregates, sortable; click a group to open it."""
    defs: list[dict[str, Any]] = []
    for i, name in enumerate(grouping.by):
        defs.append(
            {
                "field": f"key{i}",
                "colId": f"key{i}",
                "headerName": name,
                "headerTooltip": f"{name} (group key): click a row to open its rows",
                "valueFormatter": NULL_AWARE,
                "cellClassRules": {"cell-null": "params.value === null"},
                "tooltipField": f"key{i}",
                "pinned": "left" if i == 0 else None,
                "width": 180,
            }
        )
    for i, agg in enumerate(grouping.aggregates):
        defs.append(
            {
                "field": f"agg{i}",
                "colId": f"agg{i}",
                "headerName": agg.label,
                "valueFormatter": NULL_AWARE,
                "type": "rightAligned",
                "cellClass": ["cell-number", "ag-right-aligned-cell"],
                "headerClass": "ag-right-aligned-header",
                "width": 150,
            }
        )
    grid = dag.AgGrid(
        id=Data.GRID,
        columnDefs=defs,
        defaultColDef={"resizable": True, "sortable": True, "filter": False, "minWidth": 80},
        rowModelType="infinite",
        dashGridOptions={**GRID_OPTIONS, "context": grid_context(key, explore)},
        className="dashapp-grid grouped",
        style=GRID_STYLE,
    )
    return frame(grid, deadline_ms)
