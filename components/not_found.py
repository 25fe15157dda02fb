"""The 404 page."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import get_relative_path, html

from components.common import icon
from components.ids import NotFound


def layout(**_query: str) -> html.Div:
    """Build the page shown for an unknown address."""
    return html.Div(
        [
            html.H1([icon("signpost-split", class_name="me-2"), "Page not found"], className="h3"),
            html.P(
                "There is no page at this address. It may have moved, or the link is mistyped.",
                className="text-body-secondary",
            ),
            dbc.Button("Go to the home page", href=get_relative_path("/"), color="primary"),
        ],
        id=NotFound.BODY,
        className="py-5 text-center",
    )
