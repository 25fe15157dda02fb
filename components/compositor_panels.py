"""The Compositor's side panels: the layers list, the selected layer's fields and buttons,
the keyboard shortcuts, and the URLs of a session's files.

Every control has an accessible name (a label, or text for screen readers) and a tooltip;
the layers list's buttons carry ``data-layer-cmd``: ``assets/compositor.js`` handles them.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from components.common import aria, icon
from components.ids import Compositor as C
from dashapp.compositor import composition
from dashapp.compositor.model import FIELD_ACTIONS

# The selected layer's fields and buttons (id, icon, title), by the edit each one makes.
FIELDS = dict(zip((C.NAME, C.X, C.Y, C.W, C.H, C.OPACITY), FIELD_ACTIONS, strict=True))
PANEL_BUTTONS = {
    "backward": (C.BACKWARD, "arrow-down", "Send backward"),
    "forward": (C.FORWARD, "arrow-up", "Bring forward"),
    "flip_h": (C.FLIP_H, "symmetry-vertical", "Flip horizontally"),
    "flip_v": (C.FLIP_V, "symmetry-horizontal", "Flip vertically"),
    "rotate": (C.ROTATE, "arrow-90deg-right", "Rotate 90° clockwise"),
    "duplicate": (C.DUPLICATE, "copy", "Duplicate (Ctrl+D)"),
    "delete": (C.DELETE, "trash", "Delete (Delete)"),
}
BUTTONS = {cid: action for action, (cid, _, _) in PANEL_BUTTONS.items()}
# What the keys do (the ``?`` button lists them; assets/compositor.js does them).
SHORTCUTS = [
    ("Ctrl+Z (⌘Z)", "Undo"),
    ("Ctrl+Shift+Z, Ctrl+Y (⌘⇧Z)", "Redo"),
    ("Delete, Backspace", "Delete the selected layer"),
    ("Arrow keys", "Move the selected layer by 1 px of the background"),
    ("Shift+arrow keys", "Move it by 10 px"),
    ("Ctrl+D (⌘D)", "Duplicate the selected layer"),
    ("Tab, Shift+Tab (on the canvas)", "Select the next or previous layer"),
    ("Escape", "Select no layer"),
    ("Ctrl+V (⌘V)", "Paste an image as a layer (as the background if there is none)"),
    ("?", "Show these shortcuts"),
]
THUMB = {"title": "Drag to reorder", **aria(hidden="true")}


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


def batch_url(session: str, batch_id: str) -> str:
    """Where a zip of renders is served (a download)."""
    return str(get_relative_path(f"/compositor/files/{session}/batches/{batch_id}"))


def icon_button(component_id: str, icon_name: str, title: str) -> dbc.Button:
    """An icon button: its title is the tooltip and (hidden text) its accessible name."""
    return dbc.Button(
        [icon(icon_name), html.Span(title, className="visually-hidden")],
        id=component_id,
        color="secondary",
        outline=True,
        size="sm",
        title=title,
    )


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
    """One layer: drag handle, select button (thumbnail, name), rename, show/hide, lock.

    A click anywhere on the item selects it (its ``n_clicks``); the row drags to reorder.
    """
    name, lid = lay["name"], lay["id"]
    visible, locked = composition.shown_on_canvas(lay), bool(lay.get("locked"))
    opacity = f" · {round(lay['opacity'] * 100)}%" if lay["opacity"] < 1 else ""
    state = ("" if visible else " · hidden") + (" · locked" if locked else "")
    select = html.Button(
        [
            html.Img(
                src=preview_url(comp["session"], lay["image"], lay), className="layer-thumb", alt=""
            ),
            html.Span(
                [
                    html.Span(name, className="layer-name text-truncate small fw-semibold"),
                    html.Span(
                        f"{lay['iw']}×{lay['ih']} image{opacity}{state}",
                        className="text-body-secondary small d-block",
                    ),
                ],
                className="min-w-0 d-block text-start",
            ),
        ],
        type="button",
        className="layer-select",
        title=f"Select {name} (double-click the name to rename)",
        **aria(current="true" if lid == comp.get("sel") else "false"),
    )
    rename = html.Label(
        [
            html.Span(f"New name of {name}", className="visually-hidden"),
            dcc.Input(
                value=name,
                type="text",
                maxLength=80,
                debounce=True,
                className="form-control form-control-sm layer-name-input",
            ),
        ],
        className="layer-name-edit min-w-0",
    )
    row = html.Div(
        [
            html.Span(icon("grip-vertical"), className="layer-grip", **THUMB),
            select,
            rename,
            _row_button(lid, "rename", "", "pencil", f"Rename {name}"),
            _row_button(
                lid,
                "visible",
                "false" if visible else "true",
                "eye" if visible else "eye-slash",
                f"{'Hide' if visible else 'Show'} {name}",
            ),
            _row_button(
                lid,
                "locked",
                "false" if locked else "true",
                "lock" if locked else "unlock",
                f"{'Unlock' if locked else 'Lock'} {name}",
            ),
        ],
        className="layer-row" + ("" if visible else " layer-hidden") + (" layer-locked" * locked),
        draggable="true",
        **{
            "data-layer": lid,
            "data-visible": str(visible).lower(),
            "data-locked": str(locked).lower(),
        },
    )
    return dbc.ListGroupItem(
        row,
        id=C.layer(lid),
        active=lid == comp.get("sel"),
        className="layer-item p-1",
        n_clicks=0,
    )


def _row_button(layer_id: str, cmd: str, value: str, icon_name: str, label: str) -> html.Button:
    """A small button of a layer's row (assets/compositor.js sends its command)."""
    data: dict[str, Any] = {"data-layer-cmd": cmd, "data-layer": layer_id, "data-value": value}
    return html.Button(
        icon(icon_name),
        type="button",
        className="btn btn-sm btn-link layer-cmd",
        title=label,
        **data,
        **aria(label=label),
    )


def _number(component_id: str, label: str, spoken: str, **extra: Any) -> dbc.Col:
    """A small labelled number field applied on Enter or when it loses focus."""
    return dbc.Col(
        dbc.InputGroup(
            [
                html.Label(
                    [label, html.Span(f" {spoken}", className="visually-hidden")],
                    htmlFor=component_id,
                    className="input-group-text px-2",
                ),
                dbc.Input(id=component_id, type="number", **extra),
            ],
            size="sm",
        ),
        width=6,
        className="mb-2",
    )


def controls() -> html.Fieldset:
    """Edits of the selected layer: name, exact geometry, opacity and transforms."""
    return html.Fieldset(
        [
            html.Legend("Selected layer", className="visually-hidden"),
            html.Label("Layer name", htmlFor=C.NAME, className="visually-hidden"),
            dbc.Input(id=C.NAME, placeholder="Layer name", size="sm", className="mb-2"),
            dbc.Row(
                [
                    _number(C.X, "X", "position of the left edge, in background pixels", step=1),
                    _number(C.Y, "Y", "position of the top edge, in background pixels", step=1),
                    _number(C.W, "W", "width in background pixels", step=1, min=1),
                    _number(C.H, "H", "height in background pixels", step=1, min=1),
                    _number(C.OPACITY, "Opacity %", "of the layer", step=1, min=0, max=100),
                ],
                className="g-2",
            ),
            dbc.ButtonGroup(
                [icon_button(*spec) for spec in PANEL_BUTTONS.values()],
                className="flex-wrap",
            ),
        ],
        id=C.CONTROLS,
        disabled=True,
    )


def help_modal() -> dbc.Modal:
    """The keyboard shortcuts, opened by the ``?`` button (or the ``?`` key)."""
    rows = [html.Tr([html.Td(html.Kbd(keys)), html.Td(what)]) for keys, what in SHORTCUTS]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Keyboard shortcuts")),
            dbc.ModalBody(
                [
                    html.Table(
                        [
                            html.Thead(html.Tr([html.Th("Keys"), html.Th("What they do")])),
                            html.Tbody(rows),
                        ],
                        className="table table-sm small mb-2",
                    ),
                    html.P(
                        "Shortcuts do nothing while you type in a field. Drop image files on "
                        "the canvas or paste them to add layers; drag a layer in the list to "
                        "reorder it; double-click its name to rename it (Enter saves, Escape "
                        "cancels).",
                        className="small text-body-secondary mb-0",
                    ),
                ]
            ),
        ],
        id=C.HELP_MODAL,
        is_open=False,
    )
