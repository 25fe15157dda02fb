"""The Compositor page: place images on a background (placeholder until issue 5 lands)."""

from __future__ import annotations

from dash import html

from components.common import placeholder
from components.ids import Compositor


def layout(**_query: str) -> html.Div:
    """Build the Compositor page."""
    return placeholder(
        Compositor.PLACEHOLDER,
        "Compositor",
        "layers",
        "Drag uploaded images onto a background and render the result.",
        [
            "uploads of a background and any number of layers",
            "drag, resize, reorder, flip and fade layers on a canvas",
            "a full-resolution PNG or JPEG rendered on the server, pixel-exact",
        ],
    )
