"""The landing page: one card per tool, each linking to its page."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import get_relative_path, html

from components.common import icon, page_header
from components.data_views import home_card
from components.ids import Home
from components.pages import TOOL_PAGES
from dashapp.data.views import SavedView


def layout(*, saved_views: list[SavedView] | None = None, **_query: str) -> html.Div:
    """Build the home page; ``saved_views``: those the user may open (None: unavailable)."""
    cards = [
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.Div(icon(page.icon), className="home-card-icon mb-3"),
                        html.H2(page.name, className="h5 card-title"),
                        html.P(page.summary, className="card-text text-body-secondary"),
                        dbc.Button(
                            ["Open ", page.name, icon("arrow-right", class_name="ms-1")],
                            href=get_relative_path(page.path),
                            color="primary",
                            outline=True,
                            size="sm",
                        ),
                    ]
                ),
                className="h-100 shadow-sm home-card",
            ),
            xs=12,
            md=4,
            className="mb-3",
        )
        for page in TOOL_PAGES
    ]
    return html.Div(
        [
            page_header(
                "dashapp",
                "grid-1x2",
                "Data, training and image tools for the data and ML team, in one place.",
            ),
            dbc.Row(cards, id=Home.CARDS),
            dbc.Row(dbc.Col(home_card(saved_views), xs=12, md=6), id=Home.SAVED_VIEWS),
        ]
    )
