"""Callbacks of the app shell: theme switch, the collapsible navigation, job toasts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, Patch, State, no_update
from sqlalchemy.exc import SQLAlchemyError

from components.ids import Shell
from components.shell import job_toast
from dashapp.deps import Deps
from jobs.follow import ended_since
from jobs.store import JobStore

MAX_SEEN = 50


def ended_toasts(store: JobStore, user: str, since: Any, seen: Any) -> tuple[Any, Any, Any]:
    """Toasts for ``user``'s jobs that ended since the page opened and were not announced.

    Returns the toasts to add (a Patch), the new ``since`` and the ids announced at it;
    nothing changes when no job ended, or while the state database does not answer (the
    next poll tries again: a toast is late, never an error on the page).
    """
    try:
        when = datetime.fromisoformat(since) if isinstance(since, str) else None
    except ValueError:
        when = None
    if when is None:
        return no_update, no_update, no_update
    announced = {s for s in seen if isinstance(s, str)} if isinstance(seen, list) else set()
    try:
        ended = ended_since(store, user, when.replace(tzinfo=None))
    except SQLAlchemyError:
        return no_update, no_update, no_update
    new = [e for e in ended if e.id not in announced]
    if not new:
        return no_update, no_update, no_update
    toasts = Patch()
    for e in new:
        toasts.append(job_toast(e.id, e.trainer, e.status))
    latest = max(e.finished_at for e in ended)
    # Jobs ending at the very same time as the newest are asked for again next time.
    at_latest = [e.id for e in ended if e.finished_at == latest][:MAX_SEEN]
    return toasts, latest.isoformat(), at_latest


def register(app: Dash, deps: Deps) -> None:
    """Wire the shell's callbacks (the theme and navigation need no server round trip)."""
    # The theme lives in localStorage (assets/dashapp.js); this keeps the switch in step.
    app.clientside_callback(
        ClientsideFunction(namespace="dashapp", function_name="themeSwitch"),
        Output(Shell.THEME_SWITCH, "value"),
        Input(Shell.THEME_SWITCH, "value"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dashapp", function_name="toggleNav"),
        Output(Shell.NAV_COLLAPSE, "is_open"),
        Input(Shell.NAV_TOGGLER, "n_clicks"),
        State(Shell.NAV_COLLAPSE, "is_open"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(Shell.TOASTS, "children"),
        Output(Shell.JOBS_SINCE, "data"),
        Output(Shell.JOBS_SEEN, "data"),
        Input(Shell.JOBS_TICK, "n_intervals"),
        State(Shell.JOBS_SINCE, "data"),
        State(Shell.JOBS_SEEN, "data"),
        prevent_initial_call=True,
    )
    def _toasts(_: Any, since: Any, seen: Any) -> tuple[Any, Any, Any]:
        return ended_toasts(deps.job_store, deps.current_user().name, since, seen)
