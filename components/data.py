"""The Data page: a table picker and an AG Grid whose rows come from SQL block by block."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.common import aria, dropdown, icon, page_header, small_button, stack_item
from components.ids import Data
from dashapp.data.catalog import BINARY, BOOL, DATE, DATETIME, JSONISH, NUMBER, TableInfo
from dashapp.data.filters import (
    BLANK_OPERATORS,
    DATE_OPERATORS,
    NUMBER_OPERATORS,
    TEXT_OPERATORS,
)
from dashapp.data.links import parse_query

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
# The characters Plotly reads as markup in labels (``<b>``, ``<a href>``, ``&lt;``).
PLOTLY_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def plotly_literal(value: str) -> str:
    """Text that Plotly shows as it is: its pseudo-HTML tags and entities escaped."""
    return value.translate(PLOTLY_ESCAPES)


def block_deadline_ms(statement_timeout_s: float) -> int:
    """How long the browser waits for one block before it gives up on it and retries.

    A block runs up to three statements (rows, the view's count, the table's count), each
    within the statement time limit, plus a connect (5 s at most): a request past that is
    lost.
    """
    return int((3 * statement_timeout_s + 5) * 1000)


def column_defs(info: TableInfo, sort: list[Any]) -> list[dict[str, Any]]:
    """AG Grid column definitions from reflected columns, with the linked sort applied."""
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
            "headerTooltip": f"{col.name}: {col.sql_type}" + (" (key)" if col.primary_key else ""),
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
        defs.append(d)
    return defs


def grid_frame(
    info: TableInfo, state: dict[str, Any], deadline_ms: int, key: str | None = None
) -> html.Div:
    """The grid, in a frame telling the browser how long a block may take (dashapp.js)."""
    frame: dict[str, Any] = {"data-block-deadline-ms": str(deadline_ms)}
    return html.Div(grid(info, state, key), **frame)


def grid(info: TableInfo, state: dict[str, Any], key: str | None = None) -> dag.AgGrid:
    """A fresh infinite-model grid for one table (a new grid resets its block cache).

    ``key``: the table as the picker names it (``[source:]schema.table``; default: its own
    key). Every block request carries it (AG Grid's ``context``), so the rows callback reads
    no other component: Dash holds back a callback whose state another one still computes,
    and the picker's list of tables took the first rows ~0.7 s back that way.
    """
    filter_model = state.get("filter") if state.get("table") == info.key else {}
    sort = state.get("sort") if state.get("table") == info.key else []
    return dag.AgGrid(
        id=Data.GRID,
        columnDefs=column_defs(info, sort or []),
        defaultColDef={"resizable": True, "sortable": True, "minWidth": 80},
        rowModelType="infinite",
        filterModel=filter_model or {},
        dashGridOptions={
            "cacheBlockSize": BLOCK_SIZE,
            "maxBlocksInCache": 50,
            # With two requests in flight a block can stay blank for good (measured).
            "maxConcurrentDatasourceRequests": 1,
            "infiniteInitialRowCount": 1,
            "context": {"table": key or info.key},
            "rowSelection": {
                "mode": "singleRow",
                "checkboxes": False,
                "enableClickSelection": True,
            },
            "tooltipShowDelay": 400,
            "enableCellTextSelection": True,
            "multiSortKey": "ctrl",
            "rowHeight": 34,
            # Render every column of narrow tables (wide ones keep virtualisation).
            "suppressColumnVirtualisation": len(info.columns) <= 40,
            "headerHeight": 38,
            # Column names are names, never paths: "a.b" is a column, not b inside a.
            "suppressFieldDotNotation": True,
        },
        className="dashapp-grid",
        style={"height": "calc(100vh - 300px)", "minHeight": "360px", "width": "100%"},
    )


def chart_graph(figure: Any) -> dcc.Graph:
    """The quick chart of the chosen column."""
    return dcc.Graph(
        id=Data.CHART, figure=figure, style={"height": "260px"}, config={"displaylogo": False}
    )


def table_panel(info: TableInfo) -> html.Div:
    """Columns and types of the chosen table."""
    rows = [
        html.Tr(
            [
                html.Td(
                    [c.name, " ", icon("key-fill", class_name="text-warning")]
                    if c.primary_key
                    else c.name
                ),
                html.Td(c.sql_type, className="text-body-secondary"),
            ]
        )
        for c in info.columns
    ]
    kind = "view" if info.is_view else "table"
    return html.Div(
        [
            html.Div(
                f"{len(info.columns)} columns · {kind}", className="small text-body-secondary mb-1"
            ),
            dbc.Table(html.Tbody(rows), size="sm", className="small mb-0 table-columns"),
        ]
    )


def export_buttons() -> dbc.ButtonGroup:
    """CSV, and beside it a menu of the forms for Excel (links kept current by dashapp.js)."""
    excel = [
        dbc.DropdownMenuItem(
            "CSV for Excel (UTF-8 with byte-order mark)",
            id=Data.EXPORT_EXCEL_CSV,
            href="#",
            external_link=True,
        ),
        dbc.DropdownMenuItem(
            "Excel workbook (.xlsx)", id=Data.EXPORT_XLSX, href="#", external_link=True
        ),
    ]
    return dbc.ButtonGroup(
        [
            small_button(
                "download",
                "CSV",
                id=Data.EXPORT,
                href="#",
                external_link=True,
                color="secondary",
                title="Download the filtered, sorted view as CSV",
            ),
            dbc.DropdownMenu(
                excel,
                label=[icon("file-earmark-spreadsheet", class_name="me-1"), "Excel"],
                group=True,
                size="sm",
                # Outlined like the buttons beside it (without a colour the toggle is also
                # "primary", whose background the outline class does not reset).
                toggle_class_name="btn-outline-secondary",
                toggle_style={"--bs-btn-bg": "transparent"},
                align_end=True,
            ),
        ],
        size="sm",
    )


def layout(shown: dict[str, Any] | None = None, /, **query: str) -> html.Div:
    """Build the Data page; ``query`` is the shared link's state.

    ``shown``: the linked table opened already (``callbacks.data.show_table``): its grid and
    columns come with the page, so its first rows need no callback round trip before them.
    """
    state = parse_query(query)
    reserve = " reserve" if state["table"] else ""
    if shown is not None:
        state["shown"] = state["table"]  # the picker's callback leaves it as it is
    picker = dbc.Card(
        dbc.CardBody(
            [
                dbc.Label("Table", html_for=Data.PICKER, className="fw-semibold small"),
                dropdown(
                    id=Data.PICKER,
                    # The linked table loads at once, while the list of tables is fetched.
                    # (Dash 4 drops a value that is not among the options, hence one option.)
                    value=state["table"],
                    options=[state["table"]] if state["table"] else [],
                    placeholder="Search tables and views…",
                    clearable=False,
                    optionHeight=48,
                ),
                # With a table in the link, its column list and grid take their room at once
                # (CSS: ``.reserve:empty``), so the cards below do not jump when they fill.
                html.Div(
                    shown["info"] if shown else None,
                    id=Data.TABLE_INFO,
                    className=f"mt-3 table-info{reserve}",
                ),
            ]
        ),
        className="shadow-sm mb-3",
    )
    chart = dbc.Card(
        dbc.CardBody(
            [
                dbc.Label("Quick chart", html_for=Data.CHART_COLUMN, className="fw-semibold small"),
                dropdown(
                    id=Data.CHART_COLUMN,
                    placeholder="Column to chart…",
                    options=shown["chart_options"] if shown else [],
                ),
                html.Div(id=Data.CHART_NOTE, className="small text-body-secondary mt-2"),
                # The graph is only created once a column is chosen: Plotly's script is
                # large, and loading it with the page held the first rows back by a second.
                dcc.Loading(html.Div(id=Data.CHART_BOX, className="chart-box"), type="dot"),
            ]
        ),
        className="shadow-sm",
    )
    toolbar = dbc.Row(
        [
            dbc.Col(
                dbc.InputGroup(
                    [
                        dbc.InputGroupText(icon("search")),
                        dbc.Input(
                            id=Data.QUICK,
                            placeholder="Search text columns…",
                            debounce=0.4,
                            value=state["quick"],
                            type="search",
                        ),
                    ],
                    size="sm",
                ),
                xs=12,
                md=5,
                className="mb-2",
            ),
            dbc.Col(
                dropdown(
                    id=Data.COLUMNS,
                    multi=True,
                    placeholder="Visible columns",
                    className="small",
                    options=shown["columns"] if shown else [],
                    value=shown["visible"] if shown else None,
                ),
                xs=12,
                md=3,
                className="mb-2",
            ),
            dbc.Col(
                html.Div(
                    [
                        small_button(
                            "cpu",
                            "Train on this view",
                            id=Data.TRAIN,
                            href="#",
                            color="secondary",
                            title="Open the tabular trainer on this table and its column filters",
                        ),
                        export_buttons(),
                    ],
                    className="d-flex gap-2 justify-content-md-end text-nowrap",
                ),
                xs=12,
                md=4,
                className="mb-2",
            ),
        ],
        className="g-2 align-items-center",
    )
    return html.Div(
        [
            page_header("Data", "table", "Browse the tables of the configured database."),
            dcc.Store(id=Data.STATE, data=state),
            dcc.Store(id=Data.SINK),
            dcc.Store(id=Data.VIEW),
            dbc.Alert(id=Data.BANNER, is_open=False, color="danger", className="py-2"),
            dbc.Row(
                [
                    # Stacked (narrow frame): picker, grid, chart, in that order (CSS).
                    dbc.Col(
                        [stack_item(picker, 1), stack_item(chart, 3)],
                        xs=12,
                        lg=3,
                        className="stack-contents data-side",
                    ),
                    dbc.Col(
                        [
                            toolbar,
                            dbc.Alert(
                                id=Data.GRID_ERROR,
                                is_open=False,
                                color="warning",
                                className="py-2 small",
                            ),
                            html.Div(
                                shown["grid"] if shown else None,
                                id=Data.GRID_BOX,
                                className=f"grid-box{reserve}",
                            ),
                            html.Div(
                                id=Data.STATUS,
                                className="small text-body-secondary mt-2",
                                **aria(live="polite"),
                            ),
                        ],
                        xs=12,
                        lg=9,
                        className="order-2 order-lg-0",
                    ),
                ],
                className="g-3",
            ),
            dbc.Offcanvas(
                html.Div(id=Data.DETAIL_BODY),
                id=Data.DETAIL,
                title="Row detail",
                placement="end",
                is_open=False,
                scrollable=True,
            ),
        ]
    )
