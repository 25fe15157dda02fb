"""Callbacks of a job's panel beyond the poll: the whole log, and the comparison page."""

from __future__ import annotations

from typing import Any

from dash import (
    ClientsideFunction,
    Dash,
    Input,
    Output,
    Patch,
    State,
    ctx,
    get_relative_path,
    no_update,
)

from components import compare as compare_view
from components.ids import Training
from dashapp.deps import Deps
from jobs.follow import log_before, log_tail
from jobs.query import LogLine, log_count, log_lines
from jobs.service import compare
from jobs.store import JobStore

# Lines shown when a job is opened, added per "Load earlier", and taken per poll before
# the view starts again from the newest (a log growing faster than it is shown).
LOG_TAIL = 200
LOG_PAGE = 1000
LOG_NEW_MAX = 2000


def text_block(lines: list[LogLine]) -> str:
    """Lines as one block of text for the log's ``<pre>``."""
    return "".join(f"{item.line}\n" for item in lines)


def _valid_state(state: Any, job_id: str) -> dict[str, int] | None:
    """The log view's state if it is about ``job_id`` and well formed, else None."""
    if not isinstance(state, dict) or state.get("job") != job_id:
        return None
    keys = ("first", "last", "shown")
    if not all(type(state.get(k)) is int and state[k] >= 0 for k in keys):
        return None
    return {k: int(state[k]) for k in keys}


def log_update(store: JobStore, job_id: Any, state: Any, earlier: bool) -> tuple[Any, ...]:
    """The log view after a poll (new lines at the bottom) or "Load earlier" (lines on top).

    Returns the ``<pre>``'s children (whole, or a Patch), the new state, whether "Load
    earlier" is disabled, the line count shown, and the download link (when the job changed).
    """
    if not isinstance(job_id, str) or not job_id:
        return [], None, True, "", no_update
    seen = _valid_state(state, job_id)
    children: Any = no_update
    href: Any = no_update
    if seen is not None and earlier and seen["first"]:
        lines = log_before(store, job_id, seen["first"], LOG_PAGE)
        if lines:
            children = Patch()
            children.prepend(text_block(lines))
            seen = {**seen, "first": lines[0].id, "shown": seen["shown"] + len(lines)}
    elif seen is not None:
        lines = log_lines(store, job_id, seen["last"], LOG_NEW_MAX)
        if len(lines) == LOG_NEW_MAX:
            seen = None  # too many to add: start again from the newest
        elif lines:
            children = Patch()
            children.append(text_block(lines))
            first = seen["first"] or lines[0].id
            seen = {"first": first, "last": lines[-1].id, "shown": seen["shown"] + len(lines)}
    if seen is None:
        lines = log_tail(store, job_id, LOG_TAIL)
        children = [text_block(lines)] if lines else []
        first, last = (lines[0].id, lines[-1].id) if lines else (0, 0)
        seen = {"first": first, "last": last, "shown": len(lines)}
        href = get_relative_path(f"/jobs/{job_id}/log.txt")
    total = log_count(store, job_id)
    shown = min(seen["shown"], total)
    if not total:
        info = "No lines yet."
    elif shown >= total:
        info = f"All {total:,} line{'s' if total > 1 else ''}."
    else:
        info = f"The last {shown:,} of {total:,} lines."
    return children, {"job": job_id, **seen}, shown >= total, info, href


def smoothing_of(value: Any) -> float:
    """The smoothing choice's weight (the select sends text), or 0 for anything else."""
    if isinstance(value, str) and len(value) <= 8:
        try:
            value = float(value)
        except ValueError:
            return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if 0 <= value < 1 else 0.0  # NaN fails both comparisons


def compare_page(store: JobStore, job_ids: Any, log_y: Any, smoothing: Any) -> Any:
    """The comparison page's tables and chart."""
    ids = [i for i in job_ids if isinstance(i, str)] if isinstance(job_ids, list) else []
    result = compare(store, ids)
    return compare_view.comparison(result, log_y=log_y is True, smoothing=smoothing_of(smoothing))


def register(app: Dash, deps: Deps) -> None:
    """Wire the log and the comparison page."""

    @app.callback(
        Output(Training.LOG, "children"),
        Output(Training.LOG_STATE, "data"),
        Output(Training.LOG_EARLIER, "disabled"),
        Output(Training.LOG_INFO, "children"),
        Output(Training.LOG_DOWNLOAD, "href"),
        Input(Training.REVISION, "data"),
        Input(Training.LOG_EARLIER, "n_clicks"),
        State(Training.CURRENT, "data"),
        State(Training.LOG_STATE, "data"),
    )
    def _log(_: Any, __: Any, job_id: Any, state: Any) -> tuple[Any, ...]:
        earlier = ctx.triggered_id == Training.LOG_EARLIER
        return log_update(deps.job_store, job_id, state, earlier)

    @app.callback(
        Output(Training.COMPARE_PAGE, "children"),
        Input(Training.COMPARE_LOG, "value"),
        Input(Training.COMPARE_SMOOTH, "value"),
        State(Training.COMPARE_JOBS, "data"),
    )
    def _compare_page(log_y: Any, smoothing: Any, job_ids: Any) -> Any:
        return compare_page(deps.job_store, job_ids, log_y, smoothing)

    # The chart's tools and the log show once there is a job (no server round trip).
    app.clientside_callback(
        ClientsideFunction(namespace="dashappTraining", function_name="showJobParts"),
        Output(Training.METRICS_TOOLS, "hidden"),
        Output(Training.LOG_SECTION, "hidden"),
        Input(Training.CURRENT, "data"),
    )
