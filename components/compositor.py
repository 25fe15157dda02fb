"""The Compositor page: uploads, the canvas, the layers panel, render and recipes."""

from __future__ import annotations

import functools
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.common import aria, dropdown, icon, message, page_header, small_button, stack_item
from components.compositor_batch import batch_card
from components.compositor_panels import (
    BUTTONS,
    FIELDS,
    controls,
    help_modal,
    icon_button,
    layer_list,
    no_layers,
    preview_url,
    render_url,
)
from components.ids import Compositor as C
from dashapp.compositor import composition
from dashapp.compositor import figure as canvas
from dashapp.compositor.model import Message, Refused, Rendered, View
from dashapp.compositor.upload_store import UploadStore

LOCAL: dict[str, Any] = {"persistence": True, "persistence_type": "local"}  # kept in the browser
GRAPH_CONFIG: dcc.Graph.Config = {
    "edits": {"shapePosition": True},
    "displaylogo": False,
    "scrollZoom": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toImage"],
}
__all__ = ["BUTTONS", "FIELDS", "layout", "view_props"]  # BUTTONS, FIELDS: the panels'


def figure(comp: composition.Comp, preview_scale: float = 1.0) -> dict[str, Any]:
    """The canvas figure of a composition, with preview URLs for this session."""
    return canvas.figure(
        comp, lambda image, lay: preview_url(comp["session"], image, lay), preview_scale
    )


def notes(messages: list[Message]) -> list[html.Div] | str:
    """An action's messages for one place on the page ("" clears it)."""
    return [message(text, kind) for text, kind in messages] or ""


def view_props(view: View) -> dict[str, Any]:
    """The page's properties that show a composition: canvas, layer list, fields, limits."""
    bg = view.comp["bg"]
    return {
        "figure": figure(view.comp, view.preview_scale),
        "canvas_style": canvas_style(bg),
        "empty_style": {"display": "none" if bg else "flex"},
        "layers": layer_list(view.comp),
        "fields": {"ids": list(FIELDS), "values": [view.fields[a] for a in FIELDS.values()]},
        "disabled": not view.has_selection,
        "bg_info": view.bg_info,
        "limits": {"max_bytes": view.max_bytes},
    }


def artifact_options(artifacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The picker's choices for image artifacts of finished jobs."""
    return [
        {"label": f"{a['name']} · {a['trainer']} · job {a['job_id'][:8]}", "value": a["id"]}
        for a in artifacts
    ]


def render_outcome(result: Rendered | Refused) -> html.Div:
    """What the Render button leaves: the render, or why there is none."""
    return message(result.message) if isinstance(result, Refused) else rendered(result)


def rendered(result: Rendered) -> html.Div:
    """A render's preview, its download link and what it took."""
    url = functools.partial(render_url, result.session, result.render_id)
    preview = html.Img(
        src=url() + "?preview=1",
        className="img-fluid rounded border render-preview",
        alt="Rendered composite",
    )
    download = html.A(
        ["Download ", result.fmt.upper()],
        href=url(download=True),
        className="btn btn-sm btn-primary",
        download="",
        id={"type": "compositor-download", "render": result.render_id},
    )
    took = f"{result.width}×{result.height} px · rendered in {result.seconds:.1f} s"
    return html.Div(
        [
            html.A(preview, href=url(), target="_blank"),
            html.Div(
                [download, html.Span(took, className="small text-body-secondary")],
                className="d-flex align-items-center gap-2 mt-2",
            ),
        ]
    )


def upload_zone(component_id: str, text: str, icon_name: str, *, multiple: bool) -> html.Div:
    """A drop (or click, or Enter) zone; its files go with progress (compositor_upload.js)."""
    zone = dcc.Upload(
        [icon(icon_name, class_name="me-2"), text],
        id=component_id,
        multiple=multiple,
        accept="image/*",
        className="upload-zone",
        className_active="upload-zone active",
    )
    # Its code loads after the first paint: the slot holds the zone's room meanwhile (CSS).
    # Its file input is its keyboard face (named by assets/compositor_input.js).
    return html.Div(zone, className="upload-slot")


def progress_box(component_id: str, what: str) -> html.Div:
    """Where the upload script shows a file's progress, then "processing" (hidden until then)."""
    return html.Div(
        [
            html.Span(className="upload-status-text"),
            html.Progress(max="100", className="upload-status-bar", **aria(label=what)),
        ],
        id=component_id,
        className="upload-status small",
        hidden=True,
        role="status",
    )


def canvas_style(bg: dict[str, Any] | None) -> dict[str, Any]:
    """The canvas takes the background's shape (no empty bands), up to most of the screen."""
    if not bg:
        return {"display": "none"}
    return {"display": "block", "aspectRatio": f"{bg['w']} / {bg['h']}", "height": "auto"}


def _card(*children: Any) -> dbc.Card:
    """One of the page's cards."""
    return dbc.Card(dbc.CardBody(list(children)), className="shadow-sm mb-3")


def _switch(component_id: str, label: str) -> dbc.Switch:
    """A toolbar switch, on by default, remembered in the browser."""
    return dbc.Switch(id=component_id, label=label, value=True, **LOCAL, className="mb-0")


def _canvas_card() -> dbc.Card:
    """The canvas, its toolbar (undo, redo, view, switches, background size) and its message."""
    toolbar = html.Div(
        [
            dbc.ButtonGroup(
                [
                    icon_button(C.UNDO, "arrow-counterclockwise", "Undo (Ctrl+Z)"),
                    icon_button(C.REDO, "arrow-clockwise", "Redo (Ctrl+Shift+Z)"),
                ]
            ),
            dbc.ButtonGroup(
                [
                    icon_button(C.FIT, "aspect-ratio", "Fit the canvas to the view"),
                    icon_button(C.ZOOM_100, "1-square", "100 %: one preview pixel per pixel"),
                ]
            ),
            html.Span(
                "100 %",
                id=C.ZOOM,
                className="small text-body-secondary zoom-level",
                title="Zoom",
                **aria(label="Zoom"),
            ),
            _switch(C.KEEP_ASPECT, "Keep aspect"),
            _switch(C.SNAP, "Snap"),
            html.Span(id=C.BG_INFO, className="ms-auto small text-body-secondary"),
            icon_button(C.HELP, "question-circle", "Keyboard shortcuts (?)"),
        ],
        className="d-flex align-items-center gap-2 flex-wrap mb-2",
    )
    # Drawn as the view callback leaves it without a background, so the page does not
    # open with a tall empty graph that then collapses. Plotly sizes itself to the box on
    # every redraw (responsive): without it a redraw fell back to 700×450 until a resize.
    graph = dcc.Graph(
        id=C.CANVAS,
        config=GRAPH_CONFIG,
        responsive=True,
        className="canvas-graph",
        style=canvas_style(None),
    )
    empty = html.Div(
        [
            icon("image", class_name="fs-1 d-block mb-2"),
            "Upload a background to start: drop or paste an image here.",
        ],
        id=C.CANVAS_EMPTY,
        className="canvas-empty text-body-secondary",
    )
    wrap = html.Div(
        [graph, empty, progress_box(C.CANVAS_PROGRESS, "Upload progress")],
        id=C.CANVAS_WRAP,
        className="canvas-wrap checkerboard",
        tabIndex="0",
        role="application",
        **aria(
            label="Canvas: arrow keys move the selected layer, Tab selects the next one; "
            "drop or paste images here",
            roledescription="canvas",
        ),
    )
    return _card(toolbar, html.Div(id=C.MESSAGE, className="small"), wrap, help_modal())


def _render_card() -> dbc.Card:
    """Format, JPEG quality, the Render button and the result."""
    formats = [{"label": "PNG", "value": "png"}, {"label": "JPEG", "value": "jpeg"}]
    quality = dbc.Input(id=C.QUALITY, type="number", min=1, max=100, step=1, value=90, **LOCAL)
    render = dbc.Button(
        [icon("brush", class_name="me-1"), "Render"],
        id=C.RENDER,
        color="primary",
        size="sm",
        title="Render at full resolution",
    )
    row = [
        html.Div(
            [
                html.Span("Format", id=f"{C.FORMAT}-label", className="visually-hidden"),
                dbc.RadioItems(id=C.FORMAT, options=formats, value="png", inline=True, **LOCAL),
            ],
            role="group",
            **aria(labelledby=f"{C.FORMAT}-label"),
        ),
        dbc.InputGroup(
            [
                html.Label("JPEG quality", htmlFor=C.QUALITY, className="input-group-text"),
                quality,
            ],
            size="sm",
        ),
        render,
    ]
    return _card(
        html.H2("Render", className="h6"),
        dbc.Row(
            [dbc.Col(part, width="auto") for part in row],
            className="g-2 align-items-center mb-2",
        ),
        dcc.Loading(html.Div(id=C.RESULT), type="dot", delay_show=300),
    )


def _side_cards() -> list[dbc.Card]:
    """Uploads and the layer list, the selected layer's panel, and recipes."""
    artifact = dbc.InputGroup(
        [
            dropdown(
                id=C.ARTIFACT,
                placeholder="Image from a training job…",
                className="artifact-picker",
                clearable=True,
                slot_class="flex-grow-1",
            ),
            small_button(
                "plus-lg",
                "Add",
                id=C.ARTIFACT_ADD,
                color="secondary",
                title="Add the job's image as a layer",
            ),
        ],
        size="sm",
        className="mt-2 flex-nowrap",
    )
    recipe_buttons = html.Div(
        [
            small_button(
                "download",
                "Save recipe",
                id=C.RECIPE_SAVE,
                color="secondary",
                title="Save the layers and their places",
            ),
            dcc.Upload(
                small_button(
                    "upload",
                    "Load recipe",
                    color="secondary",
                    title="Load a recipe onto the background",
                ),
                id=C.RECIPE_UPLOAD,
                accept=".json,application/json",
            ),
        ],
        className="d-flex gap-2",
    )
    return [
        _card(
            html.H2("Background", className="h6"),
            upload_zone(
                C.BG_UPLOAD, "Drop a background image or click", "card-image", multiple=False
            ),
            progress_box(C.BG_PROGRESS, "Background upload progress"),
            html.Div(id=C.BG_MESSAGE, className="small mt-1"),
            html.H2("Layers", className="h6 mt-3"),
            upload_zone(C.LAYER_UPLOAD, "Drop layer images or click", "plus-square", multiple=True),
            progress_box(C.LAYER_PROGRESS, "Layer upload progress"),
            html.Div(id=C.LAYER_MESSAGE, className="small mt-1"),
            artifact,
            html.Div(no_layers(), id=C.LAYERS, className="mt-3"),
        ),
        _card(html.H2("Selected layer", className="h6"), controls()),
        _card(
            html.H2("Recipe", className="h6"),
            html.P(
                "Save the layers and their places as a small JSON file; "
                "load it onto any background.",
                className="small text-body-secondary",
            ),
            recipe_buttons,
            dcc.Download(id=C.RECIPE_DOWNLOAD),
        ),
    ]


def layout(artifact: str | None = None, **_query: str) -> html.Div:
    """Build the Compositor page (``?artifact=<id>`` adds a training job's image as a layer)."""
    side = _side_cards()
    stores = [
        # A fresh session for a new browser; one kept in localStorage wins over it.
        dcc.Store(
            id=C.COMP, storage_type="local", data=composition.empty(UploadStore.new_session())
        ),
        *(dcc.Store(id=cid, storage_type="local") for cid in (C.HIST, C.GEOM)),
        dcc.Store(id=C.BG_PENDING),
        dcc.Store(id=C.LAYER_PENDING),
        dcc.Store(id=C.QUERY, data=artifact),
        *(dcc.Store(id=cid) for cid in (C.SELECT, C.FIELD_VALUES, C.LIMITS)),
        # The composition's revision the page shows, and the browser's request for a server
        # redraw when the stored one is not it (page load, restore from localStorage).
        *(dcc.Store(id=cid) for cid in (C.SHOWN_REV, C.VIEW_REQUEST)),
        # Set by assets/compositor.js: nudges, their commit, list commands, queued files.
        *(dcc.Store(id=cid) for cid in (C.NUDGE, C.COMMIT, C.LAYER_CMD, C.UPLOAD_REQUEST)),
    ]
    return html.Div(
        [
            page_header(
                "Compositor",
                "layers",
                "Drag uploaded images onto a background and render the result at full resolution.",
            ),
            # Stacked (narrow frame): uploads, canvas, selected layer, render, recipe, batch.
            dbc.Row(
                [
                    dbc.Col(
                        [
                            stack_item(_canvas_card(), 2),
                            stack_item(_render_card(), 4),
                            stack_item(batch_card(), 6),
                        ],
                        lg=8,
                        className="stack-contents",
                    ),
                    dbc.Col(
                        [stack_item(card, n) for card, n in zip(side, (1, 3, 5), strict=True)],
                        lg=4,
                        className="stack-contents",
                    ),
                ]
            ),
            *stores,
        ],
        id=C.ROOT,
    )
