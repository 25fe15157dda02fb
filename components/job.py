"""A training job's live panel, and the page of one job (``/training/<job id>``).

The panel (status, progress, metrics, artifacts, log) is shared with the Training page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, get_relative_path, html

from components import compare
from components.common import (
    icon,
    message,
    page_header,
    progress_bar,
    small_button,
)
from components.ids import Training
from components.metrics import chart, chart_tools, facts_block, metrics_figure
from jobs.reporter import split_facts
from jobs.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job

STATUS_COLOR = {
    QUEUED: "secondary",
    RUNNING: "primary",
    SUCCEEDED: "success",
    FAILED: "danger",
    CANCELLED: "warning",
}


def status_badge(status: str) -> dbc.Badge:
    """A coloured badge for a job status (dark text on the light colours, for contrast)."""
    color = STATUS_COLOR.get(status, "secondary")
    return dbc.Badge(
        status,
        color=color,
        text_color="dark" if color in ("warning", "info", "light") else None,
        className="text-uppercase",
    )


def _duration(seconds: float | None) -> str:
    """``1m 05s`` style."""
    if seconds is None:
        return "–"
    s = int(seconds)
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


def queue_note(position: int | None) -> str:
    """Where a queued job stands: ``2nd in the queue (1 job ahead)``."""
    if position is None or position < 1:
        return "waiting for a free slot"
    if position == 1:
        return "next in the queue: waiting for a free slot"
    ahead = position - 1
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(position % 10, "th")
    if 10 <= position % 100 <= 20:
        suffix = "th"
    return f"{position}{suffix} in the queue ({ahead} job{'s' if ahead > 1 else ''} ahead)"


def job_header(job: Job, position: int | None = None) -> html.Div:
    """Status, progress and actions of one job: the part that changes on every poll.

    ``position``: a queued job's place in the queue (1: next to run).
    """
    prog = job.progress or {}
    percent = float(prog.get("percent") or (100 if job.status == SUCCEEDED else 0))
    detail = []
    if prog:
        detail.append(f"step {prog.get('step')}/{prog.get('total')}")
        if prog.get("epoch"):
            detail.append(f"epoch {prog.get('epoch')}/{prog.get('epochs')}")
        detail.append(f"elapsed {_duration(prog.get('elapsed_s'))}")
        if job.status == RUNNING:
            detail.append(f"ETA {_duration(prog.get('eta_s'))}")
    base = f"/jobs/{job.id}"
    actions: list[Any] = []
    if not job.done:
        actions.append(small_button("stop-circle", "Cancel", id=Training.CANCEL, color="danger"))
    if job.revision:
        actions.append(
            small_button(
                "file-zip",
                "Artifacts (.zip)",
                href=get_relative_path(f"{base}/artifacts.zip"),
                external_link=True,
                color="secondary",
            )
        )
    if job.weights_path:
        actions.append(
            small_button(
                "download",
                "Weights (.pt)",
                href=get_relative_path(f"{base}/model.pt"),
                external_link=True,
                color="secondary",
            )
        )
    if isinstance(job.params.get("table"), str):
        # The grid view this job trained on.
        link = urlencode({"table": job.params["table"], "filter": job.params.get("filter") or "{}"})
        actions.append(
            small_button(
                "table", "Open the data", href=get_relative_path(f"/data?{link}"), color="secondary"
            )
        )
    if job.done:
        actions.append(
            small_button(
                "arrow-repeat",
                "Run again",
                href=get_relative_path(f"/training?run_again={job.id}"),
                color="primary",
                # One click, one navigation: assets/training.js ignores clicks meanwhile.
                className="once-only",
            )
        )
    error: list[Any] = []
    if job.error:
        error.append(message(job.error, "danger", box=True))
        if job.traceback:
            error.append(
                html.Details(
                    [
                        html.Summary("Traceback", className="small"),
                        html.Pre(job.traceback, className="small"),
                    ]
                )
            )
    return html.Div(
        [
            html.Div(
                [
                    html.H2(
                        f"Job {job.id[:8]}",
                        className="h6 d-inline fw-semibold me-2 font-monospace",
                    ),
                    status_badge(job.status),
                    html.Span(
                        f" {job.trainer} · {job.user} · {job.device or 'device pending'}",
                        className="small text-body-secondary ms-2",
                    ),
                ],
                className="mb-2",
            ),
            progress_bar(
                percent,
                f"Progress of job {job.id[:8]}",
                label=f"{percent:.0f}%",
                live=job.status == RUNNING,
                class_name="mb-1",
                style={"height": "1.2rem"},
            ),
            html.Div(
                " · ".join(detail) or (queue_note(position) if job.status == QUEUED else ""),
                className="small text-body-secondary mb-2",
            ),
            *error,
            html.Div(actions, className="d-flex gap-2 mb-2 flex-wrap"),
            html.Div(id=Training.CANCEL_NOTE, className="small"),
        ]
    )


def job_body(view: dict[str, Any], *, log_y: bool = False, smoothing: float = 0.0) -> html.Div:
    """Metrics panels and facts, newest artifacts and parameters: redrawn when they change."""
    job: Job = view["job"]
    base = f"/jobs/{job.id}"
    newest = list(reversed(view["artifacts"]))[:4]
    gallery = [
        html.Div(
            [
                html.A(
                    html.Img(
                        src=get_relative_path(f"{base}/artifacts/{a['id']}"),
                        alt=a["name"],
                        className="img-fluid rounded border",
                    ),
                    href=get_relative_path(f"{base}/artifacts/{a['id']}"),
                    target="_blank",
                    title=f"{a['name']} (open full size)",
                    className="artifact",
                ),
                dcc.Link(
                    [icon("layers", class_name="me-1"), "Use in Compositor"],
                    href=get_relative_path(f"/compositor?artifact={a['id']}"),
                    className="small d-block mt-1 to-compositor",
                )
                if job.done
                else None,
            ]
        )
        for a in newest
    ]
    params = html.Table(
        html.Tbody(
            [
                html.Tr(
                    [html.Th(k, className="fw-normal text-body-secondary pe-3"), html.Td(str(v))]
                )
                for k, v in job.params.items()
            ]
        ),
        className="small",
    )
    _, facts = split_facts(view["metrics"])
    figure = metrics_figure({"": view["metrics"]}, log_y=log_y, smoothing=smoothing, ui_key=job.id)
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col([facts_block(facts), chart(figure)], md=6),
                    dbc.Col(
                        html.Div(
                            gallery
                            or html.P(
                                "Images appear here as the job makes them.",
                                className="small text-body-secondary",
                            ),
                            className="gallery",
                        ),
                        md=6,
                    ),
                ]
            ),
            html.H3("Parameters", className="h6 mt-3"),
            params,
        ]
    )


def job_panel(view: dict[str, Any]) -> html.Div:
    """Header and body together (used where both are drawn at once)."""
    return html.Div([job_header(view["job"]), job_body(view), log_section(view["job"].id)])


def log_section(job_id: str | None) -> html.Div:
    """The whole log: newest lines at the bottom, earlier ones on demand, and a download.

    Filled by the log callback; hidden until there is a job to show.
    """
    return html.Div(
        [
            html.Div(
                [
                    html.H3("Log", className="h6 mb-0 me-2"),
                    html.Span(id=Training.LOG_INFO, className="small text-body-secondary me-auto"),
                    dbc.Button(
                        [icon("arrow-up", class_name="me-1"), "Load earlier"],
                        id=Training.LOG_EARLIER,
                        size="sm",
                        color="secondary",
                        outline=True,
                        disabled=True,
                    ),
                    small_button(
                        "download",
                        "log.txt",
                        id=Training.LOG_DOWNLOAD,
                        href=get_relative_path(f"/jobs/{job_id}/log.txt") if job_id else None,
                        external_link=True,
                        color="secondary",
                    ),
                ],
                className="d-flex align-items-center gap-2 mt-3 mb-2 flex-wrap",
            ),
            # Filled in blocks of lines (text); assets/training.js keeps the view at the
            # bottom while new lines come, and in place while earlier ones are added above.
            html.Pre([], id=Training.LOG, className="small job-log mb-0"),
            dcc.Store(id=Training.LOG_STATE),
        ],
        id=Training.LOG_SECTION,
        hidden=not job_id,
    )


def plotly_preload() -> dcc.Graph:
    """A hidden chart: drawing it loads plotly.js before the first metrics need it."""
    return dcc.Graph(
        figure=go.Figure(), style={"display": "none"}, config={"displayModeBar": False}
    )


def job_container(job_id: str | None, *, preload: bool = True) -> list[Any]:
    """The live panel's frame: which job, a poll timer and where the panel is drawn.

    ``preload``: load plotly.js with the page (~1.3 s before the first progress would have
    it); the Training page loads it after its runs table's first rows instead (parsing
    plotly.js holds the browser for about a second, and the table would wait for it).
    """
    return [
        *([plotly_preload()] if preload else []),
        dcc.Store(id=Training.CURRENT, data=job_id),
        dcc.Store(id=Training.SIGNATURE),
        dcc.Store(id=Training.REVISION),
        dcc.Interval(id=Training.TICK, interval=500),
        html.Div(
            [
                html.Div(id=Training.HEADER),
                html.Div(
                    chart_tools(Training.METRICS_LOG, Training.METRICS_SMOOTH),
                    id=Training.METRICS_TOOLS,
                    hidden=not job_id,
                    className="mb-2",
                ),
                html.Div(id=Training.BODY),
                log_section(job_id),
            ],
            id=Training.PANEL,
        ),
    ]


def layout(job_id: str = "", **query: str) -> html.Div:
    """Build the job page; the panel fills in from the job store.

    ``/training/compare`` is the comparison page (no job id is a word: they are hex).
    """
    if job_id == "compare":
        return compare.layout(**query)
    return html.Div(
        [
            page_header("Training job", "cpu", "Progress, metrics, artifacts and log of one job."),
            dbc.Button(
                [icon("arrow-left", class_name="me-1"), "All jobs"],
                href=get_relative_path("/training"),
                color="link",
                size="sm",
                className="px-0 mb-2",
            ),
            dbc.Card(dbc.CardBody(job_container(job_id)), className="shadow-sm"),
        ]
    )
