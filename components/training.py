"""The Training page: a form built from the trainer's schema, the live job, the runs table.

The live job panel it shows is built by ``components.job`` (shared with a job's own page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.common import dom_id, dropdown, icon, page_header
from components.ids import Training
from components.job import job_container
from components.runs import card as runs_card
from jobs import registry
from jobs.params import BOOL, CHOICE, FLOAT, INT, Param


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
    label = (
        []
        if p.type == BOOL
        else [dbc.Label(p.title, html_for=dom_id(common["id"]), className="small mb-1")]
    )
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


def unavailable_note(items: Sequence[registry.Unavailable]) -> Any:
    """The "Unavailable trainers" note: plugins that were declared but cannot run, and why."""
    if not items:
        return None
    return html.Details(
        [
            html.Summary(
                [icon("exclamation-triangle", class_name="me-1"), "Unavailable trainers"],
                className="text-warning-emphasis",
            ),
            html.Ul(
                [
                    html.Li([html.Strong(u.name), f" ({u.source}): ", html.Span(u.reason)])
                    for u in items
                ],
                className="mb-0 ps-3",
            ),
        ],
        className="small text-body-secondary mt-2 training-unavailable",
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
                unavailable_note(registry.load().unavailable),
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
    current = dbc.Card(
        dbc.CardBody([*job_container(None, preload=False), html.Div(id=Training.PRELOAD)]),
        className="shadow-sm mb-3",
    )
    runs = runs_card({n: t.title for n, t in names.items()})
    return html.Div(
        [
            page_header("Training", "cpu", "Start PyTorch training jobs and watch them live."),
            dbc.Row(
                [
                    dbc.Col(new_job, xs=12, lg=4, className="mb-3"),
                    dbc.Col([runs, current], xs=12, lg=8),
                ],
                className="g-3",
            ),
        ]
    )
