"""The Training page: a form built from the trainer's schema, the jobs list, comparisons.

The live job panel it shows is built by ``components.job`` (shared with a job's own page).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from components.common import dropdown, icon, page_header
from components.ids import Training
from components.job import STATUS_COLOR, job_container, status_badge
from jobs import registry
from jobs.params import BOOL, CHOICE, FLOAT, INT, Param
from jobs.store import QUEUED, Job

ALL_VALUE = "all"


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

    def shown(bound: float | None) -> str:
        if bound is None:
            return ""
        if p.type == INT or (float(bound).is_integer() and abs(bound) >= 1e6):
            return f"{int(bound):,}"  # 2,147,483,647, not 2.14748e+09
        return f"{bound:g}"

    return f" ({shown(p.minimum)}–{shown(p.maximum)})"


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


def _known(trainer_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """The values that are parameters of this trainer."""
    names = {p.name for p in registry.get(trainer_name).params}
    return {k: v for k, v in values.items() if k in names}


def layout(**query: str) -> html.Div:
    """Build the Training page; ``?trainer=…&run_again=<job id>`` pre-fill the form."""
    names = registry.trainers()
    asked = query.get("trainer") or ""
    first = asked if asked in names else next(iter(names))
    # Pre-fill: "Run again" names an earlier job; "Train on this view" passes a table and filter.
    run_again = (query.get("run_again") or "")[:64]
    given = {k: query[k][:10_000] for k in ("table", "filter", "target") if query.get(k)}
    new_job = dbc.Card(
        dbc.CardBody(
            [
                html.H2("New job", className="h6"),
                dbc.Label("Trainer", html_for=Training.TRAINER, className="small mb-1"),
                dropdown(
                    id=Training.TRAINER,
                    options=[{"label": t.title, "value": n} for n, t in names.items()],
                    value=first,
                    clearable=False,
                ),
                html.P(
                    names[first].description,
                    id=Training.DESCRIPTION,
                    className="small text-body-secondary mt-2",
                ),
                html.Div(form(first, _known(first, given)), id=Training.FORM),
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
                dcc.Store(id=Training.RUN_AGAIN, data={"job": run_again, "values": given}),
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
                            dropdown(
                                id=Training.STATUS_FILTER,
                                options=[{"label": "All statuses", "value": ALL_VALUE}]
                                + [{"label": s, "value": s} for s in STATUS_COLOR],
                                value=ALL_VALUE,
                                clearable=False,
                                slot_style={"minWidth": "10rem"},
                            ),
                            width="auto",
                        ),
                        dbc.Col(
                            dropdown(
                                id=Training.TRAINER_FILTER,
                                options=[{"label": "All trainers", "value": ALL_VALUE}]
                                + [{"label": t.title, "value": n} for n, t in names.items()],
                                value=ALL_VALUE,
                                clearable=False,
                                slot_style={"minWidth": "14rem"},
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
                html.Div(
                    [
                        html.H2("Compare jobs", className="h6 mb-0 me-auto"),
                        html.A(
                            [icon("link-45deg", class_name="me-1"), "Open as a page"],
                            id=Training.COMPARE_LINK,
                            className="small",
                            hidden=True,
                        ),
                    ],
                    className="d-flex align-items-center mb-2",
                ),
                dropdown(
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
