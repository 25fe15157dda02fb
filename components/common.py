"""Small layout pieces shared by several pages."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html


def icon(name: str, *, class_name: str = "") -> html.I:
    """A Bootstrap icon (served locally from assets/)."""
    return html.I(className=f"bi bi-{name} {class_name}".strip(), **aria(hidden="true"))


def aria(**attributes: str) -> dict[str, Any]:
    """``aria-*`` attributes as keyword arguments for a component (``aria(live="polite")``)."""
    return {f"aria-{key.replace('_', '-')}": value for key, value in attributes.items()}


MESSAGE_KINDS = ("danger", "warning", "success", "info", "secondary")


def message(text: Any, kind: str = "danger", *, box: bool = False) -> html.Div:
    """The app's one message style: text in the colour of its kind, or a small alert box.

    ``kind`` is danger (it failed), warning (done, with a caveat), success or info.
    """
    kind = kind if kind in MESSAGE_KINDS else "danger"
    if box:
        return html.Div(text, className=f"alert alert-{kind} py-2 px-3 small mb-2", role="alert")
    return html.Div(text, className=f"text-{kind}")


def small_button(icon_name: str, label: Any, **kwargs: Any) -> dbc.Button:
    """The pages' small outlined action button: an icon, then its label."""
    return dbc.Button(
        [icon(icon_name, class_name="me-1"), label], outline=True, size="sm", **kwargs
    )


def page_header(title: str, icon_name: str, lead: str) -> html.Div:
    """Title row of a page: icon, heading and one line saying what the page is for."""
    return html.Div(
        [
            html.H1([icon(icon_name, class_name="me-2 text-primary"), title], className="h3 mb-1"),
            html.P(lead, className="text-body-secondary mb-0"),
        ],
        className="mb-4",
    )


def style_figure(fig: go.Figure, **layout: Any) -> go.Figure:
    """Transparent, compact chart styling readable in light and dark mode."""
    fig.update_layout(
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": "#8a8f98", "size": 11},
        **layout,
    )
    fig.update_xaxes(gridcolor="rgba(128,128,128,0.2)")
    fig.update_yaxes(gridcolor="rgba(128,128,128,0.2)")
    return fig


def stack_item(child: Any, order: int) -> html.Div:
    """A card's place when the page's columns stack (narrow): ``order`` among the row's items.

    The columns holding these are ``stack-contents``: below the ``lg`` breakpoint they step
    aside (``display: contents``) so the cards of both columns interleave (assets CSS).
    """
    return html.Div(child, className=f"stack-item order-{order} order-lg-0")


def dropdown(
    *, slot_class: str = "", slot_style: dict[str, str] | None = None, **kwargs: Any
) -> html.Div:
    """A ``dcc.Dropdown`` in a box that already has its height on the first paint.

    Dash loads a dropdown's code after the page is drawn; until then it takes no room, and
    everything below it jumped down when it arrived (assets CSS ``.dropdown-slot``).
    """
    return html.Div(
        dcc.Dropdown(**kwargs),
        className=f"dropdown-slot {slot_class}".strip(),
        style=slot_style or {},
    )
