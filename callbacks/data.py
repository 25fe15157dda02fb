"""Callbacks of the Data page: each a thin adapter over a plain function below it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go
from dash import ClientsideFunction, Dash, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from components import data as view
from components.common import message
from components.common import style_figure as common_style
from components.ids import Data
from dashapp.data.catalog import Catalog, CatalogError, DataUnavailable, TableEntry
from dashapp.data.filters import GridRequestError
from dashapp.data.grid_service import aggregate, fetch_block, fetch_row
from dashapp.data.links import parse_query
from dashapp.data.sources import qualify, split_key
from dashapp.deps import Deps

log = logging.getLogger(__name__)
EMPTY_BLOCK = {"rowData": [], "rowCount": 0}
# Opening a table reads its columns again (in the background, the page opens with what was
# read before) unless that was done this recently: a column added since shows up on the next
# visit, one page load reflects once, and the first rows never wait on the catalog.
OPEN_REFLECT_MAX_AGE_S = 10.0
# The page waits this long for the linked table's columns to put its grid in the first
# response; past it (a slow or unreachable database) the page comes without, as before.
LINKED_GRID_WAIT_S = 2.0


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


def show_table(
    catalog: Catalog,
    key: str,
    state: dict[str, Any],
    *,
    deadline_ms: int = 40_000,
    table_key: str | None = None,
) -> dict[str, Any]:
    """Everything that changes when a table is chosen (``table_key``: as the picker has it)."""
    info = catalog.table(key, refresh_after_s=OPEN_REFLECT_MAX_AGE_S)
    names = [c.name for c in info.columns]
    chartable = [
        {"label": f"{c.name} ({c.kind})", "value": c.name}
        for c in info.columns
        if c.kind in ("number", "date", "datetime", "text", "bool")
    ]
    return {
        "grid": view.grid_frame(info, state, deadline_ms, table_key),
        "info": view.table_panel(info),
        "columns": [{"label": n, "value": n} for n in names],
        "visible": names,
        "chart_options": chartable,
    }


def open_table(
    deps: Deps, key: str, state: dict[str, Any], *, deadline_ms: int = 40_000
) -> dict[str, Any]:
    """``show_table`` for a picker or link key (``[source:]schema.table``)."""
    catalog, local = deps.locate(key)
    # The link's sort and filters are for the table it names, not for one picked later.
    linked = {**state, "table": local if state.get("table") == key else None}
    return show_table(catalog, local, linked, deadline_ms=deadline_ms, table_key=key)


def linked_table(deps: Deps, state: dict[str, Any], wait_s: float) -> dict[str, Any] | None:
    """``open_table`` of the link's table if it is ready within ``wait_s``, else None.

    What is not ready in time goes on in the background (it fills the catalog's cache), and
    the page then opens the table through the picker as it does without a link.
    """
    key, done = state.get("table"), []
    if not key:
        return None
    deadline = view.block_deadline_ms(deps.settings.statement_timeout_s)

    def work() -> None:
        try:
            done.append(open_table(deps, key, state, deadline_ms=deadline))
        except (CatalogError, DataUnavailable):
            pass  # the picker's callback says what is wrong with the link
        except Exception:
            log.exception("opening the linked table %s failed", key)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(wait_s)
    return done[0] if done else None


def page_layout(deps: Deps, wait_s: float = LINKED_GRID_WAIT_S) -> Callable[..., Any]:
    """The Data page's layout function: a linked table's grid comes with the page itself."""

    def build(**query: str) -> Any:
        return view.layout(linked_table(deps, parse_query(query), wait_s), **query)

    return build


def grid_table(request: Any) -> str:
    """The table a block request is for (the grid's ``context``; "" when it names none)."""
    context = request.get("context") if isinstance(request, dict) else None
    table = context.get("table") if isinstance(context, dict) else None
    return table if isinstance(table, str) else ""


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


def get_rows(
    catalog: Catalog, key: str | None, request: Any, quick: str | None
) -> tuple[dict[str, Any], str, str | None]:
    """Answer one block request: response, status line, and an error for the banner."""
    if not key or not isinstance(request, dict):
        return EMPTY_BLOCK, "", None
    try:
        block, total = fetch_block(catalog, key, {**request, "quick": quick or ""})
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
        return None, "Pick a column to see its distribution in the current view."
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
        Input(Data.PICKER, "value"),
        State(Data.STATE, "data"),
        prevent_initial_call=True,  # a linked table's grid comes with the page
    )
    def _show(key: str | None, state: dict[str, Any]) -> tuple[Any, ...]:
        if not key:
            raise PreventUpdate
        try:
            deadline = view.block_deadline_ms(deps.settings.statement_timeout_s)
            out = open_table(deps, key, state or {}, deadline_ms=deadline)
        except (CatalogError, DataUnavailable) as exc:
            return dbc_alert(str(exc)), None, [], [], [], None
        return out["grid"], out["info"], out["columns"], out["visible"], out["chart_options"], None

    @app.callback(
        Output(Data.GRID, "getRowsResponse"),
        Output(Data.STATUS, "children"),
        Output(Data.GRID_ERROR, "children"),
        Output(Data.GRID_ERROR, "is_open"),
        Input(Data.GRID, "getRowsRequest"),
        # No state another callback computes (the picker's value): Dash would hold the
        # block back until that callback is done. The table comes with the request.
        State(Data.QUICK, "value"),
        prevent_initial_call=True,
    )
    def _rows(request: Any, quick: str | None) -> tuple[Any, ...]:
        if request is None:  # a new grid announcing itself: no block asked for yet
            raise PreventUpdate
        response, status, error = get_rows(*deps.locate(grid_table(request)), request, quick)
        return response, status, error, bool(error)

    @app.callback(
        Output(Data.DETAIL, "is_open"),
        Output(Data.DETAIL_BODY, "children"),
        Input(Data.GRID, "selectedRows"),
        State(Data.PICKER, "value"),
        prevent_initial_call=True,
    )
    def _detail(rows: Any, key: str | None) -> tuple[Any, ...]:
        return row_detail(*deps.locate(key or ""), rows)

    @app.callback(
        Output(Data.CHART_BOX, "children"),
        Output(Data.CHART_NOTE, "children"),
        Input(Data.CHART_COLUMN, "value"),
        Input(Data.VIEW, "data"),
        State(Data.PICKER, "value"),
    )
    def _chart(column: str | None, view_state: Any, key: str | None) -> tuple[Any, ...]:
        current = view_state if isinstance(view_state, dict) else {}
        catalog, local = deps.locate(key or "")
        fig, note = chart(catalog, local, column, current.get("filterModel"), current.get("quick"))
        return (None if fig is None else view.chart_graph(fig)), note

    # Browser-side: keep the URL shareable and the export link current, refresh on search,
    # show or hide columns. No server round trip for any of these.
    app.clientside_callback(
        ClientsideFunction(namespace="dashappData", function_name="syncUrl"),
        Output(Data.EXPORT, "href"),
        Output(Data.VIEW, "data"),
        Output(Data.TRAIN, "href"),
        Input(Data.GRID, "getRowsRequest"),
        State(Data.PICKER, "value"),
        State(Data.QUICK, "value"),
        State(Data.VIEW, "data"),
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
        prevent_initial_call=True,
    )
