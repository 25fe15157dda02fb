"""Callbacks of the Data page: each a thin adapter over a plain function below it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from dash import ClientsideFunction, Dash, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from callbacks import data_explore, data_views
from callbacks.data_open import grid_explore, grid_table, open_table
from components import data as view
from components.common import message
from components.common import style_figure as common_style
from components.data_grid import block_deadline_ms
from components.ids import Data
from dashapp.data.catalog import Catalog, CatalogError, DataUnavailable, TableEntry
from dashapp.data.filters import GridRequestError
from dashapp.data.grid_service import aggregate, fetch_block, fetch_row
from dashapp.data.grouping import fetch_groups
from dashapp.data.links import merge_filters
from dashapp.data.sources import qualify, split_key
from dashapp.data.view_state import as_view
from dashapp.deps import Deps

log = logging.getLogger(__name__)
EMPTY_BLOCK = {"rowData": [], "rowCount": 0}


def table_label(entry: TableEntry) -> str:
    """Picker label: name, kind and row count (marked when estimated)."""
    if entry.rows is None:
        count = "view" if entry.is_view else "rows unknown"
    else:
        count = f"{'~' if entry.estimated else ''}{entry.rows:,} rows"
        count += " (estimate)" if entry.estimated else ""
        count = ("view · " if entry.is_view else "") + count
    return f"{entry.key} — {count}"


def load_tables(
    sources: Sequence[tuple[str, Catalog]], state: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """Picker options (grouped by source when there are several), the table to show first,
    and a warning for the banner (or None). The first source is the default one."""
    names = [name for name, _ in sources]
    options: list[dict[str, Any]] = []
    warnings = list(state.get("warnings", []))
    failed = False
    for name, catalog in sources:
        try:
            entries = catalog.list_tables()
        except DataUnavailable as exc:
            warnings.append(f"{name}: {exc}" if len(sources) > 1 else str(exc))
            failed = True
            continue
        if len(sources) > 1:  # a heading per source (not selectable)
            options.append({"label": f"▸ {name}", "value": f"{name}:", "disabled": True})
        options += [
            {"label": table_label(e), "value": qualify(name, e.key, names[0])}
            | ({"search": f"{name} {e.key}"} if len(sources) > 1 else {})
            for e in entries
        ]
    keys = [o["value"] for o in options if not o.get("disabled")]
    wanted = state.get("table")
    if wanted:
        source, local = split_key(wanted, names)
        wanted = qualify(source or names[0], local, names[0])
    if wanted and wanted not in keys:
        warnings.append(f"There is no table {state.get('table')!r} to show.")
        wanted = None
    if not keys and not failed:
        warnings.append("This database has no tables you may browse.")
    return options, wanted or (keys[0] if keys else None), " ".join(warnings) or None


def status_line(request: dict[str, Any], rows: int, count: int, total: int) -> str:
    """``Rows a–b of N (filtered from M)`` for the block just served."""
    if count == 0:
        text = "No rows"
    else:
        start = int(request.get("startRow", 0)) + 1
        text = f"Rows {start:,}–{start + rows - 1:,} of {count:,}"
    if count != total:
        text += f" (filtered from {total:,})"
    return text


def group_status(request: dict[str, Any], rows: int, groups: int, total: int) -> str:
    """``Groups a–b of N (M rows)`` for the grouped block just served."""
    if groups == 0:
        return "No groups: no rows in this view."
    start = int(request.get("startRow", 0)) + 1
    return f"Groups {start:,}–{start + rows - 1:,} of {groups:,} ({total:,} rows)"


def get_rows(
    catalog: Catalog, key: str | None, request: Any, quick: str | None, explore: Any = None
) -> tuple[dict[str, Any], str, str | None]:
    """Answer one block request: response, status line, and an error for the banner.

    ``explore``: the set filters and grouping beside the grid's own models (its context).
    """
    if not key or not isinstance(request, dict):
        return EMPTY_BLOCK, "", None
    extra = explore if isinstance(explore, dict) else {}
    try:
        if extra.get("group"):
            base = merge_filters(extra.get("filter") or {}, extra.get("sets"))
            found = fetch_groups(
                catalog, key, extra["group"], {**request, "filterModel": base, "quick": quick or ""}
            )
            response = {"rowData": found.block.rows, "rowCount": found.groups}
            rows = len(found.block.rows)
            return response, group_status(request, rows, found.groups, found.rows), None
        merged = merge_filters(request.get("filterModel"), extra.get("sets"))
        block, total = fetch_block(
            catalog, key, {**request, "filterModel": merged, "quick": quick or ""}
        )
    except (GridRequestError, CatalogError) as exc:
        return (
            EMPTY_BLOCK,
            "No rows: the request was refused.",
            f"Filter or sort not applied: {exc}",
        )
    except DataUnavailable as exc:
        return EMPTY_BLOCK, "No rows: the database could not answer (see above).", str(exc)
    except Exception:
        # A failure no one foresaw: the grid has no failure path (its rows would stay
        # "loading"), and the browser retries a 500, so answer with a message instead.
        log.exception("grid block of %s failed", key)
        return EMPTY_BLOCK, "No rows: the server failed.", "These rows could not be read (logged)."
    response = {"rowData": block.rows, "rowCount": block.row_count}
    return response, status_line(request, len(block.rows), block.row_count, total), None


def row_detail(catalog: Catalog, key: str | None, rows: Any) -> tuple[bool, Any]:
    """Open the side panel with every field of the selected row."""
    if not key or not rows or not isinstance(rows, list) or not isinstance(rows[0], dict):
        return False, no_update
    try:
        record = fetch_row(catalog, key, rows[0])
    except (GridRequestError, CatalogError, DataUnavailable) as exc:
        return True, dbc_alert(str(exc))
    body = [
        html.Tr(
            [
                html.Th(name, className="text-nowrap align-top small"),
                html.Td(
                    html.Span("NULL", className="badge text-bg-secondary")
                    if value is None
                    else html.Pre(str(value), className="mb-0 detail-value"),
                ),
            ]
        )
        for name, value in record.items()
    ]
    return True, html.Table(html.Tbody(body), className="table table-sm")


def dbc_alert(text: str) -> html.Div:
    """A small error box for panels."""
    return message(text, "warning", box=True)


def chart(
    catalog: Catalog, key: str | None, column: str | None, filter_model: Any, quick: str | None
) -> tuple[go.Figure | None, str]:
    """A Plotly figure of one column of the filtered view, aggregated in SQL (None: no chart)."""
    if not key or not column:
        return None, view.PICK_A_COLUMN
    try:
        agg = aggregate(
            catalog, key, column, {"filterModel": filter_model or {}, "quick": quick or ""}
        )
    except (GridRequestError, CatalogError, DataUnavailable) as exc:
        return None, str(exc)
    fig = go.Figure()
    if agg.kind == "histogram":
        fig.add_bar(x=agg.labels, y=agg.counts, marker_color="#0d6efd")
        note = f"Histogram of {column} ({sum(agg.counts):,} non-null values)."
    elif agg.kind == "timeline":
        fig.add_scatter(x=agg.labels, y=agg.counts, mode="lines+markers", line_color="#0d6efd")
        note = f"Rows per period of {column}."
    else:
        fig.add_bar(
            y=[view.plotly_literal(str(v)) for v in agg.labels][::-1],
            x=agg.counts[::-1],
            orientation="h",
            marker_color="#0d6efd",
        )
        note = f"Top {len(agg.labels)} values of {column}."
    style_figure(fig)
    return fig, note


def style_figure(fig: go.Figure) -> None:
    """The app's chart style, without a legend (one series)."""
    common_style(fig, showlegend=False)


def register(app: Dash, deps: Deps) -> None:
    """Wire the Data page."""

    @app.callback(
        Output(Data.PICKER, "options"),
        Output(Data.PICKER, "value"),
        Output(Data.BANNER, "children"),
        Output(Data.BANNER, "is_open"),
        Input(Data.STATE, "data"),
    )
    def _load(state: dict[str, Any]) -> tuple[Any, ...]:
        sources = [(name, deps.catalog_of(name)) for name in deps.source_names]
        options, value, warning = load_tables(sources, state or {})
        shown = value is not None and (state or {}).get("shown") == value  # came with the page
        return options, no_update if shown else value, warning, bool(warning)

    @app.callback(
        Output(Data.GRID_BOX, "children"),
        Output(Data.TABLE_INFO, "children"),
        Output(Data.COLUMNS, "options"),
        Output(Data.COLUMNS, "value"),
        Output(Data.CHART_COLUMN, "options"),
        Output(Data.CHART_COLUMN, "value"),
        Output(Data.EXPLORE, "data"),
        Output(Data.GRID_ERROR, "children", allow_duplicate=True),
        Output(Data.GRID_ERROR, "is_open", allow_duplicate=True),
        Output(Data.STATUS, "children", allow_duplicate=True),
        Input(Data.PICKER, "value"),
        State(Data.STATE, "data"),
        prevent_initial_call=True,  # a linked table's grid comes with the page
    )
    def _show(key: str | None, state: dict[str, Any]) -> tuple[Any, ...]:
        if not key:
            raise PreventUpdate
        try:
            deadline = block_deadline_ms(deps.settings.statement_timeout_s)
            out = open_table(deps, key, state or {}, deadline_ms=deadline)
        except (CatalogError, DataUnavailable) as exc:
            return dbc_alert(str(exc)), None, [], [], [], None, None, no_update, no_update, ""
        return (
            out["grid"],
            out["info"],
            out["columns"],
            out["visible"],
            out["chart_options"],
            out["chart"],
            out["explore"],
            out["note"] or no_update,
            bool(out["note"]) or no_update,
            out["status"] or no_update,
        )

    @app.callback(
        Output(Data.GRID, "getRowsResponse"),
        Output(Data.STATUS, "children"),
        Output(Data.GRID_ERROR, "children"),
        Output(Data.GRID_ERROR, "is_open"),
        Input(Data.GRID, "getRowsRequest"),
        # No state another callback computes (the picker's value, the EXPLORE store): Dash
        # would hold the block back until that callback is done. The table, set filters
        # and grouping come with the request (the grid's context, ``data_grid.grid_context``).
        State(Data.QUICK, "value"),
        prevent_initial_call=True,
    )
    def _rows(request: Any, quick: str | None) -> tuple[Any, ...]:
        if request is None:  # a new grid announcing itself: no block asked for yet
            raise PreventUpdate
        catalog, local = deps.locate(grid_table(request))
        response, status, error = get_rows(catalog, local, request, quick, grid_explore(request))
        return response, status, error, bool(error)

    @app.callback(
        Output(Data.DETAIL, "is_open"),
        Output(Data.DETAIL_BODY, "children"),
        Input(Data.GRID, "selectedRows"),
        State(Data.PICKER, "value"),
        State(Data.EXPLORE, "data"),
        prevent_initial_call=True,
    )
    def _detail(rows: Any, key: str | None, explore: Any) -> tuple[Any, ...]:
        if isinstance(explore, dict) and explore.get("group"):
            raise PreventUpdate  # a group's row opens its rows instead (data_explore)
        return row_detail(*deps.locate(key or ""), rows)

    @app.callback(
        Output(Data.CHART_BOX, "children"),
        Output(Data.CHART_NOTE, "children"),
        Input(Data.CHART_COLUMN, "value"),
        Input(Data.VIEW, "data"),
        State(Data.PICKER, "value"),
    )
    def _chart(column: str | None, view_state: Any, key: str | None) -> tuple[Any, ...]:
        current = as_view(view_state)
        try:
            model = merge_filters(current["filter"], current["sets"])
        except GridRequestError as exc:
            return None, str(exc)
        catalog, local = deps.locate(key or "")
        fig, note = chart(catalog, local, column, model, current["quick"])
        return (None if fig is None else view.chart_graph(fig)), note

    # Browser-side: keep the URL shareable and the export link current, refresh on search,
    # show or hide columns. No server round trip for any of these.
    app.clientside_callback(
        ClientsideFunction(namespace="dashappData", function_name="syncUrl"),
        Output(Data.EXPORT, "href"),
        Output(Data.VIEW, "data"),
        Output(Data.TRAIN, "href"),
        Input(Data.GRID, "getRowsRequest"),
        Input(Data.EXPLORE, "data"),
        Input(Data.COLUMNS, "value"),
        Input(Data.CHART_COLUMN, "value"),
        State(Data.PICKER, "value"),
        State(Data.QUICK, "value"),
        State(Data.VIEW, "data"),
        State(Data.COLUMNS, "options"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dashappData", function_name="excelLinks"),
        Output(Data.EXPORT_EXCEL_CSV, "href"),
        Output(Data.EXPORT_XLSX, "href"),
        Input(Data.EXPORT, "href"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dashappData", function_name="refreshOnSearch"),
        Output(Data.SINK, "data"),
        Input(Data.QUICK, "value"),
        State(Data.GRID, "id"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dashappData", function_name="showColumns"),
        Output(Data.SINK, "data", allow_duplicate=True),
        Input(Data.COLUMNS, "value"),
        State(Data.COLUMNS, "options"),
        State(Data.GRID, "id"),
        State(Data.EXPLORE, "data"),
        prevent_initial_call=True,
    )
    data_explore.register(app, deps)
    data_views.register(app, deps)
