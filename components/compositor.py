"""The Compositor page: uploads, the canvas, the layers panel, render and recipes."""

from __future__ import annotations

import functools
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from components.common import dropdown, icon, message, page_header, small_button, stack_item
from components.ids import Compositor as C
from dashapp.compositor import composition
from dashapp.compositor import figure as canvas
from dashapp.compositor.model import FIELD_ACTIONS, Message, Refused, Rendered, View
from dashapp.compositor.upload_store import UploadStore

# The selected layer's fields and buttons (id, icon, title), by the edit each one makes.
FIELDS = dict(zip((C.NAME, C.X, C.Y, C.W, C.H, C.OPACITY), FIELD_ACTIONS, strict=True))
PANEL_BUTTONS = {
    "backward": (C.BACKWARD, "arrow-down", "Send backward"),
    "forward": (C.FORWARD, "arrow-up", "Bring forward"),
    "flip_h": (C.FLIP_H, "symmetry-vertical", "Flip horizontally"),
    "flip_v": (C.FLIP_V, "symmetry-horizontal", "Flip vertically"),
    "rotate": (C.ROTATE, "arrow-clockwise", "Rotate 90° clockwise"),
    "duplicate": (C.DUPLICATE, "copy", "Duplicate"),
    "delete": (C.DELETE, "trash", "Delete"),
}
BUTTONS = {cid: action for action, (cid, _, _) in PANEL_BUTTONS.items()}
LOCAL: dict[str, Any] = {"persistence": True, "persistence_type": "local"}  # kept in the browser
GRAPH_CONFIG: dcc.Graph.Config = {
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
    return str(get_relative_path(f"/compositor/files/{session}/{image_id}/preview?t={code}"))


def render_url(session: str, render_id: str, *, download: bool = False) -> str:
    """Where a rendered file is served (inline, or as a download)."""
    tail = "?download=1" if download else ""
    return str(get_relative_path(f"/compositor/files/{session}/renders/{render_id}{tail}"))


def figure(comp: composition.Comp) -> dict[str, Any]:
    """The canvas figure of a composition, with preview URLs for this session."""
    return canvas.figure(comp, lambda image, lay: preview_url(comp["session"], image, lay))


def notes(messages: list[Message]) -> list[html.Div] | str:
    """An action's messages for one place on the page ("" clears it)."""
    return [message(text, kind) for text, kind in messages] or ""


def view_props(view: View) -> dict[str, Any]:
    """The page's properties that show a composition: canvas, layer list, fields, limits."""
    bg = view.comp["bg"]
    return {
        "figure": figure(view.comp),
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
    return [
        dbc.ListGroup(
            [_layer_item(comp, lay) for lay in reversed(comp["layers"])], className="layer-list"
        )
    ]


def _layer_item(comp: composition.Comp, lay: dict[str, Any]) -> dbc.ListGroupItem:
    """One layer in the list: thumbnail, name, image size and opacity below 100%."""
    opacity = f" · {round(lay['opacity'] * 100)}%" if lay["opacity"] < 1 else ""
    thumb = preview_url(comp["session"], lay["image"], lay)
    text = [
        html.Div(lay["name"], className="text-truncate small fw-semibold"),
        html.Div(f"{lay['iw']}×{lay['ih']} image{opacity}", className="text-body-secondary small"),
    ]
    return dbc.ListGroupItem(
        [
            html.Img(src=thumb, className="layer-thumb me-2", alt=""),
            html.Div(text, className="min-w-0"),
        ],
        id=C.layer(lay["id"]),
        action=True,
        active=lay["id"] == comp.get("sel"),
        className="d-flex align-items-center py-1 px-2",
        n_clicks=0,
    )


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
                [_button(*spec) for spec in PANEL_BUTTONS.values()], className="flex-wrap"
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


def _card(*children: Any) -> dbc.Card:
    """One of the page's cards."""
    return dbc.Card(dbc.CardBody(list(children)), className="shadow-sm mb-3")


def _switch(component_id: str, label: str) -> dbc.Switch:
    """A toolbar switch, on by default, remembered in the browser."""
    return dbc.Switch(id=component_id, label=label, value=True, **LOCAL, className="mb-0")


def _canvas_card() -> dbc.Card:
    """The canvas, its toolbar (undo, redo, switches, background size) and its message."""
    toolbar = html.Div(
        [
            dbc.ButtonGroup(
                [
                    _button(C.UNDO, "arrow-counterclockwise", "Undo"),
                    _button(C.REDO, "arrow-clockwise", "Redo"),
                ]
            ),
            _switch(C.KEEP_ASPECT, "Keep aspect"),
            _switch(C.SNAP, "Snap"),
            html.Span(id=C.BG_INFO, className="ms-auto small text-body-secondary"),
        ],
        className="d-flex align-items-center gap-3 flex-wrap mb-2",
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
        [icon("image", class_name="fs-1 d-block mb-2"), "Upload a background to start."],
        id=C.CANVAS_EMPTY,
        className="canvas-empty text-body-secondary",
    )
    return _card(
        toolbar,
        html.Div(id=C.MESSAGE, className="small"),
        html.Div([graph, empty], className="canvas-wrap checkerboard"),
    )


def _render_card() -> dbc.Card:
    """Format, JPEG quality, the Render button and the result."""
    formats = [{"label": "PNG", "value": "png"}, {"label": "JPEG", "value": "jpeg"}]
    quality = dbc.Input(id=C.QUALITY, type="number", min=1, max=100, step=1, value=90, **LOCAL)
    render = dbc.Button(
        [icon("image", class_name="me-1"), "Render"], id=C.RENDER, color="primary", size="sm"
    )
    row = [
        dbc.RadioItems(id=C.FORMAT, options=formats, value="png", inline=True, **LOCAL),
        dbc.InputGroup([dbc.InputGroupText("JPEG quality"), quality], size="sm"),
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
            dbc.Button("Add", id=C.ARTIFACT_ADD, color="secondary", outline=True, size="sm"),
        ],
        size="sm",
        className="mt-2 flex-nowrap",
    )
    recipe_buttons = html.Div(
        [
            small_button("download", "Save recipe", id=C.RECIPE_SAVE, color="secondary"),
            dcc.Upload(
                small_button("upload", "Load recipe", color="secondary"),
                id=C.RECIPE_UPLOAD,
                accept=".json,application/json",
            ),
        ],
        className="d-flex gap-2",
    )
    return [
        _card(
            html.H2("Background", className="h6"),
            upload_zone(C.BG_UPLOAD, "Drop a background image or click", multiple=False),
            html.Div(id=C.BG_MESSAGE, className="small mt-1"),
            html.H2("Layers", className="h6 mt-3"),
            upload_zone(C.LAYER_UPLOAD, "Drop layer images or click", multiple=True),
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
                        [stack_item(_canvas_card(), 2), stack_item(_render_card(), 4)],
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
