"""The Compositor page: uploads, the canvas, the layers panel, render and recipes."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from components.common import dropdown, icon, page_header, small_button, stack_item
from components.ids import Compositor as C
from dashapp.compositor import composition
from dashapp.compositor.upload_store import UploadStore

GRAPH_CONFIG = {
    "edits": {"shapePosition": True},
    "displaylogo": False,
    "scrollZoom": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toImage"],
}


def preview_url(session: str, image_id: str, layer: dict[str, Any] | None) -> str:
    """Where the browser fetches the (transformed) preview of a stored image."""
    code = "000"
    if layer is not None:
        code = f"{int(layer['flip_h'])}{int(layer['flip_v'])}{layer['rot']}"
    return get_relative_path(f"/compositor/files/{session}/{image_id}/preview?t={code}")


def render_url(session: str, render_id: str, *, download: bool = False) -> str:
    """Where a rendered file is served (inline, or as a download)."""
    tail = "?download=1" if download else ""
    return get_relative_path(f"/compositor/files/{session}/renders/{render_id}{tail}")


def figure(comp: composition.Comp) -> dict[str, Any]:
    """The canvas figure of a composition, with preview URLs for this session."""
    return composition.figure(comp, lambda image, lay: preview_url(comp["session"], image, lay))


def upload_zone(
    component_id: str, text: str, *, multiple: bool, accept: str = "image/*"
) -> html.Div:
    """A drag-and-drop (or click) upload zone."""
    zone = dcc.Upload(
        [icon("cloud-arrow-up", class_name="me-2"), text],
        id=component_id,
        multiple=multiple,
        accept=accept,
        className="upload-zone",
        className_active="upload-zone active",
    )
    # Its code loads after the first paint: the slot holds the zone's room meanwhile (CSS).
    return html.Div(zone, className="upload-slot")


def no_layers() -> list[Any]:
    """What the layer list says while there are none (also what the page opens with)."""
    return [html.P("No layers yet.", className="small text-body-secondary mb-0")]


def layer_list(comp: composition.Comp) -> list[Any]:
    """The layers, top of the stack first, with thumbnails; the selected one highlighted."""
    if not comp["layers"]:
        return no_layers()
    items = []
    for lay in reversed(comp["layers"]):
        items.append(
            dbc.ListGroupItem(
                [
                    html.Img(
                        src=preview_url(comp["session"], lay["image"], lay),
                        className="layer-thumb me-2",
                        alt="",
                    ),
                    html.Div(
                        [
                            html.Div(lay["name"], className="text-truncate small fw-semibold"),
                            html.Div(
                                f"{lay['iw']}×{lay['ih']} image"
                                + (
                                    f" · {round(lay['opacity'] * 100)}%"
                                    if lay["opacity"] < 1
                                    else ""
                                ),
                                className="text-body-secondary small",
                            ),
                        ],
                        className="min-w-0",
                    ),
                ],
                id=C.layer(lay["id"]),
                action=True,
                active=lay["id"] == comp.get("sel"),
                className="d-flex align-items-center py-1 px-2",
                n_clicks=0,
            )
        )
    return [dbc.ListGroup(items, className="layer-list")]


def _number(component_id: str, label: str, **extra: Any) -> dbc.Col:
    """A small labelled number field applied on Enter or when it loses focus."""
    return dbc.Col(
        dbc.InputGroup(
            [
                dbc.InputGroupText(label, className="px-2"),
                dbc.Input(id=component_id, type="number", **extra),
            ],
            size="sm",
        ),
        width=6,
        className="mb-2",
    )


def _button(component_id: str, icon_name: str, title: str) -> dbc.Button:
    """An icon button with a tooltip-like title."""
    return dbc.Button(
        [icon(icon_name), html.Span(title, className="visually-hidden")],
        id=component_id,
        color="secondary",
        outline=True,
        size="sm",
        title=title,
    )


def controls() -> html.Fieldset:
    """Edits of the selected layer: name, exact geometry, opacity and transforms."""
    return html.Fieldset(
        [
            dbc.Input(id=C.NAME, placeholder="Layer name", size="sm", className="mb-2"),
            dbc.Row(
                [
                    _number(C.X, "X", step=1),
                    _number(C.Y, "Y", step=1),
                    _number(C.W, "W", step=1, min=1),
                    _number(C.H, "H", step=1, min=1),
                    _number(C.OPACITY, "Opacity %", step=1, min=0, max=100),
                ],
                className="g-2",
            ),
            dbc.ButtonGroup(
                [
                    _button(C.BACKWARD, "arrow-down", "Send backward"),
                    _button(C.FORWARD, "arrow-up", "Bring forward"),
                    _button(C.FLIP_H, "symmetry-vertical", "Flip horizontally"),
                    _button(C.FLIP_V, "symmetry-horizontal", "Flip vertically"),
                    _button(C.ROTATE, "arrow-clockwise", "Rotate 90° clockwise"),
                    _button(C.DUPLICATE, "copy", "Duplicate"),
                    _button(C.DELETE, "trash", "Delete"),
                ],
                className="flex-wrap",
            ),
        ],
        id=C.CONTROLS,
        disabled=True,
    )


def canvas_style(bg: dict[str, Any] | None) -> dict[str, Any]:
    """The canvas takes the background's shape (no empty bands), up to most of the screen."""
    if not bg:
        return {"display": "none"}
    return {"display": "block", "aspectRatio": f"{bg['w']} / {bg['h']}", "height": "auto"}


def layout(artifact: str | None = None, **_query: str) -> html.Div:
    """Build the Compositor page (``?artifact=<id>`` adds a training job's image as a layer)."""
    toolbar = html.Div(
        [
            dbc.ButtonGroup(
                [
                    _button(C.UNDO, "arrow-counterclockwise", "Undo"),
                    _button(C.REDO, "arrow-clockwise", "Redo"),
                ]
            ),
            dbc.Switch(
                id=C.KEEP_ASPECT,
                label="Keep aspect",
                value=True,
                persistence=True,
                persistence_type="local",
                className="mb-0",
            ),
            dbc.Switch(
                id=C.SNAP,
                label="Snap",
                value=True,
                persistence=True,
                persistence_type="local",
                className="mb-0",
            ),
            html.Span(id=C.BG_INFO, className="ms-auto small text-body-secondary"),
        ],
        className="d-flex align-items-center gap-3 flex-wrap mb-2",
    )
    canvas = dbc.Card(
        dbc.CardBody(
            [
                toolbar,
                html.Div(id=C.MESSAGE, className="small"),
                html.Div(
                    [
                        # Drawn as the view callback leaves it without a background, so the
                        # page does not open with a tall empty graph that then collapses.
                        dcc.Graph(
                            id=C.CANVAS,
                            config=GRAPH_CONFIG,
                            # Plotly sizes itself to the box on every redraw: without this
                            # a redraw fell back to 700×450 until a resize came by.
                            responsive=True,
                            className="canvas-graph",
                            style=canvas_style(None),
                        ),
                        html.Div(
                            [
                                icon("image", class_name="fs-1 d-block mb-2"),
                                "Upload a background to start.",
                            ],
                            id=C.CANVAS_EMPTY,
                            className="canvas-empty text-body-secondary",
                        ),
                    ],
                    className="canvas-wrap checkerboard",
                ),
            ]
        ),
        className="shadow-sm mb-3",
    )
    render_card = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Render", className="h6"),
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.RadioItems(
                                id=C.FORMAT,
                                options=[
                                    {"label": "PNG", "value": "png"},
                                    {"label": "JPEG", "value": "jpeg"},
                                ],
                                value="png",
                                inline=True,
                                persistence=True,
                                persistence_type="local",
                            ),
                            width="auto",
                        ),
                        dbc.Col(
                            dbc.InputGroup(
                                [
                                    dbc.InputGroupText("JPEG quality"),
                                    dbc.Input(
                                        id=C.QUALITY,
                                        type="number",
                                        min=1,
                                        max=100,
                                        step=1,
                                        value=90,
                                        persistence=True,
                                        persistence_type="local",
                                    ),
                                ],
                                size="sm",
                            ),
                            width="auto",
                        ),
                        dbc.Col(
                            dbc.Button(
                                [icon("image", class_name="me-1"), "Render"],
                                id=C.RENDER,
                                color="primary",
                                size="sm",
                            ),
                            width="auto",
                        ),
                    ],
                    className="g-2 align-items-center mb-2",
                ),
                dcc.Loading(html.Div(id=C.RESULT), type="dot", delay_show=300),
            ]
        ),
        className="shadow-sm mb-3",
    )
    side = [
        dbc.Card(
            dbc.CardBody(
                [
                    html.H2("Background", className="h6"),
                    upload_zone(C.BG_UPLOAD, "Drop a background image or click", multiple=False),
                    html.Div(id=C.BG_MESSAGE, className="small mt-1"),
                    html.H2("Layers", className="h6 mt-3"),
                    upload_zone(C.LAYER_UPLOAD, "Drop layer images or click", multiple=True),
                    html.Div(id=C.LAYER_MESSAGE, className="small mt-1"),
                    dbc.InputGroup(
                        [
                            dropdown(
                                id=C.ARTIFACT,
                                placeholder="Image from a training job…",
                                className="artifact-picker",
                                clearable=True,
                                slot_class="flex-grow-1",
                            ),
                            dbc.Button(
                                "Add", id=C.ARTIFACT_ADD, color="secondary", outline=True, size="sm"
                            ),
                        ],
                        size="sm",
                        className="mt-2 flex-nowrap",
                    ),
                    html.Div(no_layers(), id=C.LAYERS, className="mt-3"),
                ]
            ),
            className="shadow-sm mb-3",
        ),
        dbc.Card(
            dbc.CardBody([html.H2("Selected layer", className="h6"), controls()]),
            className="shadow-sm mb-3",
        ),
        dbc.Card(
            dbc.CardBody(
                [
                    html.H2("Recipe", className="h6"),
                    html.P(
                        "Save the layers and their places as a small JSON file; "
                        "load it onto any background.",
                        className="small text-body-secondary",
                    ),
                    html.Div(
                        [
                            small_button(
                                "download", "Save recipe", id=C.RECIPE_SAVE, color="secondary"
                            ),
                            dcc.Upload(
                                small_button("upload", "Load recipe", color="secondary"),
                                id=C.RECIPE_UPLOAD,
                                accept=".json,application/json",
                            ),
                        ],
                        className="d-flex gap-2",
                    ),
                    dcc.Download(id=C.RECIPE_DOWNLOAD),
                ]
            ),
            className="shadow-sm mb-3",
        ),
    ]
    return html.Div(
        [
            page_header(
                "Compositor",
                "layers",
                "Drag uploaded images onto a background and render the result at full resolution.",
            ),
            # Stacked (narrow frame): uploads, canvas, selected layer, render, recipe (CSS).
            dbc.Row(
                [
                    dbc.Col(
                        [stack_item(canvas, 2), stack_item(render_card, 4)],
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
            # A fresh session for a new browser; one kept in localStorage wins over it.
            dcc.Store(
                id=C.COMP,
                storage_type="local",
                data=composition.empty(UploadStore.new_session()),
            ),
            dcc.Store(id=C.HIST, storage_type="local"),
            dcc.Store(id=C.GEOM, storage_type="local"),
            dcc.Store(id=C.BG_PENDING),
            dcc.Store(id=C.LAYER_PENDING),
            dcc.Store(id=C.QUERY, data=artifact),
            dcc.Store(id=C.SELECT),
            dcc.Store(id=C.FIELD_VALUES),
            dcc.Store(id=C.LIMITS),
        ],
        id=C.ROOT,
    )
