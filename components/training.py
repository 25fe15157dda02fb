"""The Training page: PyTorch jobs from the browser (placeholder until issue 4 lands)."""

from __future__ import annotations

from dash import html

from components.common import placeholder
from components.ids import Training


def layout(**_query: str) -> html.Div:
    """Build the Training page."""
    return placeholder(
        Training.PLACEHOLDER,
        "Training",
        "cpu",
        "Start PyTorch training jobs and watch them live.",
        [
            "a form per trainer (image classifier, tabular model on a table of the database)",
            "live progress, metrics chart, log and image artifacts; cancel at any time",
            "a persistent job history with comparison, downloads and re-runs",
        ],
    )
