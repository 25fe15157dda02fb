"""Runs side by side: ``/training/compare?jobs=<id>,<id>`` (a link anyone can open)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from components.common import icon, page_header
from components.ids import Training
from components.metrics import all_facts, chart, chart_tools, fact_text, metrics_figure

MAX_COMPARED = 8


def compare_href(job_ids: Sequence[str]) -> str:
    """The shareable address of a comparison of these jobs."""
    return str(get_relative_path("/training/compare?jobs=" + ",".join(job_ids)))


def job_ids(text: Any) -> list[str]:
    """The job ids of a comparison's link (``a,b,c``); anything else is ignored."""
    if not isinstance(text, str):
        return []
    ids = [part.strip() for part in text.split(",")]
    return [i for i in ids if i.isalnum() and len(i) <= 64][:MAX_COMPARED]


def comparison(result: Any, *, log_y: bool = False, smoothing: float = 0.0) -> Any:
    """Parameters and facts side by side (differences highlighted), every metric overlaid."""
    if result.error:
        return html.P(result.error, className="small text-body-secondary mb-0")
    head = html.Thead(
        html.Tr(
            [html.Th("Parameter")]
            + [
                html.Th(
                    dcc.Link(j.id[:8], href=get_relative_path(f"/training/{j.id}")),
                    className="font-monospace",
                )
                for j in result.jobs
            ]
        )
    )
    rows = [
        html.Tr(
            [html.Td(name)] + [html.Td(str(v)) for v in values],
            className="table-warning" if differs else "",
        )
        for name, values, differs in result.params
    ]
    runs = {job.id[:8]: result.metrics[job.id] for job in result.jobs}
    facts = all_facts(runs)
    for name in sorted({n for f in facts.values() for n in f}):
        values = [facts[label].get(name) for label in runs]
        shown = ["–" if v is None else fact_text(v) for v in values]
        rows.append(
            html.Tr(
                [html.Td(name.replace("_", " "), className="fst-italic")]
                + [html.Td(v) for v in shown],
                className="table-warning" if len(set(shown)) > 1 else "",
            )
        )
    fig = metrics_figure(runs, log_y=log_y, smoothing=smoothing, ui_key=",".join(runs))
    return html.Div(
        [
            dbc.Table([head, html.Tbody(rows)], size="sm", className="small", responsive=True),
            chart(fig),
        ]
    )


def layout(jobs: str = "", **_query: str) -> html.Div:
    """Build the comparison page of the jobs named in the link."""
    ids = job_ids(jobs)
    return html.Div(
        [
            page_header("Compare runs", "bar-chart-line", "Parameters and metrics side by side."),
            dbc.Button(
                [icon("arrow-left", class_name="me-1"), "All jobs"],
                href=get_relative_path("/training"),
                color="link",
                size="sm",
                className="px-0 mb-2",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        chart_tools(Training.COMPARE_LOG, Training.COMPARE_SMOOTH),
                        dcc.Store(id=Training.COMPARE_JOBS, data=ids),
                        html.Div(id=Training.COMPARE_PAGE, className="mt-3"),
                    ]
                ),
                className="shadow-sm",
            ),
        ]
    )
