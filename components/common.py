"""Small layout pieces shared by several pages."""

from __future__ import annotations

import json
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
    # The ``-emphasis`` shade (Bootstrap lists it later, so it wins): plain ``text-success``
    # (or warning, info) is too pale to read on the dark theme's cards (3.4:1), and warning
    # and info on white. ``text-{kind}`` stays for what looks for the kind of message.
    return html.Div(text, className=f"text-{kind} text-{kind}-emphasis")


def small_button(icon_name: str, label: Any, **kwargs: Any) -> dbc.Button:
    """The pages' small outlined action button: an icon, then its label."""
    return dbc.Button(
        [icon(icon_name, class_name="me-1"), label], outline=True, size="sm", **kwargs
    )


def progress_bar(
    value: float,
    name: str,
    *,
    label: str = "",
    live: bool = False,
    class_name: str = "",
    style: dict[str, str] | None = None,
) -> html.Div:
    """A Bootstrap progress bar named for screen readers (``dbc.Progress`` cannot be named).

    ``live``: striped and moving, for work in progress.
    """
    moving = " progress-bar-striped progress-bar-animated" if live else ""
    return html.Div(
        html.Div(
            label,
            className=f"progress-bar{moving}",
            style={"width": f"{value:.0f}%"},
            role="progressbar",
            **aria(label=name, valuenow=f"{value:g}", valuemin="0", valuemax="100"),
        ),
        className=f"progress {class_name}".strip(),
        style=style or {},
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
    # Bootstrap's order classes stop at 5; ``order-last`` (6) puts a sixth item after them.
    place = f"order-{order}" if order <= 5 else "order-last"
    return html.Div(child, className=f"stack-item {place} order-lg-0")


def dropdown(
    *,
    slot_class: str = "",
    slot_style: dict[str, str] | None = None,
    label: str | None = None,
    **kwargs: Any,
) -> html.Div:
    """A ``dcc.Dropdown`` in a box that already has its height on the first paint.

    Dash loads a dropdown's code after the page is drawn; until then it takes no room, and
    everything below it jumped down when it arrived (assets CSS ``.dropdown-slot``).
    ``label``: its name for screen readers where no visible label names it (a hidden
    ``<label for>``, which assets/dashapp.js gives the dropdown's button).
    """
    hidden = [html.Label(label, htmlFor=kwargs["id"], className="visually-hidden")] if label else []
    return html.Div(
        [*hidden, dcc.Dropdown(**kwargs)],
        className=f"dropdown-slot {slot_class}".strip(),
        style=slot_style or {},
    )


def search_label(for_id: str, name: str) -> html.Label:
    """A search field's magnifier (an input group's text), which is also its label."""
    return html.Label(
        [icon("search"), html.Span(name, className="visually-hidden")],
        htmlFor=for_id,
        className="input-group-text",
    )


def dom_id(component_id: str | dict[str, Any]) -> str:
    """The id an element gets in the page (a pattern id is written as sorted, compact JSON)."""
    if isinstance(component_id, str):
        return component_id
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
