"""The home page: your jobs (polled while the page is open), recent tables and renders.

Also the shell's memory of the tables opened on the Data page (kept in the browser).
"""

from __future__ import annotations

import logging
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, no_update
from sqlalchemy.exc import SQLAlchemyError

from components import home
from components.ids import Data, Home, Shell
from dashapp.compositor.recent import recent_renders
from dashapp.compositor.storage import StorageError
from dashapp.compositor.upload_store import UploadStore
from dashapp.data.catalog import Catalog, DataUnavailable, TableEntry
from dashapp.deps import Deps
from jobs.store import JobStore

log = logging.getLogger(__name__)
# Running jobs are listed first: look a little past the newest few for older ones.
JOBS_LOOKED_AT = 20
UNAVAILABLE = "unavailable"


def jobs_update(store: JobStore, user: str, shown: Any) -> tuple[Any, Any]:
    """The jobs card and its signature, or no update when what it shows has not changed."""
    try:
        jobs = store.list_jobs(user=user, limit=JOBS_LOOKED_AT)
    except SQLAlchemyError:
        log.exception("listing the home page's jobs failed")
        return (home.jobs_list(None), UNAVAILABLE) if shown != UNAVAILABLE else (no_update,) * 2
    signature = home.jobs_signature(jobs)
    if signature == shown:
        return no_update, no_update
    return home.jobs_list(jobs), signature


def rows_text(entry: TableEntry) -> str:
    """How many rows a table has, as the picker says it (``~`` for an estimate)."""
    if entry.rows is None:
        return "view" if entry.is_view else ""
    return f"{'~' if entry.estimated else ''}{entry.rows:,} rows"


def recent_tables(catalog: Catalog, wanted: Any) -> list[tuple[str, str]]:
    """The remembered tables one may still open, with their sizes, most recent first."""
    keys = (
        list(dict.fromkeys(k for k in wanted if isinstance(k, str)))
        if isinstance(wanted, list)
        else []
    )
    keys = keys[: 2 * home.TABLES_LISTED]
    try:
        entries = {e.key: e for e in catalog.list_tables()}
    except DataUnavailable:  # the database is away: the names are still good links
        return [(k, "") for k in keys if catalog.visible(k)][: home.TABLES_LISTED]
    return [(k, rows_text(entries[k])) for k in keys if k in entries][: home.TABLES_LISTED]


def renders(store: UploadStore, sid: Any) -> Any:
    """The renders card of the browser's Compositor session."""
    if not store.valid_session(sid):
        return home.renders_list(None, [])
    try:
        return home.renders_list(sid, recent_renders(store, sid))
    except StorageError:
        log.exception("listing the home page's renders failed")
        return home.renders_list(sid, None)


def browser_cards(deps: Deps, remembered: Any) -> tuple[Any, Any]:
    """The recent tables and renders cards from what the browser remembers."""
    data = remembered if isinstance(remembered, dict) else {}
    tables = home.tables_list(recent_tables(deps.catalog, data.get("tables")))
    return tables, renders(deps.upload_store, data.get("compositor"))


def register(app: Dash, deps: Deps) -> None:
    """Wire the home page, and the shell's memory of opened tables."""
    # A table chosen in the picker, and a linked one that came with the page: the picker's
    # own callback leaves that one's value as it is, so the page's link state names it.
    app.clientside_callback(
        ClientsideFunction(namespace="dashappHome", function_name="rememberTable"),
        Output(Shell.RECENT_TABLES, "data"),
        Input(Data.PICKER, "value"),
        State(Shell.RECENT_TABLES, "data"),
        State(Shell.ME, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dashappHome", function_name="rememberShown"),
        Output(Shell.RECENT_TABLES, "data", allow_duplicate=True),
        Input(Data.STATE, "data"),
        State(Shell.RECENT_TABLES, "data"),
        State(Shell.ME, "data"),
        prevent_initial_call="initial_duplicate",
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dashappHome", function_name="browser"),
        Output(Home.BROWSER, "data"),
        Input(Shell.RECENT_TABLES, "data"),
        State(Shell.ME, "data"),
    )

    @app.callback(
        Output(Home.RECENT_TABLES, "children"),
        Output(Home.RENDERS, "children"),
        Input(Home.BROWSER, "data"),
    )
    def _browser(remembered: Any) -> tuple[Any, Any]:
        return browser_cards(deps, remembered)

    @app.callback(
        Output(Home.JOBS, "children"),
        Output(Home.JOBS_SIGNATURE, "data"),
        Input(Home.JOBS_TICK, "n_intervals"),
        State(Home.JOBS_SIGNATURE, "data"),
    )
    def _jobs(_tick: Any, shown: Any) -> tuple[Any, Any]:
        return jobs_update(deps.job_store, deps.current_user().name, shown)
