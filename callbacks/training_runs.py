"""Callbacks of the runs table: blocks of rows, metric columns, renames and deletes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from components import job as job_parts
from components import runs as view
from components.common import message
from components.ids import Training
from dashapp.deps import Deps
from dashapp.identity import Identity
from jobs import service
from jobs.follow import job_users
from jobs.query import JobQuery, is_metric_sort, metric_names, query_runs
from jobs.store import JobStore, now

MAX_BLOCK = 500
MAX_CHANGES = 50


def _text(value: Any, limit: int = 200) -> str:
    """A filter's text, or empty for anything that is not text."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def _chosen(value: Any) -> tuple[str, ...]:
    """A dropdown's one value as a filter (nothing for "all" or no choice)."""
    text = _text(value)
    return (text,) if text and text != view.ALL_VALUE else ()


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time the browser sent (a local day's bound, in UTC), or None."""
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def query_of(request: Any, filters: dict[str, Any]) -> tuple[JobQuery, str]:
    """The store query for one block the grid asks for, and what was ignored in it."""
    request = request if isinstance(request, dict) else {}
    start, end = request.get("startRow"), request.get("endRow")
    start = start if type(start) is int and start >= 0 else 0
    end = end if type(end) is int and start < end <= start + MAX_BLOCK else start + view.BLOCK_SIZE
    sort, descending, note = "created_at", True, ""
    model = request.get("sortModel")
    if isinstance(model, list) and model and isinstance(model[0], dict):
        col, way = model[0].get("colId"), model[0].get("sort")
        if isinstance(col, str) and (col in view.SORTABLE or is_metric_sort(col)):
            sort, descending = col, way != "asc"
        else:
            note = "The runs cannot be sorted by that column; they are sorted by creation time."
    given = filters.get("range")
    span: dict[str, Any] = given if isinstance(given, dict) else {}
    query = JobQuery(
        status=_chosen(filters.get("status")),
        trainer=_chosen(filters.get("trainer")),
        user=_chosen(filters.get("user")),
        text=_text(filters.get("quick")),
        since=_time(span.get("since")),
        until=_time(span.get("until")),
        sort=sort,
        descending=descending,
        offset=start,
        limit=end - start,
    )
    return query, note


def rows(store: JobStore, request: Any, filters: dict[str, Any], who: Identity) -> tuple[Any, ...]:
    """One block of the runs table: its rows and how many runs match, and a note if any."""
    query, note = query_of(request, filters)
    page = query_runs(store, query)
    # Metric columns are shown for one trainer only: other blocks need not carry them.
    finals = page.final_metrics if query.trainer else {}
    at = now()
    data = [
        view.run_row(
            r,
            finals.get(r.id, {}),
            mine=who.admin or r.user == who.name,
            now=at,
            place=page.queue_positions.get(r.id),
        )
        for r in page.jobs
    ]
    count = f"{page.total:,} run{'s' if page.total != 1 else ''}"
    return {"rowData": data, "rowCount": page.total}, count, note or None, bool(note)


def columns(store: JobStore, trainer: Any) -> list[dict[str, Any]]:
    """The table's columns: with a column per final metric when one trainer is chosen."""
    chosen = _chosen(trainer)
    return view.column_defs(metric_names(store, chosen[0]) if chosen else [])


def user_options(store: JobStore, search: Any, value: Any) -> list[dict[str, str]]:
    """The users the user filter offers (those matching what is typed), the chosen one kept."""
    names = job_users(store, _text(search, 120))
    if isinstance(value, str) and value and value not in names:
        names = [value, *names]
    return [{"label": n, "value": n} for n in names]


def relabel_cells(store: JobStore, changes: Any, who: Identity) -> tuple[str, str]:
    """Apply edited names and tags; says what went wrong (and the table is read again)."""
    problems: list[str] = []
    for change in (changes if isinstance(changes, list) else [])[:MAX_CHANGES]:
        if not isinstance(change, dict) or not isinstance(change.get("data"), dict):
            continue
        job_id, column = change["data"].get("id"), change.get("colId")
        if not isinstance(job_id, str) or column not in ("name", "tags"):
            continue
        value = change.get("value")
        value = "" if value is None else value
        result = service.relabel(
            store, job_id, user=who.name, admin=who.admin, **{str(column): value}
        )
        if result.code != service.OK:
            detail = "; ".join((result.errors or {}).values())
            problems.append(f"{job_id[:8]}: {result.message}" + (f" ({detail})" if detail else ""))
    if problems:
        return " ".join(problems), "danger"
    return "Saved.", "success"


def selected_ids(selected: Any) -> list[str]:
    """The ids of the selected rows (what the browser says; checked again on deleting)."""
    rows_ = selected if isinstance(selected, list) else []
    ids = [r.get("id") for r in rows_ if isinstance(r, dict)]
    return [i for i in dict.fromkeys(ids) if isinstance(i, str)][:200]


def delete_runs(
    store: JobStore, selected: Any, who: Identity, data_dir: Path | None
) -> tuple[str, str]:
    """Delete the selected runs that ``who`` may delete; says how many and why not the rest."""
    deleted, refused = 0, []
    for job_id in selected_ids(selected):
        result = service.delete(store, job_id, user=who.name, admin=who.admin, data_dir=data_dir)
        if result.code == service.OK:
            deleted += 1
        else:
            refused.append(f"{job_id[:8]}: {result.message}")
    said = f"Deleted {deleted} run{'s' if deleted != 1 else ''}."
    if refused:
        return f"{said} Not deleted: {' '.join(refused)}", "warning"
    return said, "success"


def delete_prompt(selected: Any) -> tuple[bool, str]:
    """Whether to ask, and the question, before deleting the selected runs."""
    count = len(selected_ids(selected))
    if not count:
        return False, ""
    return True, (
        f"Delete {count} run{'s' if count > 1 else ''} with {'their' if count > 1 else 'its'}"
        " metrics, log, images and weights? This cannot be undone."
    )


def register(app: Dash, deps: Deps) -> None:
    """Wire the runs table."""
    data_dir = None if deps.settings.celery_broker else Path(deps.settings.data_dir)

    @app.callback(
        Output(Training.RUNS, "getRowsResponse"),
        Output(Training.RUNS_COUNT, "children"),
        Output(Training.RUNS_NOTE, "children"),
        Output(Training.RUNS_NOTE, "is_open"),
        Output(Training.PRELOAD, "children"),
        Input(Training.RUNS, "getRowsRequest"),
        State(Training.RUNS_QUICK, "value"),
        State(Training.STATUS_FILTER, "value"),
        State(Training.TRAINER_FILTER, "value"),
        State(Training.RUNS_USER, "value"),
        State(Training.RUNS_RANGE, "data"),
        State(Training.PRELOAD, "children"),
        prevent_initial_call=True,
    )
    def _rows(request: Any, *values: Any) -> tuple[Any, ...]:
        if request is None:  # a new grid announcing itself: no block asked for yet
            raise PreventUpdate
        *given, preloaded = values
        filters = dict(zip(("quick", "status", "trainer", "user", "range"), given, strict=True))
        # plotly.js loads once the first rows are shown (components.job.job_container).
        preload = no_update if preloaded else job_parts.plotly_preload()
        return (*rows(deps.job_store, request, filters, deps.current_user()), preload)

    @app.callback(
        Output(Training.RUNS, "columnDefs"),
        Input(Training.TRAINER_FILTER, "value"),
        prevent_initial_call=True,
    )
    def _columns(trainer: Any) -> Any:
        return columns(deps.job_store, trainer)

    @app.callback(
        Output(Training.RUNS_USER, "options"),
        Input(Training.RUNS_USER, "search_value"),
        State(Training.RUNS_USER, "value"),
    )
    def _users(search: Any, value: Any) -> Any:
        return user_options(deps.job_store, search, value)

    @app.callback(
        Output(Training.RUNS_MESSAGE, "children"),
        Output(Training.RUNS_REFRESH, "data"),
        Input(Training.RUNS, "cellValueChanged"),
        State(Training.RUNS_REFRESH, "data"),
        prevent_initial_call=True,
    )
    def _relabel(changes: Any, refresh: Any) -> tuple[Any, ...]:
        said, kind = relabel_cells(deps.job_store, changes, deps.current_user())
        return message(said, kind), (refresh if isinstance(refresh, int) else 0) + 1

    @app.callback(
        Output(Training.RUNS_DELETE_MODAL, "is_open"),
        Output(Training.RUNS_DELETE_TEXT, "children"),
        Output(Training.RUNS_MESSAGE, "children", allow_duplicate=True),
        Output(Training.RUNS_REFRESH, "data", allow_duplicate=True),
        Output(Training.RUNS, "deselectAll"),
        Input(Training.RUNS_DELETE, "n_clicks"),
        Input(Training.RUNS_DELETE_CONFIRM, "n_clicks"),
        Input(Training.RUNS_DELETE_CANCEL, "n_clicks"),
        State(Training.RUNS, "selectedRows"),
        State(Training.RUNS_REFRESH, "data"),
        prevent_initial_call=True,
    )
    def _delete(_: Any, __: Any, ___: Any, selected: Any, refresh: Any) -> tuple[Any, ...]:
        if ctx.triggered_id == Training.RUNS_DELETE:
            ask, question = delete_prompt(selected)
            hint = message("Select the runs to delete first (tick their boxes).", "info")
            return ask, question, no_update if ask else hint, no_update, no_update
        if ctx.triggered_id != Training.RUNS_DELETE_CONFIRM:
            return False, no_update, no_update, no_update, no_update
        said, kind = delete_runs(deps.job_store, selected, deps.current_user(), data_dir)
        refreshed = (refresh if isinstance(refresh, int) else 0) + 1
        return False, no_update, message(said, kind), refreshed, True

    # Browser-side: local days to UTC bounds, reloading the table, the selection's actions.
    app.clientside_callback(
        ClientsideFunction(namespace="dashappTraining", function_name="runsRange"),
        Output(Training.RUNS_RANGE, "data"),
        Input(Training.RUNS_FROM, "value"),
        Input(Training.RUNS_TO, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dashappTraining", function_name="runsReload"),
        Output(Training.RUNS_SINK, "data"),
        Input(Training.RUNS_QUICK, "value"),
        Input(Training.STATUS_FILTER, "value"),
        Input(Training.TRAINER_FILTER, "value"),
        Input(Training.RUNS_USER, "value"),
        Input(Training.RUNS_RANGE, "data"),
        Input(Training.RUNS_REFRESH, "data"),
        Input(Training.LIST_TICK, "n_intervals"),
        State(Training.RUNS, "id"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dashappTraining", function_name="runsSelection"),
        Output(Training.RUNS_COMPARE, "href"),
        Output(Training.RUNS_COMPARE, "disabled"),
        Input(Training.RUNS, "selectedRows"),
    )
