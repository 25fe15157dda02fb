"""The Compositor's browser-side wiring: clientside callbacks over ``assets/compositor.js``.

None of these makes a request: the drag and the arrow-key nudges move layers in the
browser, the upload script sends files to the upload route (with progress) and hands
their ids to the page's stores, and the gates decide when the server must act.
"""

from __future__ import annotations

import functools
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State

from components.compositor import FIELDS
from components.ids import Compositor as C

COMP, HIST, GEOM = (C.COMP, "data"), (C.HIST, "data"), (C.GEOM, "data")
# What shows a composition: both the action and the page-load view answer with these.
VIEW = {
    "figure": (C.CANVAS, "figure"),
    "canvas_style": (C.CANVAS, "style"),
    "empty_style": (C.CANVAS_EMPTY, "style"),
    "layers": (C.LAYERS, "children"),
    "fields": (C.FIELD_VALUES, "data"),
    "disabled": (C.CONTROLS, "disabled"),
    "bg_info": (C.BG_INFO, "children"),
    "limits": (C.LIMITS, "data"),
    "artifacts": (C.ARTIFACT, "options"),
    "batch_sources": (C.BATCH_SOURCES, "options"),
    "shown_rev": (C.SHOWN_REV, "data"),
}


def _outputs(props: Any) -> list[Output]:
    """Outputs for ``(id, property)`` pairs that server callbacks write too."""
    return [Output(cid, prop, allow_duplicate=True) for cid, prop in props]


def register(app: Dash) -> None:
    """Wire the Compositor's clientside callbacks."""
    js = functools.partial(ClientsideFunction, "dashappCompositor")
    for upload, pending, note in (
        (C.BG_UPLOAD, C.BG_PENDING, C.BG_MESSAGE),
        (C.LAYER_UPLOAD, C.LAYER_PENDING, C.LAYER_MESSAGE),
    ):
        app.clientside_callback(
            js("gate"),
            Output(pending, "data"),
            Output(note, "children", allow_duplicate=True),
            Output(upload, "contents"),
            Input(upload, "contents"),
            State(upload, "filename"),
            State(C.LIMITS, "data"),
            prevent_initial_call=True,
        )
    app.clientside_callback(
        js("pick"),
        Output(C.SELECT, "data"),
        Input(C.layer_any(), "n_clicks"),
        prevent_initial_call=True,
    )
    fields = [(cid, "value") for cid in (C.X, C.Y, C.W, C.H, C.NAME, C.OPACITY)]
    app.clientside_callback(
        js("drag"),
        *_outputs([VIEW["figure"], GEOM, HIST, *fields]),
        Output(C.layer_any(), "active"),
        Input(C.CANVAS, "relayoutData"),
        *(State(*p) for p in (COMP, GEOM, HIST, (C.KEEP_ASPECT, "value"), (C.SNAP, "value"))),
        State(C.CANVAS, "figure"),
        prevent_initial_call=True,
    )
    # Arrow keys move the shape like a drag; once a burst of them settles the script
    # sets COMMIT, the one request that folds the result in.
    app.clientside_callback(
        js("nudge"),
        *_outputs([VIEW["figure"], GEOM, HIST, *fields[:4]]),
        Input(C.NUDGE, "data"),
        *(State(*p) for p in (COMP, GEOM, HIST, (C.CANVAS, "figure"))),
        prevent_initial_call=True,
    )
    # Files dropped, pasted or picked: the script sends them with progress to the upload
    # route, then hands the stored ids to BG_PENDING or LAYER_PENDING (one action).
    app.clientside_callback(
        js("upload"),
        Input(C.UPLOAD_REQUEST, "data"),
        *(State(*p) for p in (COMP, (C.LIMITS, "data"))),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        js("toggle"),
        Output(C.HELP_MODAL, "is_open"),
        Input(C.HELP, "n_clicks"),
        State(C.HELP_MODAL, "is_open"),
        prevent_initial_call=True,
    )
    # The selected layer's values reach the fields in the browser, skipping the one being
    # typed in: a server answer to an earlier edit must not overwrite new typing.
    app.clientside_callback(
        js("fillFields"),
        *_outputs((cid, "value") for cid in FIELDS),
        Input(C.FIELD_VALUES, "data"),
        prevent_initial_call=True,
    )
    # A stored composition the page does not show yet (its rev is not the one drawn)
    # asks the server to draw it; an action's own answer carries its view already.
    app.clientside_callback(
        js("viewGate"),
        Output(C.VIEW_REQUEST, "data"),
        Input(C.COMP, "modified_timestamp"),
        State(C.COMP, "data"),
        State(C.SHOWN_REV, "data"),
        prevent_initial_call=True,
    )
    # Every batch launch is new to the background machinery (its cache keys on arguments).
    app.clientside_callback(
        js("nonce"),
        Output(C.BATCH_REQUEST, "data"),
        Input(C.BATCH_RUN, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        js("recipeChosen"),
        Output(C.BATCH_RECIPE_NAME, "children"),
        Output(C.BATCH_MODE, "value"),
        Input(C.BATCH_RECIPE, "filename"),
        prevent_initial_call=True,
    )
