"""The runs table of the Training page: every job, paged by the server, in an AG Grid.

Rows come block by block from ``jobs.query`` (infinite row model); times are sent in UTC
and shown in the browser's time zone (assets/training.js formats them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from components.common import dropdown, icon, small_button
from components.ids import Training
from jobs.query import METRIC_SORT, Run
from jobs.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED

ALL_VALUE = "all"
BLOCK_SIZE = 50
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
# The columns the server can sort by (``jobs.query.SORTS``), by column id.
SORTABLE = ("name", "status", "trainer", "user", "created_at", "duration")
GRID_HEIGHT_PX = 440


def column_defs(metrics: list[str]) -> list[dict[str, Any]]:
    """The table's columns; ``metrics``: a column per final metric of the chosen trainer."""
    defs: list[dict[str, Any]] = [
        {
            "field": "short",
            "headerName": "Job",
            "cellRenderer": "JobLink",
            "sortable": False,
            "width": 110,
            "pinned": "left",
        },
        {
            "field": "name",
            "headerName": "Name",
            # Owners and admins rename in place; the server checks again (jobs.service).
            "editable": {"function": "!!(params.data && params.data.mine)"},
            "width": 180,
            "tooltipField": "name",
        },
        {
            "field": "tags",
            "headerName": "Tags",
            "editable": {"function": "!!(params.data && params.data.mine)"},
            "sortable": False,
            "width": 150,
            "tooltipValueGetter": {"function": "'Comma-separated tags'"},
        },
        {"field": "status", "headerName": "Status", "cellRenderer": "RunStatus", "width": 120},
        {"field": "trainer", "headerName": "Trainer", "width": 130},
        {"field": "user", "headerName": "User", "width": 120},
        {
            "field": "progress",
            "headerName": "Progress",
            "sortable": False,
            "width": 100,
            "type": "rightAligned",
            "valueFormatter": {"function": "params.value == null ? '' : params.value + '%'"},
        },
        {
            "field": "created_at",
            "headerName": "Created",
            "width": 195,
            "sort": "desc",
            "valueFormatter": {"function": "dashappLocalTime(params.value)"},
        },
        {
            "field": "duration",
            "headerName": "Duration",
            "width": 110,
            "type": "rightAligned",
            "valueFormatter": {"function": "dashappDuration(params.value)"},
        },
    ]
    defs += [
        {
            "field": f"{METRIC_SORT}{name}",
            "headerName": name,
            "width": max(110, 12 + 8 * len(name)),
            "type": "rightAligned",
            "valueFormatter": {"function": "dashappMetric(params.value)"},
            "headerTooltip": f"{name}: the last value the job recorded",
        }
        for name in metrics
    ]
    return defs


def _utc(at: datetime | None) -> str | None:
    """A stored time (UTC, naive) as ISO 8601 with its zone, for the browser to localise."""
    return None if at is None else at.isoformat(timespec="seconds") + "Z"


def run_row(
    run: Run, metrics: dict[str, float], *, mine: bool, now: datetime, place: int | None = None
) -> dict[str, Any]:
    """One row of the table: what it shows, and whether the viewer may change the run.

    ``place``: a queued run's place in the queue (1: the next to start).
    """
    end = run.finished_at or (now if run.status == RUNNING else None)
    duration = (end - run.started_at).total_seconds() if run.started_at and end else None
    progress = run.progress.get("percent") if run.progress else None
    row: dict[str, Any] = {
        "id": run.id,
        "short": run.id[:8],
        "href": get_relative_path(f"/training/{run.id}"),
        "name": run.name,
        "tags": ", ".join(run.tags),
        "status": run.status,
        "trainer": run.trainer,
        "user": run.user,
        "progress": 100 if run.status == SUCCEEDED else progress,
        "created_at": _utc(run.created_at),
        "duration": None if duration is None else max(0.0, round(duration, 1)),
        "mine": mine,
        "place": place,
    }
    row.update({f"{METRIC_SORT}{name}": value for name, value in metrics.items()})
    return row


def grid(metrics: list[str]) -> dag.AgGrid:
    """The runs grid (infinite row model: the server pages, sorts and filters)."""
    return dag.AgGrid(
        id=Training.RUNS,
        columnDefs=column_defs(metrics),
        defaultColDef={"resizable": True, "sortable": True, "minWidth": 70},
        rowModelType="infinite",
        getRowId="params.data.id",
        dashGridOptions={
            "cacheBlockSize": BLOCK_SIZE,
            "maxBlocksInCache": 40,
            # With two requests in flight a block can stay blank for good (NOTES-dash).
            "maxConcurrentDatasourceRequests": 1,
            "infiniteInitialRowCount": 1,
            "rowSelection": {
                "mode": "multiRow",
                "checkboxes": True,
                "headerCheckbox": False,
                "enableClickSelection": False,
            },
            "selectionColumnDef": {"pinned": "left", "width": 44, "maxWidth": 44},
            "singleClickEdit": False,
            "stopEditingWhenCellsLoseFocus": True,
            "tooltipShowDelay": 400,
            "enableCellTextSelection": True,
            "rowHeight": 34,
            "headerHeight": 38,
            "suppressFieldDotNotation": True,
            "suppressColumnVirtualisation": True,  # a few columns: all rendered
        },
        className="dashapp-grid runs-grid",
        style={"height": f"{GRID_HEIGHT_PX}px", "width": "100%"},
    )


def card(trainers: dict[str, str]) -> dbc.Card:
    """The runs card: search and filters, the grid, and what to do with selected runs."""
    filters = dbc.Row(
        [
            dbc.Col(
                dbc.Input(
                    id=Training.RUNS_QUICK,
                    type="search",
                    placeholder="Search name, id or tag…",
                    debounce=0.4,
                    size="sm",
                ),
                xs=12,
                md=4,
            ),
            dbc.Col(
                dropdown(
                    id=Training.STATUS_FILTER,
                    options=[{"label": "All statuses", "value": ALL_VALUE}]
                    + [{"label": s, "value": s} for s in STATUSES],
                    value=ALL_VALUE,
                    clearable=False,
                ),
                xs=6,
                md=4,
            ),
            dbc.Col(
                dropdown(
                    id=Training.TRAINER_FILTER,
                    options=[{"label": "All trainers", "value": ALL_VALUE}]
                    + [{"label": t, "value": n} for n, t in trainers.items()],
                    value=ALL_VALUE,
                    clearable=False,
                ),
                xs=6,
                md=4,
            ),
            dbc.Col(
                dropdown(id=Training.RUNS_USER, placeholder="Any user", multi=False),
                xs=6,
                md=4,
            ),
            dbc.Col(
                html.Div(
                    [
                        html.Label(
                            "Created", htmlFor=Training.RUNS_FROM, className="small text-nowrap"
                        ),
                        dbc.Input(id=Training.RUNS_FROM, type="date", size="sm"),
                        html.Label(
                            "Created until (included)",
                            htmlFor=Training.RUNS_TO,
                            className="visually-hidden",
                        ),
                        dbc.Input(id=Training.RUNS_TO, type="date", size="sm"),
                    ],
                    className="d-flex gap-1 align-items-center runs-dates",
                ),
                xs=6,
                md=8,
            ),
        ],
        className="g-2 mb-2 align-items-center",
    )
    actions = html.Div(
        [
            small_button(
                "bar-chart-line",
                "Compare selected",
                id=Training.RUNS_COMPARE,
                href=get_relative_path("/training/compare"),
                disabled=True,
                color="primary",
            ),
            small_button("trash", "Delete selected", id=Training.RUNS_DELETE, color="danger"),
            html.Div(id=Training.RUNS_MESSAGE, className="small", role="status"),
        ],
        className="d-flex gap-2 align-items-center mt-2 flex-wrap",
    )
    confirm = dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Delete runs")),
            dbc.ModalBody(id=Training.RUNS_DELETE_TEXT),
            dbc.ModalFooter(
                [
                    dbc.Button("Keep them", id=Training.RUNS_DELETE_CANCEL, color="secondary"),
                    dbc.Button(
                        [icon("trash", class_name="me-1"), "Delete"],
                        id=Training.RUNS_DELETE_CONFIRM,
                        color="danger",
                    ),
                ]
            ),
        ],
        id=Training.RUNS_DELETE_MODAL,
        is_open=False,
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.H2("Runs", className="h6 mb-0 me-2"),
                        html.Span(id=Training.RUNS_COUNT, className="small text-body-secondary"),
                    ],
                    className="d-flex align-items-baseline mb-2",
                ),
                filters,
                dbc.Alert(
                    id=Training.RUNS_NOTE,
                    is_open=False,
                    color="warning",
                    className="py-2 small mb-2",
                ),
                html.Div(grid([]), id=Training.JOBS, className="runs-box"),
                actions,
                confirm,
                dcc.Store(id=Training.RUNS_RANGE),
                dcc.Store(id=Training.RUNS_REFRESH, data=0),
                dcc.Store(id=Training.RUNS_SINK),
                # The table's statuses move while jobs run: refreshed in place (not while
                # a cell is being edited).
                dcc.Interval(id=Training.LIST_TICK, interval=4000),
            ]
        ),
        className="shadow-sm mb-3",
    )
