"""The Data page: a table picker, the grid (``components.data_grid``) and the tools around it."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.common import (
    aria,
    dropdown,
    icon,
    page_header,
    search_label,
    small_button,
    stack_item,
)
from components.data_explore import column_panel, group_card
from components.data_views import save_modal, saved_card
from components.ids import Data
from dashapp.data.catalog import TableInfo
from dashapp.data.links import parse_query

PICK_A_COLUMN = "Pick a column to see its distribution in the current view."

# The characters Plotly reads as markup in labels (``<b>``, ``<a href>``, ``&lt;``).
PLOTLY_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def plotly_literal(value: str) -> str:
    """Text that Plotly shows as it is: its pseudo-HTML tags and entities escaped."""
    return value.translate(PLOTLY_ESCAPES)


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


def layout(
    shown: dict[str, Any] | None = None, /, *, notes: list[str] | None = None, **query: str
) -> html.Div:
    """Build the Data page; ``query`` is the shared link's state, ``notes`` said with it.

    ``shown``: the linked table opened already (``callbacks.data_open.show_table``): its grid,
    columns and view come with the page, so its first rows need no callback round trip.
    """
    state = parse_query(query)
    if isinstance(notes, list) and notes:
        state["warnings"] = [*notes, *state.get("warnings", [])]
    reserve = " reserve" if state["table"] else ""
    reserve_chart = " reserve" if state["table"] and state["chart"] else ""
    if shown is not None:
        state["shown"] = state["table"]  # the picker's callback leaves it as it is
    shown = shown or {}
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
                    shown.get("info"),
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
                    options=shown.get("chart_options", []),
                    value=shown.get("chart"),
                ),
                # Its text from the start, and room for a linked chart: the cards below
                # (grouping, saved views) do not jump when they fill in.
                html.Div(
                    PICK_A_COLUMN if not state["chart"] else None,
                    id=Data.CHART_NOTE,
                    className="small text-body-secondary mt-2",
                ),
                # The graph is only created once a column is chosen: Plotly's script is
                # large, and loading it with the page held the first rows back by a second.
                dcc.Loading(
                    html.Div(id=Data.CHART_BOX, className=f"chart-box{reserve_chart}"), type="dot"
                ),
            ]
        ),
        className="shadow-sm mb-3",
    )
    toolbar = dbc.Row(
        [
            dbc.Col(
                dbc.InputGroup(
                    [
                        search_label(Data.QUICK, "Search text columns"),
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
                md=6,
                xxl=4,
                className="mb-2",
            ),
            dbc.Col(
                dropdown(
                    id=Data.COLUMNS,
                    multi=True,
                    placeholder="Visible columns",
                    className="small",
                    label="Visible columns",
                    options=shown.get("columns", []),
                    value=shown.get("visible"),
                ),
                xs=12,
                md=6,
                xxl=3,
                className="mb-2",
            ),
            dbc.Col(
                html.Div(
                    [
                        small_button(
                            "funnel",
                            "Values",
                            id=Data.COLUMN_TOOLS,
                            color="secondary",
                            title="Pick values to filter by, and profile a column"
                            " (or right-click a column's header)",
                        ),
                        small_button(
                            "cpu",
                            # Short on a phone-wide frame: the four buttons keep to one row.
                            html.Span(
                                [
                                    "Train",
                                    html.Span(" on this view", className="d-none d-sm-inline"),
                                ]
                            ),
                            id=Data.TRAIN,
                            href="#",
                            color="secondary",
                            title="Open the tabular trainer on this table and its column filters",
                        ),
                        export_buttons(),
                    ],
                    className="d-flex flex-wrap gap-2 justify-content-md-end text-nowrap",
                ),
                # Four buttons: a row of their own below the widest screens.
                xs=12,
                xxl=5,
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
            dcc.Store(id=Data.EXPLORE, data=shown.get("explore")),
            dcc.Store(id=Data.SAVED_TICK, data=0),
            dbc.Alert(id=Data.BANNER, is_open=False, color="danger", className="py-2"),
            dbc.Row(
                [
                    # Stacked (narrow frame): picker, grid, chart, in that order (CSS).
                    dbc.Col(
                        [
                            stack_item(picker, 1),
                            stack_item(chart, 3),
                            stack_item(group_card(), 4),
                            stack_item(saved_card(), 5),
                        ],
                        xs=12,
                        lg=3,
                        className="stack-contents data-side",
                    ),
                    dbc.Col(
                        [
                            toolbar,
                            html.Div(
                                [
                                    html.Div(id=Data.CHIPS),
                                    dbc.Button(
                                        "Clear all",
                                        id=Data.CLEAR_ALL,
                                        size="sm",
                                        color="link",
                                        className="d-none p-0 ms-1 small",
                                    ),
                                ],
                                className="chip-bar",
                                role="group",
                                **aria(label="Active filters"),
                            ),
                            dbc.Alert(
                                shown.get("note"),
                                id=Data.GRID_ERROR,
                                is_open=bool(shown.get("note")),
                                color="warning",
                                className="py-2 small",
                            ),
                            html.Div(
                                shown.get("grid"),
                                id=Data.GRID_BOX,
                                className=f"grid-box{reserve}",
                            ),
                            html.Div(
                                shown.get("status"),
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
            column_panel(),
            save_modal(),
        ]
    )
