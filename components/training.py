"""The Training page: a form built from the trainer's schema, the jobs list, the live job panel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, get_relative_path, html

from components.common import icon, page_header, style_figure
from components.ids import Training
from jobs import registry
from jobs.params import BOOL, CHOICE, FLOAT, INT, Param
from jobs.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job

ALL_VALUE = "all"
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


def param_field(p: Param, value: Any = None) -> html.Div:
    """One form field generated from a parameter's schema."""
    current = p.default if value is None else value
    common: dict[str, Any] = {"id": Training.param(p.name)}
    control: Any
    if p.type == BOOL:
        control = dbc.Switch(value=bool(current), label=p.title, **common)
    elif p.type == CHOICE:
        control = dbc.Select(
            options=[{"label": str(c), "value": c} for c in p.choices], value=current, **common
        )
    else:
        # No min/max on the element: the browser would then send no value at all for an
        # out-of-range number, and the user would not learn the bound; the server says it.
        control = dbc.Input(
            type="number" if p.type in (INT, FLOAT) else "text",
            value=current,
            step=1 if p.type == INT else "any",
            size="sm",
            **common,
        )
    label = [] if p.type == BOOL else [dbc.Label(p.title, className="small mb-1")]
    return html.Div(
        [
            *label,
            control,
            dbc.FormFeedback(id=Training.param_error(p.name), type="invalid"),
            dbc.FormText(p.help + _bounds(p), className="d-block"),
        ],
        className="mb-2",
    )


def _bounds(p: Param) -> str:
    """`` (1–50)`` for a bounded number, else nothing."""
    if p.type not in (INT, FLOAT) or (p.minimum is None and p.maximum is None):
        return ""
    lo = "" if p.minimum is None else f"{p.minimum:g}"
    hi = "" if p.maximum is None else f"{p.maximum:g}"
    return f" ({lo}–{hi})"


def form(trainer_name: str, values: dict[str, Any] | None = None) -> list[Any]:
    """The fields of one trainer, pre-filled with ``values`` (e.g. "run again")."""
    trainer = registry.get(trainer_name)
    values = values or {}
    return [param_field(p, values.get(p.name)) for p in trainer.params]


def jobs_table(jobs: list[Job]) -> Any:
    """The jobs list: newest first, each row a link to the job's page."""
    if not jobs:
        return html.P(
            "No jobs yet. Start one with the form.", className="text-body-secondary small"
        )
    rows = [
        html.Tr(
            [
                html.Td(
                    dcc.Link(
                        job.id[:8],
                        href=get_relative_path(f"/training/{job.id}"),
                        className="font-monospace",
                    )
                ),
                html.Td(job.trainer),
                html.Td(status_badge(job.status)),
                html.Td(f"{job.progress.get('percent', 0):.0f}%" if job.progress else "–"),
                html.Td(job.user, className="text-body-secondary"),
                html.Td(
                    job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    className="text-body-secondary text-nowrap",
                ),
            ]
        )
        for job in jobs
    ]
    head = html.Thead(
        html.Tr(
            [html.Th(h) for h in ("Job", "Trainer", "Status", "Progress", "User", "Created (UTC)")]
        )
    )
    return dbc.Table(
        [head, html.Tbody(rows)], hover=True, size="sm", responsive=True, className="small mb-0"
    )


def metrics_figure(metrics: dict[str, list[tuple[int, float]]]) -> go.Figure:
    """Every metric against the training step."""
    fig = go.Figure()
    for name, points in sorted(metrics.items()):
        fig.add_scatter(
            x=[s for s, _ in points],
            y=[v for _, v in points],
            name=name,
            mode="lines+markers",
            marker_size=4,
        )
    return style_figure(fig, height=260, legend={"orientation": "h", "y": -0.2}, xaxis_title="step")


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
        actions.append(
            dbc.Button(
                [icon("stop-circle", class_name="me-1"), "Cancel"],
                id=Training.CANCEL,
                color="danger",
                outline=True,
                size="sm",
            )
        )
    if job.revision:
        actions.append(
            dbc.Button(
                [icon("file-zip", class_name="me-1"), "Artifacts (.zip)"],
                href=get_relative_path(f"{base}/artifacts.zip"),
                external_link=True,
                color="secondary",
                outline=True,
                size="sm",
            )
        )
    if job.weights_path:
        actions.append(
            dbc.Button(
                [icon("download", class_name="me-1"), "Weights (.pt)"],
                href=get_relative_path(f"{base}/model.pt"),
                external_link=True,
                color="secondary",
                outline=True,
                size="sm",
            )
        )
    if isinstance(job.params.get("table"), str):
        # The grid view this job trained on.
        link = urlencode({"table": job.params["table"], "filter": job.params.get("filter") or "{}"})
        actions.append(
            dbc.Button(
                [icon("table", class_name="me-1"), "Open the data"],
                href=get_relative_path(f"/data?{link}"),
                color="secondary",
                outline=True,
                size="sm",
            )
        )
    if job.done:
        actions.append(
            dbc.Button(
                [icon("arrow-repeat", class_name="me-1"), "Run again"],
                href=get_relative_path(f"/training?run_again={job.id}"),
                color="primary",
                outline=True,
                size="sm",
            )
        )
    error: list[Any] = []
    if job.error:
        error.append(dbc.Alert(job.error, color="danger", className="py-2 small mb-2"))
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
                    html.Span(f"Job {job.id[:8]}", className="fw-semibold me-2 font-monospace"),
                    status_badge(job.status),
                    html.Span(
                        f" {job.trainer} · {job.user} · {job.device or 'device pending'}",
                        className="small text-body-secondary ms-2",
                    ),
                ],
                className="mb-2",
            ),
            dbc.Progress(
                value=percent,
                label=f"{percent:.0f}%",
                striped=job.status == RUNNING,
                animated=job.status == RUNNING,
                className="mb-1",
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


def _known(trainer_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """The values that are parameters of this trainer."""
    names = {p.name for p in registry.get(trainer_name).params}
    return {k: v for k, v in values.items() if k in names}


def layout(**query: str) -> html.Div:
    """Build the Training page; ``?trainer=…&run_again=<job id>`` pre-fill the form."""
    names = registry.trainers()
    first = query.get("trainer") if query.get("trainer") in names else next(iter(names))
    # Pre-fill: "Run again" names an earlier job; "Train on this view" passes a table and filter.
    prefill = {
        "job": (query.get("run_again") or "")[:64],
        "values": {k: query[k][:10_000] for k in ("table", "filter", "target") if query.get(k)},
    }
    new_job = dbc.Card(
        dbc.CardBody(
            [
                html.H2("New job", className="h6"),
                dbc.Label("Trainer", html_for=Training.TRAINER, className="small mb-1"),
                dcc.Dropdown(
                    id=Training.TRAINER,
                    options=[{"label": t.title, "value": n} for n, t in names.items()],
                    value=first,
                    clearable=False,
                ),
                html.P(id=Training.DESCRIPTION, className="small text-body-secondary mt-2"),
                html.Div(form(first, _known(first, prefill["values"])), id=Training.FORM),
                dbc.Alert(
                    id=Training.FORM_ERROR, is_open=False, color="danger", className="py-2 small"
                ),
                dbc.Button(
                    [icon("play-fill", class_name="me-1"), "Start"],
                    id=Training.START,
                    color="primary",
                    className="w-100",
                ),
                html.Div(id=Training.LAUNCHES, className="d-none"),
                dcc.Store(id=Training.RUN_AGAIN, data=prefill),
            ]
        ),
        className="shadow-sm",
    )
    jobs = dbc.Card(
        dbc.CardBody(
            [
                dbc.Row(
                    [
                        dbc.Col(html.H2("Jobs", className="h6 mb-0"), width="auto"),
                        dbc.Col(
                            dcc.Dropdown(
                                id=Training.STATUS_FILTER,
                                options=[{"label": "All statuses", "value": ALL_VALUE}]
                                + [{"label": s, "value": s} for s in STATUS_COLOR],
                                value=ALL_VALUE,
                                clearable=False,
                                style={"minWidth": "10rem"},
                            ),
                            width="auto",
                        ),
                        dbc.Col(
                            dcc.Dropdown(
                                id=Training.TRAINER_FILTER,
                                options=[{"label": "All trainers", "value": ALL_VALUE}]
                                + [{"label": t.title, "value": n} for n, t in names.items()],
                                value=ALL_VALUE,
                                clearable=False,
                                style={"minWidth": "14rem"},
                            ),
                            width="auto",
                        ),
                    ],
                    className="g-2 align-items-center mb-2",
                ),
                html.Div(id=Training.JOBS),
                dcc.Interval(id=Training.LIST_TICK, interval=2000),
            ]
        ),
        className="shadow-sm mb-3",
    )
    current = dbc.Card(dbc.CardBody(job_container(None)), className="shadow-sm mb-3")
    compare = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Compare jobs", className="h6"),
                dcc.Dropdown(
                    id=Training.COMPARE,
                    multi=True,
                    placeholder="Pick two or more jobs of one trainer…",
                ),
                html.Div(id=Training.COMPARE_BODY, className="mt-3"),
            ]
        ),
        className="shadow-sm",
    )
    return html.Div(
        [
            page_header("Training", "cpu", "Start PyTorch training jobs and watch them live."),
            dbc.Row(
                [
                    dbc.Col(new_job, xs=12, lg=4, className="mb-3"),
                    dbc.Col([jobs, current, compare], xs=12, lg=8),
                ],
                className="g-3",
            ),
        ]
    )


def comparison(result: Any) -> Any:
    """Parameters side by side (differences highlighted) and every metric overlaid."""
    if result.error:
        return html.P(result.error, className="small text-body-secondary mb-0")
    head = html.Thead(
        html.Tr(
            [html.Th("Parameter")]
            + [html.Th(j.id[:8], className="font-monospace") for j in result.jobs]
        )
    )
    rows = [
        html.Tr(
            [html.Td(name)] + [html.Td(str(v)) for v in values],
            className="table-warning" if differs else "",
        )
        for name, values, differs in result.params
    ]
    fig = go.Figure()
    for job in result.jobs:
        for name, points in sorted(result.metrics[job.id].items()):
            fig.add_scatter(
                x=[s for s, _ in points],
                y=[v for _, v in points],
                name=f"{job.id[:8]} {name}",
                mode="lines",
            )
    style_figure(fig, height=300, xaxis_title="step")
    return html.Div(
        [
            dbc.Table([head, html.Tbody(rows)], size="sm", className="small", responsive=True),
            dcc.Graph(figure=fig, config={"displaylogo": False}),
        ]
    )


def compare_options(jobs: list[Job]) -> list[dict[str, str]]:
    """Dropdown entries for jobs that have something to compare."""
    return [
        {
            "label": f"{j.id[:8]} · {j.trainer} · {j.status} · {j.created_at:%m-%d %H:%M}",
            "value": j.id,
        }
        for j in jobs
        if j.status != QUEUED
    ]
