"""Callbacks of the Data page's exploring tools: set filters, grouping, chips, column profile.

Every action that changes the view (apply a set filter, group, remove a chip, open a
group) computes the new view with ``dashapp.data.view_state``, checks it against the table,
and rebuilds the grid from it: the grid (whose block requests carry the set filters and
grouping in its context), the ``EXPLORE`` store (the same, for the page's other callbacks)
and the search box change together in one response.

A table key here is the picker's (``[source:]schema.table``): ``deps.locate`` finds its
database; a catalog takes a key of its own source with or without the prefix.
"""

from __future__ import annotations

import json
from typing import Any

from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from components import data_explore as view
from components import data_grid
from components.common import message
from components.ids import Data
from dashapp.data.catalog import Catalog, CatalogError, DataUnavailable, TableInfo
from dashapp.data.distinct import distinct_values
from dashapp.data.grouping import parse_grouping
from dashapp.data.links import merge_filters
from dashapp.data.profile import column_profile
from dashapp.data.request_values import GridRequestError
from dashapp.data.view_state import (
    EMPTY,
    as_view,
    chips,
    clear_all,
    open_group,
    with_group,
    with_set,
    without_chip,
)
from dashapp.data.views import ViewError, validate_view
from dashapp.deps import Deps

MAX_PICKED_JSON = 2_000_000  # characters of the picked values a browser may send


def explore_store(current: dict[str, Any]) -> dict[str, Any]:
    """What block requests carry besides the grid's own models: set filters, grouping, base."""
    return {
        "filter": current["filter"],
        "sort": current["sort"],
        "sets": current["sets"],
        "group": current["group"],
    }


def grid_for(
    info: TableInfo, current: dict[str, Any], deadline_ms: int, key: str | None = None
) -> tuple[Any, dict[str, Any], str | None]:
    """The grid of a view (grouped or not), its EXPLORE store, and a note if the grouping is bad.

    ``key``: the table as the picker names it (default: ``info.key``), for the grid's context.
    """
    note, key = None, key or info.key
    if current["group"]:
        try:
            grouping = parse_grouping(info, current["group"])
        except GridRequestError as exc:
            note = f"Grouping not applied: {exc}"
            current = {**current, "group": None}
        else:
            explore = explore_store({**current, "group": grouping.spec()})
            return data_grid.grouped_grid(grouping, deadline_ms, key, explore), explore, None
    state = {
        "table": info.key,
        "filter": current["filter"],
        "sort": current["sort"],
        "columns": current["columns"],
    }
    explore = explore_store(current)
    return data_grid.grid_frame(info, state, deadline_ms, key, explore), explore, note


def base_view(published: Any, explore: Any, key: str) -> dict[str, Any]:
    """The view now shown: the one the page published, or the grid's own if it lags behind."""
    current = as_view(published)
    if current["table"] == key:
        return current
    parts = explore if isinstance(explore, dict) else {}
    return as_view({**EMPTY, **parts, "table": key})


def decode_picked(picked: Any) -> list[Any]:
    """The set filter's picked values (the checklist holds each as JSON text)."""
    if picked is None:
        return []
    if not isinstance(picked, list) or not all(isinstance(p, str) for p in picked):
        raise GridRequestError("the picked values are not readable")
    if sum(len(p) for p in picked) > MAX_PICKED_JSON:
        raise GridRequestError("too many or too long values picked")
    try:
        return [json.loads(p) for p in picked]
    except ValueError:
        raise GridRequestError("the picked values are not readable") from None


def group_spec(by: Any, aggs: Any) -> dict[str, Any] | None:
    """A grouping spec from the pickers (None: nothing to group by)."""
    if not by:
        return None
    out: list[dict[str, Any]] = []
    for item in aggs or []:
        try:
            fn, col = json.loads(item) if isinstance(item, str) else (None, None)
        except (ValueError, TypeError):
            fn, col = None, None
        out.append({"fn": fn} if col is None else {"fn": fn, "col": col})
    return {"by": by, "aggs": out}


def act(trigger: Any, current: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """The view after one action of the page (``trigger``: the id that fired)."""
    if isinstance(trigger, dict) and trigger.get("type") == "data-chip":
        return without_chip(current, str(trigger.get("key")))
    column = inputs.get("column")
    if trigger in (Data.SET_APPLY, Data.SET_CLEAR) and not isinstance(column, str):
        raise GridRequestError("choose a column first")
    column = str(column)
    if trigger == Data.SET_APPLY:
        return with_set(current, column, decode_picked(inputs.get("picked")))
    if trigger == Data.SET_CLEAR:
        return with_set(current, column, None)
    if trigger == Data.CLEAR_ALL:
        return clear_all(current)
    if trigger == Data.GROUP_APPLY:
        spec = group_spec(inputs.get("by"), inputs.get("aggs"))
        if spec is None:
            raise GridRequestError("choose one to three columns to group by")
        return with_group(current, spec)
    if trigger == Data.GROUP_CLEAR:
        return with_group(current, None)
    raise PreventUpdate


def render(
    catalog: Catalog,
    key: str | None,
    current: dict[str, Any],
    quick_now: Any,
    *,
    deadline_ms: int,
    timeout_s: float,
) -> tuple[Any, ...]:
    """Outputs for a new view: grid, EXPLORE store, search box, message (text, open), status.

    ``catalog``: the database of table ``key`` (``deps.locate``).
    """
    if not key:
        raise PreventUpdate
    try:
        validate_view(catalog, current)
        info = catalog.table(key)
    except (GridRequestError, CatalogError, ViewError, DataUnavailable) as exc:
        return no_update, no_update, no_update, f"Not applied: {exc}", True, no_update
    grid, explore, note = grid_for(info, current, deadline_ms, key)
    quick = current["quick"] if current["quick"] != (quick_now or "") else no_update
    status = progress_text(info, explore, timeout_s) if explore["group"] else "Loading rows…"
    return grid, explore, quick, note or "", bool(note), status


def progress_text(info: TableInfo, explore: dict[str, Any], timeout_s: float) -> str:
    """What the status line says while a grouped grid waits for its first groups."""
    return view.grouping_status(parse_grouping(info, explore["group"]), timeout_s)


def value_list(
    catalog: Catalog, key: str | None, column: Any, published: Any, search: Any
) -> tuple[list[Any], list[str], Any]:
    """The set filter's checklist (options, picked) and its note, for a column of the view."""
    if not key or not column:
        return [], [], "Choose a column."
    current = as_view(published)
    request = {
        "filterModel": merge_filters(current["filter"], current["sets"]),
        "quick": current["quick"],
    }
    try:
        found = distinct_values(catalog, key, column, request, search=search)
    except (GridRequestError, CatalogError, DataUnavailable) as exc:
        return [], [], message(str(exc), "warning")
    options, picked = view.set_options(found, list(current["sets"].get(column) or []))
    return options, picked, view.set_note(found)


def profile_panel(catalog: Catalog, key: str | None, column: Any, published: Any) -> Any:
    """The profile of a column of the view, or a message saying why there is none."""
    if not key or not column:
        return "Choose a column."
    current = as_view(published)
    request = {
        "filterModel": merge_filters(current["filter"], current["sets"]),
        "quick": current["quick"],
    }
    try:
        return view.profile_body(column_profile(catalog, key, column, request))
    except (GridRequestError, CatalogError, DataUnavailable) as exc:
        return message(str(exc), "warning", box=True)


def controls(catalog: Catalog, key: str | None, explore: Any) -> tuple[Any, ...]:
    """Group pickers' options and values, the panel's column list, and the grouping note."""
    if not key:
        raise PreventUpdate
    try:
        info = catalog.table(key)
    except (CatalogError, DataUnavailable):
        return [], no_update, [], no_update, [], ""
    by_options, agg_options = view.group_options(info)
    columns = [{"label": c.name, "value": c.name} for c in info.columns]
    group = explore.get("group") if isinstance(explore, dict) else None
    if not group:
        return by_options, no_update, agg_options, no_update, columns, ""
    aggs = [json.dumps([a.get("fn"), a.get("col")]) for a in group.get("aggs") or []]
    note = "Click a group to open the rows behind it."
    return by_options, group.get("by"), agg_options, aggs, columns, note


RENDER = (
    Output(Data.GRID_BOX, "children", allow_duplicate=True),
    Output(Data.EXPLORE, "data", allow_duplicate=True),
    Output(Data.QUICK, "value", allow_duplicate=True),
    Output(Data.GRID_ERROR, "children", allow_duplicate=True),
    Output(Data.GRID_ERROR, "is_open", allow_duplicate=True),
    Output(Data.STATUS, "children", allow_duplicate=True),
)


def register(app: Dash, deps: Deps) -> None:
    """Wire the exploring tools of the Data page."""

    def show(key: str | None, current: dict[str, Any], quick: Any) -> tuple[Any, ...]:
        deadline = data_grid.block_deadline_ms(deps.settings.statement_timeout_s)
        return render(
            deps.locate(key or "")[0],
            key,
            current,
            quick,
            deadline_ms=deadline,
            timeout_s=deps.settings.statement_timeout_s,
        )

    @app.callback(
        *RENDER,
        Output(Data.COLUMN_PANEL, "is_open", allow_duplicate=True),
        Input(Data.SET_APPLY, "n_clicks"),
        Input(Data.SET_CLEAR, "n_clicks"),
        Input(Data.CLEAR_ALL, "n_clicks"),
        Input(Data.GROUP_APPLY, "n_clicks"),
        Input(Data.GROUP_CLEAR, "n_clicks"),
        Input(Data.chip_any(), "n_clicks"),
        State(Data.PICKER, "value"),
        State(Data.VIEW, "data"),
        State(Data.EXPLORE, "data"),
        State(Data.QUICK, "value"),
        State(Data.PANEL_COLUMN, "value"),
        State(Data.SET_LIST, "value"),
        State(Data.GROUP_BY, "value"),
        State(Data.GROUP_AGGS, "value"),
        prevent_initial_call=True,
    )
    def _act(*args: Any) -> tuple[Any, ...]:
        key, published, explore, quick, column, picked, by, aggs = args[6:]
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            raise PreventUpdate  # a chip appearing, not a click
        inputs = {"column": column, "picked": picked, "by": by, "aggs": aggs}
        try:
            current = act(ctx.triggered_id, base_view(published, explore, key or ""), inputs)
        except GridRequestError as exc:
            return (
                no_update,
                no_update,
                no_update,
                f"Not applied: {exc}",
                True,
                no_update,
                no_update,
            )
        closes = ctx.triggered_id in (Data.SET_APPLY, Data.SET_CLEAR)
        return (*show(key, current, quick), False if closes else no_update)

    @app.callback(
        *RENDER,
        Input(Data.GRID, "selectedRows"),
        State(Data.PICKER, "value"),
        State(Data.VIEW, "data"),
        State(Data.EXPLORE, "data"),
        State(Data.QUICK, "value"),
        prevent_initial_call=True,
    )
    def _open_group(rows: Any, key: str | None, published: Any, explore: Any, quick: Any) -> Any:
        group = explore.get("group") if isinstance(explore, dict) else None
        if not group or not isinstance(rows, list) or not rows:
            raise PreventUpdate
        current = {**base_view(published, explore, key or ""), "group": group}
        try:
            current = open_group(current, rows[0])
        except GridRequestError as exc:
            return no_update, no_update, no_update, f"Not opened: {exc}", True, no_update
        return show(key, current, quick)

    @app.callback(
        Output(Data.CHIPS, "children"),
        Output(Data.CLEAR_ALL, "className"),
        Input(Data.VIEW, "data"),
    )
    def _chips(published: Any) -> tuple[Any, str]:
        active = chips(as_view(published))
        hidden = "" if active else " d-none"
        return view.chip_bar(active), f"p-0 ms-1 small{hidden}"

    @app.callback(
        Output(Data.GROUP_BY, "options"),
        Output(Data.GROUP_BY, "value"),
        Output(Data.GROUP_AGGS, "options"),
        Output(Data.GROUP_AGGS, "value"),
        Output(Data.PANEL_COLUMN, "options"),
        Output(Data.GROUP_NOTE, "children"),
        Input(Data.EXPLORE, "data"),
        State(Data.PICKER, "value"),
    )
    def _controls(explore: Any, key: str | None) -> tuple[Any, ...]:
        return controls(*deps.locate(key or ""), explore)

    @app.callback(
        Output(Data.COLUMN_PANEL, "is_open"),
        Output(Data.PANEL_COLUMN, "value"),
        Input(Data.COLUMN_TOOLS, "n_clicks"),
        State(Data.PANEL_COLUMN, "value"),
        State(Data.PANEL_COLUMN, "options"),
        prevent_initial_call=True,
    )
    def _open_panel(_n: Any, column: Any, options: Any) -> tuple[Any, ...]:
        first = options[0]["value"] if isinstance(options, list) and options else None
        return True, column or first

    @app.callback(
        Output(Data.SET_LIST, "options"),
        Output(Data.SET_LIST, "value"),
        Output(Data.SET_NOTE, "children"),
        Input(Data.PANEL_COLUMN, "value"),
        Input(Data.SET_SEARCH, "value"),
        Input(Data.COLUMN_PANEL, "is_open"),
        State(Data.PICKER, "value"),
        State(Data.VIEW, "data"),
        prevent_initial_call=True,
    )
    def _values(column: Any, search: Any, is_open: Any, key: Any, published: Any) -> Any:
        if not is_open:
            raise PreventUpdate
        return value_list(*deps.locate(key or ""), column, published, search)

    @app.callback(
        Output(Data.PROFILE_BODY, "children"),
        Input(Data.PANEL_COLUMN, "value"),
        Input(Data.PANEL_TABS, "active_tab"),
        Input(Data.COLUMN_PANEL, "is_open"),
        State(Data.PICKER, "value"),
        State(Data.VIEW, "data"),
        prevent_initial_call=True,
    )
    def _profile(column: Any, tab: Any, is_open: Any, key: Any, published: Any) -> Any:
        if not is_open or tab != "profile":
            raise PreventUpdate
        return profile_panel(*deps.locate(key or ""), column, published)
