"""The Compositor's batch render card: backgrounds to render onto, progress, the zip."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.common import aria, dropdown, icon, message, small_button
from components.compositor_panels import batch_url
from components.ids import Compositor as C
from dashapp.compositor.batch import ARTIFACT, UPLOAD, Batch, source
from dashapp.compositor.model import Refused
from dashapp.compositor.upload_store import ImageInfo

MODES = [
    {"label": "the current composition", "value": "current"},
    {"label": "a saved recipe", "value": "recipe"},
]


def batch_options(images: list[ImageInfo], artifacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch picker's choices: this session's uploads, then finished jobs' images."""
    return [
        {"label": f"Upload: {i.name} · {i.width}×{i.height}", "value": source(UPLOAD, i.id)}
        for i in reversed(images)
    ] + [
        {
            "label": f"Job image: {a['name']} · {a['trainer']} · job {a['job_id'][:8]}",
            "value": source(ARTIFACT, a["id"]),
        }
        for a in artifacts
    ]


def batch_card() -> dbc.Card:
    """Pick backgrounds and a recipe, render them all; progress, cancel, the zip."""
    recipe = dcc.Upload(
        small_button("filetype-json", "Choose recipe…", color="secondary", title="Choose recipe"),
        id=C.BATCH_RECIPE,
        accept=".json,application/json",
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Batch render", className="h6"),
                html.P(
                    "Lay the layers onto several backgrounds at once, each placed and scaled "
                    "as on a new background, and download the renders as a zip (format and "
                    "quality as above).",
                    className="small text-body-secondary",
                ),
                html.Label("Backgrounds", htmlFor=C.BATCH_SOURCES, className="form-label small"),
                dropdown(
                    id=C.BATCH_SOURCES,
                    multi=True,
                    placeholder="Uploads and job images…",
                    className="batch-picker",
                    slot_class="mb-2",
                ),
                html.Div(
                    [
                        html.Span("Apply", className="small me-2", id=f"{C.BATCH_MODE}-label"),
                        dbc.RadioItems(
                            id=C.BATCH_MODE, options=MODES, value="current", inline=True
                        ),
                    ],
                    className="d-flex flex-wrap align-items-center mb-2",
                    role="group",
                    **aria(labelledby=f"{C.BATCH_MODE}-label"),
                ),
                html.Div(
                    [recipe, html.Span(id=C.BATCH_RECIPE_NAME, className="small ms-2")],
                    className="d-flex align-items-center mb-2",
                ),
                html.Div(
                    [
                        dbc.Button(
                            [icon("images", class_name="me-1"), "Render all"],
                            id=C.BATCH_RUN,
                            color="primary",
                            size="sm",
                            title="Render onto every chosen background",
                        ),
                        dbc.Button(
                            [icon("stop-circle", class_name="me-1"), "Cancel"],
                            id=C.BATCH_CANCEL,
                            color="secondary",
                            outline=True,
                            size="sm",
                            disabled=True,
                            title="Stop the batch",
                        ),
                    ],
                    className="d-flex gap-2 mb-2",
                ),
                html.Div(
                    [
                        html.Progress(
                            id=C.BATCH_PROGRESS,
                            value="0",
                            max="100",
                            hidden=True,
                            className="batch-progress flex-grow-1",
                            **aria(label="Batch render progress"),
                        ),
                        html.Span(id=C.BATCH_STATUS, className="small", **aria(live="polite")),
                    ],
                    className="d-flex align-items-center gap-2 mb-2",
                ),
                html.Div(id=C.BATCH_RESULT, className="small", **aria(live="polite")),
                dcc.Store(id=C.BATCH_REQUEST),
            ]
        ),
        className="shadow-sm mb-3",
    )


def batch_progress(done: int, total: int) -> tuple[str, str]:
    """The progress bar's value (percent) and the words beside it."""
    return str(round(100 * done / total)), f"{done} of {total} rendered"


def batch_outcome(result: Batch | Refused) -> html.Div:
    """What a batch leaves: the zip's download link, and what could not be rendered."""
    if isinstance(result, Refused):
        return message(result.message)
    renders = f"{result.count} render" + ("s" if result.count != 1 else "")
    link = html.A(
        [icon("file-earmark-zip", class_name="me-1"), f"Download {renders} (zip)"],
        href=batch_url(result.session, result.batch_id),
        className="btn btn-sm btn-primary",
        download="",
        id={"type": "compositor-batch-download", "batch": result.batch_id},
    )
    took = f"{result.fmt.upper()} · rendered in {result.seconds:.1f} s"
    parts: list[Any] = [
        html.Div(
            [link, html.Span(took, className="text-body-secondary")],
            className="d-flex align-items-center gap-2",
        )
    ]
    if result.problems:
        parts.append(message("Not rendered: " + " ".join(result.problems), "warning"))
    return html.Div(parts)
