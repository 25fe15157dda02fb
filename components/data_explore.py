"""The Data page's exploring tools: set filter and profile panel, grouping, chips."""

from __future__ import annotations

import json
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.common import aria, dropdown, icon, message, small_button
from components.ids import Data
from dashapp.data.catalog import NUMBER, TableInfo
from dashapp.data.distinct import DistinctValues
from dashapp.data.grouping import AGG_NAMES, MAX_GROUP_BY, Grouping
from dashapp.data.profile import ColumnProfile
from dashapp.data.set_filter import SET_KINDS

LABEL_CHARS = 120  # characters of a value shown in the set filter's list


def column_panel() -> dbc.Offcanvas:
    """The side panel of one column: its values to pick (set filter) and its profile."""
    values = html.Div(
        [
            dbc.Input(
                id=Data.SET_SEARCH,
                type="search",
                placeholder="Search values…",
                debounce=0.4,
                size="sm",
                className="mb-2",
            ),
            html.Div(id=Data.SET_NOTE, className="small text-body-secondary mb-2"),
            dcc.Loading(
                dbc.Checklist(id=Data.SET_LIST, options=[], value=[], className="set-list"),
                type="dot",
            ),
            html.Div(
                [
                    dbc.Button("Apply", id=Data.SET_APPLY, size="sm", color="primary"),
                    dbc.Button(
                        "Remove this filter",
                        id=Data.SET_CLEAR,
                        size="sm",
                        color="secondary",
                        outline=True,
                    ),
                ],
                className="d-flex gap-2 mt-3",
            ),
        ],
        className="pt-3",
    )
    profile = html.Div(dcc.Loading(html.Div(id=Data.PROFILE_BODY), type="dot"), className="pt-3")
    return dbc.Offcanvas(
        [
            dbc.Label("Column", html_for=Data.PANEL_COLUMN, className="small fw-semibold"),
            # A native select: a Dash dropdown's search box cannot take the focus inside
            # the panel (it keeps the focus within itself).
            dbc.Select(id=Data.PANEL_COLUMN, options=[], size="sm"),
            dbc.Tabs(
                [
                    dbc.Tab(values, label="Values", tab_id="values"),
                    dbc.Tab(profile, label="Profile", tab_id="profile"),
                ],
                id=Data.PANEL_TABS,
                active_tab="values",
                className="mt-3",
            ),
        ],
        id=Data.COLUMN_PANEL,
        title="Column values and profile",
        placement="end",
        is_open=False,
        scrollable=True,
    )


def group_card() -> dbc.Card:
    """Group by up to three columns, with aggregates."""
    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Label("Group by", html_for=Data.GROUP_BY, className="fw-semibold small"),
                dropdown(
                    id=Data.GROUP_BY,
                    multi=True,
                    placeholder=f"Up to {MAX_GROUP_BY} columns…",
                    className="small",
                ),
                dropdown(
                    id=Data.GROUP_AGGS,
                    multi=True,
                    value=[json.dumps(["count", None])],
                    placeholder="Aggregates…",
                    className="small",
                    slot_class="mt-2",
                ),
                html.Div(
                    [
                        small_button("collection", "Group", id=Data.GROUP_APPLY, color="primary"),
                        small_button("x-lg", "Ungroup", id=Data.GROUP_CLEAR, color="secondary"),
                    ],
                    className="d-flex gap-2 mt-2",
                ),
                html.Div(id=Data.GROUP_NOTE, className="small text-body-secondary mt-2"),
            ]
        ),
        className="shadow-sm mb-3",
    )


def group_options(info: TableInfo) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Options of the group-by and aggregate pickers for a table."""
    by = [{"label": c.name, "value": c.name} for c in info.columns if c.kind in SET_KINDS]
    aggs = [{"label": "count of rows", "value": json.dumps(["count", None])}]
    for col in info.columns:
        if col.kind == NUMBER:
            aggs += [
                {"label": f"{AGG_NAMES[fn]} of {col.name}", "value": json.dumps([fn, col.name])}
                for fn in ("sum", "avg", "min", "max")
            ]
    return by, aggs


def chip_bar(chips: list[tuple[str, str]]) -> list[Any]:
    """Removable chips, one per active filter, search or grouping."""
    return [
        html.Span(
            [
                html.Span(label, className="chip-label"),
                html.Button(
                    icon("x"),
                    id=Data.chip(key),
                    className="chip-remove",
                    title=f"Remove: {label}",
                    **aria(label=f"Remove {label}"),
                ),
            ],
            className="data-chip",
        )
        for key, label in chips
    ]


def set_options(found: DistinctValues, picked: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Checklist options (values as JSON text, so NULL is one too) and the picked ones."""
    approx = "≈" if found.estimated else ""
    options = [
        {"label": _value_label(v, f"{approx}{n:,}"), "value": json.dumps(v)}
        for v, n in found.values
    ]
    listed = {o["value"] for o in options}
    chosen = [json.dumps(v) for v in picked]
    # Picked values outside the list (a search narrowed it) stay picked, and shown.
    options += [
        {"label": _value_label(json.loads(v), "picked"), "value": v}
        for v in chosen
        if v not in listed
    ]
    return options, chosen


def _value_label(value: Any, count: str) -> html.Span:
    """A value and its count, as a checklist label (NULL as a word, long text cut)."""
    text = _label(value)
    if len(text) > LABEL_CHARS:
        text = text[: LABEL_CHARS - 1] + "…"
    return html.Span(
        [html.Span(text, className="fst-italic" if value in (None, "") else ""), html.Small(count)],
        className="set-option",
    )


def set_note(found: DistinctValues) -> str:
    """What the list shows: how many values, whether counted or estimated, whether cut."""
    if not found.values:
        return "No values match." if found.search else "No values in this view."
    text = f"{len(found.values):,} values"
    if found.more:
        text = f"The {len(found.values):,} commonest values; search to find others"
    text += (
        " · rows estimated from the database's statistics (no filter applied)"
        if found.estimated
        else " · rows in the current view"
    )
    return text + "."


def profile_body(profile: ColumnProfile) -> html.Div:
    """The profile's figures, and its top values or histogram as small bars."""
    approx = "≈" if profile.estimated else ""

    def number(n: int | None) -> str:
        return "unknown" if n is None else f"{approx}{n:,}"

    rows = [
        ("Type", f"{profile.kind} ({profile.sql_type})"),
        ("Rows in view", f"{profile.rows:,}"),
        ("NULLs", number(profile.nulls)),
        ("Distinct values", number(profile.distinct)),
    ]
    if profile.minimum is not None or profile.maximum is not None:
        rows += [("Minimum", _shown(profile.minimum)), ("Maximum", _shown(profile.maximum))]
    table = dbc.Table(
        html.Tbody(
            [
                html.Tr([html.Th(k, className="fw-normal text-body-secondary"), html.Td(v)])
                for k, v in rows
            ]
        ),
        size="sm",
        className="small mb-2 profile-table",
    )
    parts: list[Any] = [table]
    if profile.estimated:
        parts.append(
            message("≈: estimated from the database's statistics (no filter applied).", "info")
        )
    if profile.top is not None and profile.top.values:
        parts += [
            html.Div("Top values", className="small fw-semibold mt-2"),
            bars([(_label(v)[:LABEL_CHARS], n) for v, n in profile.top.values]),
        ]
    elif profile.chart is not None and profile.chart.counts:
        title = "Histogram" if profile.chart.kind == "histogram" else "Rows over time"
        parts += [
            html.Div(title, className="small fw-semibold mt-2"),
            bars(
                [
                    (_shown(x), n)
                    for x, n in zip(profile.chart.labels, profile.chart.counts, strict=True)
                ]
            ),
        ]
    return html.Div(parts, className="profile")


def bars(items: list[tuple[str, int]]) -> html.Div:
    """Labelled horizontal bars, scaled to the largest count (no chart library needed)."""
    top = max((n for _, n in items), default=0) or 1
    return html.Div(
        [
            html.Div(
                [
                    html.Span(label, className="bar-label", title=label),
                    html.Span(
                        html.Span(className="bar-fill", style={"width": f"{100 * n / top:.1f}%"}),
                        className="bar-track",
                    ),
                    html.Span(f"{n:,}", className="bar-count"),
                ],
                className="bar-row",
            )
            for label, n in items
        ],
        className="profile-bars",
    )


def _bin(value: Any) -> str:
    """A histogram bin's centre, or a period, as a short label."""
    return f"≈{value:,.4g}" if isinstance(value, float) else _shown(value)


def _label(value: Any) -> str:
    """A column's value as a list shows it: NULL and empty text as words."""
    return "NULL" if value is None else "(empty)" if value == "" else _shown(value)


def _shown(value: Any) -> str:
    """A value as text for the profile (numbers with separators)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "NULL" if value is None else str(value)


def grouping_status(grouping: Grouping, timeout_s: float) -> str:
    """What the status line says while the groups are computed."""
    by = ", ".join(grouping.by)
    return f"Computing groups by {by}… (stopped after {timeout_s:g} s if it takes longer)"
