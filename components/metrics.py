"""Metric charts as a W&B user expects them: a panel per family, one step axis, facts apart.

``metrics_figure`` is the one builder of metric charts: the job panel and the comparison
both draw with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from components.common import style_figure
from jobs.reporter import Series, split_facts

# Plotly's default colours, named once: a run (in a comparison) or a metric keeps its colour
# in every panel.
PALETTE = (
    "#636efa",
    "#ef553b",
    "#00cc96",
    "#ab63fa",
    "#ffa15a",
    "#19d3f3",
    "#ff6692",
    "#b6e880",
    "#ff97ff",
    "#fecb52",
)
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
PANEL_PX = 170
# Markers on a line help read a few points and clutter many.
MARKERS_UP_TO = 60
SMOOTHING_MAX = 0.99


def family(name: str) -> str:
    """The panel a metric goes in: the losses together, the accuracies together, others alone."""
    low = name.lower()
    if "loss" in low:
        return "loss"
    if "acc" in low:
        return "accuracy"
    return name


def _family_order(name: str) -> tuple[int, str]:
    """Losses first, accuracies second, the others by name."""
    return ({"loss": 0, "accuracy": 1}.get(name, 2), name)


def ema(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average, debiased at the start (W&B's and TensorBoard's smoothing).

    ``weight`` 0 leaves the values as they are; near 1 smooths hard.
    """
    weight = min(max(float(weight), 0.0), SMOOTHING_MAX)
    out, last, n = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):  # a NaN loss must not poison every point after it
            out.append(v)
            continue
        n += 1
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight**n))
    return out


Line = tuple[str, str, list[tuple[int, float]]]  # run label, metric name, points


def _panels(runs: Mapping[str, Series]) -> dict[str, list[Line]]:
    """Family -> its lines, the facts left out."""
    panels: dict[str, list[Line]] = {}
    for label, metrics in runs.items():
        series, _ = split_facts(dict(metrics))
        for name, points in sorted(series.items()):
            ordered = sorted(points)  # by step: several writers may interleave
            panels.setdefault(family(name), []).append((label, name, ordered))
    return dict(sorted(panels.items(), key=lambda kv: _family_order(kv[0])))


def metrics_figure(
    runs: Mapping[str, Series],
    *,
    log_y: bool = False,
    smoothing: float = 0.0,
    ui_key: str = "",
) -> go.Figure:
    """Every series of every run, one panel per metric family, all against one step axis.

    ``runs`` maps a run's label (empty for a single job, a job's short id in a comparison)
    to its metrics; facts (``rows_trained``) are left out: they are figures, not series.
    ``log_y`` puts every panel on a log scale (values <= 0 are then not drawn);
    ``smoothing`` (0-0.99) draws an EMA over the raw line, which stays faint behind it.
    ``ui_key`` keeps the user's zoom while the same view is redrawn (a live job).
    """
    panels = _panels(runs)
    labels = list(runs)
    several = len([label for label in labels if label]) > 1
    if not panels:
        fig = go.Figure()
        fig.add_annotation(
            text="Metrics appear here as the job reports them.",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return style_figure(fig, height=PANEL_PX)
    rows = len(panels)
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.08, 0.5 / rows) if rows > 1 else 0.0,
        subplot_titles=list(panels),
    )
    smooth = min(max(float(smoothing or 0.0), 0.0), SMOOTHING_MAX)
    metric_names = sorted({name for lines in panels.values() for _, name, _ in lines})
    for row, lines in enumerate(panels.values(), start=1):
        in_panel = sorted({name for _, name, _ in lines})
        for label, name, points in lines:
            colour_index = labels.index(label) if several else metric_names.index(name)
            colour = PALETTE[colour_index % len(PALETTE)]
            dash = DASHES[in_panel.index(name) % len(DASHES)] if several else "solid"
            steps = [s for s, _ in points]
            values = [v for _, v in points]
            title = f"{label} {name}".strip()
            line = {"color": colour, "dash": dash, "width": 2}
            mode = "lines+markers" if len(points) <= MARKERS_UP_TO else "lines"
            if smooth > 0:
                fig.add_scatter(
                    x=steps,
                    y=values,
                    mode="lines",
                    line={**line, "width": 1},
                    opacity=0.25,
                    name=f"{title} (raw)",
                    legendgroup=title,
                    showlegend=False,
                    hoverinfo="skip",
                    row=row,
                    col=1,
                )
                values = ema(values, smooth)
            fig.add_scatter(
                x=steps,
                y=values,
                name=title,
                legendgroup=title,
                mode=mode,
                line=line,
                marker_size=4,
                row=row,
                col=1,
            )
    fig.update_yaxes(type="log" if log_y else "linear")
    fig.update_xaxes(title_text="step", row=rows, col=1)
    fig.update_annotations(font_size=11, xanchor="left", x=0)
    style_figure(
        fig,
        height=PANEL_PX * rows + 60,
        legend={"orientation": "h", "y": -60 / (PANEL_PX * rows), "yanchor": "top"},
        hovermode="x unified",
        uirevision=f"{ui_key}|{log_y}",
    )
    fig.update_layout(margin={"t": 22, "b": 48})  # room for the panel titles and the legend
    return fig


def fact_text(value: float) -> str:
    """A fact as a person reads it: ``20,000`` or ``0.9132``."""
    if math.isfinite(value) and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"


def facts_block(facts: Mapping[str, float]) -> html.Div | None:
    """Single values about a run (``rows_trained``), shown as figures beside the charts."""
    if not facts:
        return None
    return html.Div(
        [
            html.Div(
                [
                    html.Div(fact_text(value), className="fact-value"),
                    html.Div(name.replace("_", " "), className="fact-name"),
                ],
                className="metric-fact",
                title=name,
            )
            for name, value in sorted(facts.items())
        ],
        className="metric-facts",
    )


def chart(figure: go.Figure) -> dcc.Graph:
    """The metrics chart as shown on a page."""
    return dcc.Graph(figure=figure, config={"displaylogo": False}, className="metrics-chart")


# The smoothing weights offered: TensorBoard's slider, in the steps people actually use.
SMOOTHING_CHOICES = (0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99)


def chart_tools(log_id: Any, smooth_id: Any) -> html.Div:
    """The log-scale switch and the smoothing choice; the choices are kept in the browser.

    A native select with a label (Dash 4's slider gives its handle no accessible name).
    """
    keep: dict[str, Any] = {"persistence": True, "persistence_type": "local"}
    return html.Div(
        [
            dbc.Switch(id=log_id, label="Log scale", value=False, className="mb-0", **keep),
            html.Div(
                [
                    dbc.Label(
                        "Smoothing", html_for=smooth_id, className="small mb-0 me-2 text-nowrap"
                    ),
                    dbc.Select(
                        id=smooth_id,
                        options=[
                            {"label": "off" if w == 0 else f"{w:g}", "value": f"{w:g}"}
                            for w in SMOOTHING_CHOICES
                        ],
                        value="0",
                        size="sm",
                        className="smoothing-select",
                        **keep,
                    ),
                ],
                className="d-flex align-items-center",
            ),
        ],
        className="metrics-tools d-flex flex-wrap align-items-center gap-3 small",
    )


def all_facts(runs: Mapping[str, Series]) -> dict[str, dict[str, float]]:
    """Each run's facts, by run label."""
    return {label: split_facts(dict(metrics))[1] for label, metrics in runs.items()}
