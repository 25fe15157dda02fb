"""The Data page: browse database tables in a grid (placeholder until issue 3 lands)."""

from __future__ import annotations

from dash import html

from components.common import placeholder
from components.ids import Data


def layout(**_query: str) -> html.Div:
    """Build the Data page."""
    return placeholder(
        Data.PLACEHOLDER,
        "Data",
        "table",
        "Browse the tables of the configured database.",
        [
            "a searchable picker of every table and view, with row counts and columns",
            "an AG Grid that scrolls, sorts and filters millions of rows in SQL",
            "row details, CSV export of the filtered view and quick charts",
        ],
    )
