"""The page of one training job (``/training/<job id>``): shareable, live while it runs."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import get_relative_path, html

from components.common import icon, page_header
from components.training import job_container


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
