"""A training job's live panel, and the page of one job (``/training/<job id>``).

The panel (status, progress, metrics, artifacts, log) is shared with the Training page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, get_relative_path, html

from components.common import (
    icon,
    message,
    page_header,
    progress_bar,
    small_button,
    style_figure,
)
from components.ids import Training
from jobs.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job

STATUS_COLOR = {
    QUEUED: "secondary",
    RUNNING: "primary",
    SUCCEEDED: "success",
    FAILED: "danger",
    CANCELLED: "warning",
}


def status_badge(status: str) -> dbc.Badge:
    """A coloured badge for a job status."""
    return dbc.Badge(
        status, color=STATUS_COLOR.get(status, "secondary"), className="text-uppercase"
    )


def metrics_figure(
    series: dict[str, list[tuple[int, float]]], *, height: int = 260, markers: bool = True
) -> go.Figure:
    """Every series (a metric, or a job's metric in a comparison) against the training step.

    The one builder of metric charts: the job page and the comparison both draw with it.
    """
    fig = go.Figure()
    for name, points in sorted(series.items()):
        fig.add_scatter(
            x=[s for s, _ in points],
            y=[v for _, v in points],
            name=name,
            mode="lines+markers" if markers else "lines",
            marker_size=4,
        )
    return style_figure(
        fig, height=height, legend={"orientation": "h", "y": -0.2}, xaxis_title="step"
    )


def _duration(seconds: float | None) -> str:
    """``1m 05s`` style."""
    if seconds is None:
        return "–"
    s = int(seconds)
    return f"{s // 60}m {s % 60:02d}s" if s >= 60 else f"{s}s"


def job_header(job: Job) -> html.Div:
    """Status, progress and actions of one job: the part that changes on every poll."""
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
                " · ".join(detail) or ("waiting for a free slot" if job.status == QUEUED else ""),
                className="small text-body-secondary mb-2",
            ),
            *error,
            html.Div(actions, className="d-flex gap-2 mb-2 flex-wrap"),
            html.Div(id=Training.CANCEL_NOTE, className="small"),
        ]
    )


def job_body(view: dict[str, Any]) -> html.Div:
    """Metrics chart, newest artifacts, log and parameters: redrawn only when they change."""
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
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Graph(
                            figure=metrics_figure(view["metrics"]), config={"displaylogo": False}
                        ),
                        md=6,
                    ),
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
            html.H3("Log", className="h6 mt-3"),
            html.Pre("\n".join(view["logs"]) or "(nothing yet)", className="small job-log"),
            html.H3("Parameters", className="h6 mt-3"),
            params,
        ]
    )


def job_panel(view: dict[str, Any]) -> html.Div:
    """Header and body together (used where both are drawn at once)."""
    return html.Div([job_header(view["job"]), job_body(view)])


def job_container(job_id: str | None) -> list[Any]:
    """The live panel's frame: which job, a poll timer and where the panel is drawn."""
    return [
        # Loads plotly.js with the page, not when the first progress arrives (~1.3 s here).
        dcc.Graph(figure=go.Figure(), style={"display": "none"}, config={"displayModeBar": False}),
        dcc.Store(id=Training.CURRENT, data=job_id),
        dcc.Store(id=Training.SIGNATURE),
        dcc.Store(id=Training.REVISION),
        dcc.Interval(id=Training.TICK, interval=500),
        html.Div([html.Div(id=Training.HEADER), html.Div(id=Training.BODY)], id=Training.PANEL),
    ]


def layout(job_id: str = "", **_query: str) -> html.Div:
    """Build the job page; the panel fills in from the job store."""
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
