"""Compositor callbacks: thin adapters over ``dashapp.compositor.actions``.

One user action is one request: ``_act`` answers with the stores and all the page shows.
``_view`` draws only a stored composition the page does not show yet (page load, restore
from localStorage, ``?artifact=``), asked for by a clientside gate that compares revisions.
The drag makes no request (``assets/compositor.js``); the next action folds it in.
"""

from __future__ import annotations

import functools
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from components import compositor as view_parts
from components.compositor import BUTTONS, FIELDS
from components.ids import Compositor as C
from dashapp.compositor import actions
from dashapp.compositor.model import BACKGROUND, LAYERS, MAIN, PageState, Step
from dashapp.deps import Deps
from jobs import service as jobs_service

# Where each kind of message is shown.
MESSAGES = {MAIN: C.MESSAGE, BACKGROUND: C.BG_MESSAGE, LAYERS: C.LAYER_MESSAGE}
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
    "shown_rev": (C.SHOWN_REV, "data"),
}
# What triggers an action, and the page state it reads (by name).
ACT_TRIGGERS = [
    *((cid, "data") for cid in (C.BG_PENDING, C.LAYER_PENDING, C.SELECT)),
    (C.ARTIFACT_ADD, "n_clicks"),
    (C.RECIPE_UPLOAD, "contents"),
    *((cid, "n_clicks") for cid in (C.UNDO, C.REDO, *BUTTONS)),
    *((cid, event) for cid in FIELDS for event in ("n_submit", "n_blur")),
]
ACT_STATE = {"comp": COMP, "hist": HIST, "geom": GEOM, **{cid: (cid, "value") for cid in FIELDS}}
ACT_STATE |= {
    "bg_pending": (C.BG_PENDING, "data"),
    "layer_pending": (C.LAYER_PENDING, "data"),
    "select": (C.SELECT, "data"),
    "artifact": (C.ARTIFACT, "value"),
    "recipe": (C.RECIPE_UPLOAD, "contents"),
    "keep_aspect": (C.KEEP_ASPECT, "value"),
}


def act(
    deps: Deps, trigger: Any, values: dict[str, Any], comp_raw: Any, hist: Any, geom: Any
) -> tuple[Any, ...]:
    """Apply the action ``trigger`` names: (comp, hist, geom, the three messages, *VIEW)."""
    step = dispatch(deps, trigger, values, PageState(comp_raw, hist, geom))
    if step is None:
        raise PreventUpdate
    comp, hist = (no_update if v is None else v for v in (step.comp, step.hist))
    geom = None if step.clear_geom else no_update
    return (comp, hist, geom, *_messages(step).values(), *view_values(deps, step).values())


def dispatch(deps: Deps, trigger: Any, values: dict[str, Any], page: PageState) -> Step | None:
    """Map the triggering component to its action."""
    store = deps.upload_store
    if isinstance(trigger, list) or trigger in FIELDS:
        fired = [t for t in (trigger if isinstance(trigger, list) else [trigger]) if t in FIELDS]
        typed = {action: values[cid] for cid, action in FIELDS.items()}
        keep = bool(values["keep_aspect"])
        return actions.edit_fields(store, page, typed, [FIELDS[t] for t in fired], keep_aspect=keep)
    if trigger in (C.BG_PENDING, C.LAYER_PENDING):
        bg = trigger == C.BG_PENDING
        pending = values["bg_pending" if bg else "layer_pending"]
        return actions.upload(store, page, pending, background=bg)
    if trigger == C.SELECT:
        return actions.select(store, page, values["select"])
    if trigger in BUTTONS:
        return actions.panel_button(store, page, BUTTONS[trigger])
    if trigger in (C.UNDO, C.REDO):
        return actions.undo(store, page, redo=trigger == C.REDO)
    if trigger == C.ARTIFACT_ADD:
        return actions.add_artifact(store, page, values["artifact"], fetch_artifact(deps))
    if trigger == C.RECIPE_UPLOAD:
        return actions.load_recipe(store, page, values["recipe"])
    return None


def view(deps: Deps, comp_raw: Any, geom: Any, query: Any) -> dict[str, Any]:
    """Everything the page shows for a stored composition (and a URL's ``?artifact=``)."""
    page = PageState(comp_raw, None, geom)
    step = actions.open_page(deps.upload_store, page, query, fetch_artifact(deps))
    return {
        **view_values(deps, step),
        "comp": no_update if step.comp is None else step.comp,
        "hist": no_update if step.hist is None else step.hist,
        "query": None if step.query_done else no_update,
        "message": _messages(step)[MAIN],
    }


def view_values(deps: Deps, step: Step) -> dict[str, Any]:
    """VIEW's values after a step (each no_update when the page shows it already)."""
    if step.view is None:
        return dict.fromkeys(VIEW, no_update)
    shown = view_parts.view_props(step.view)
    shown |= {"artifacts": artifact_options(deps), "shown_rev": step.rev}
    return {key: shown[key] for key in VIEW}


def _messages(step: Step) -> dict[str, Any]:
    """Each message place's new content, or no_update where the step says nothing."""
    said = step.messages
    return {k: view_parts.notes(said[k]) if k in said else no_update for k in MESSAGES}


def fetch_artifact(deps: Deps) -> actions.FetchArtifact:
    """How the Compositor gets a finished job's image: ``(bytes, name)`` or LookupError."""
    return functools.partial(jobs_service.artifact_image, deps.job_store)


def artifact_options(deps: Deps) -> list[dict[str, Any]]:
    """The picker's choices: image artifacts of finished jobs, newest first."""
    return view_parts.artifact_options(deps.job_store.finished_artifacts(limit=200))


def render_result(deps: Deps, comp_raw: Any, geom: Any, fmt: Any, quality: Any) -> html.Div:
    """Render at full resolution, save the file, and show a preview with a download link."""
    page = PageState(comp_raw, None, geom)
    done = actions.render_file(deps.upload_store, page, fmt, quality, deps.render_slots)
    return view_parts.render_outcome(done)


def recipe_file(deps: Deps, comp_raw: Any, geom: Any) -> dict[str, Any]:
    """The recipe of the current composition, as a dcc.Download payload."""
    recipe = actions.save_recipe(deps.upload_store, PageState(comp_raw, None, geom))
    if recipe is None:
        raise PreventUpdate
    return {"content": recipe.content, "filename": recipe.filename, "type": recipe.media_type}


def _outputs(props: Any, *, dup: bool = True) -> list[Output]:
    """Outputs for ``(id, property)`` pairs (``dup``: also written by another callback)."""
    return [Output(cid, prop, allow_duplicate=dup) for cid, prop in props]


def register(app: Dash, deps: Deps) -> None:
    """Wire the Compositor page."""
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
    fields = ((cid, "value") for cid in (C.X, C.Y, C.W, C.H, C.NAME, C.OPACITY))
    app.clientside_callback(
        js("drag"),
        *_outputs([VIEW["figure"], GEOM, HIST, *fields]),
        Output(C.layer_any(), "active"),
        Input(C.CANVAS, "relayoutData"),
        *(State(*p) for p in (COMP, GEOM, HIST, (C.KEEP_ASPECT, "value"), (C.SNAP, "value"))),
        State(C.CANVAS, "figure"),
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

    @app.callback(
        *_outputs([COMP, HIST, GEOM, *((cid, "children") for cid in MESSAGES.values())]),
        *_outputs(VIEW.values()),
        inputs={"_triggers": [Input(*t) for t in ACT_TRIGGERS]},
        state={"values": {name: State(*p) for name, p in ACT_STATE.items()}},
        prevent_initial_call=True,
    )
    def _act(_triggers: list[Any], values: dict[str, Any]) -> tuple[Any, ...]:
        # A blur of one field and Enter in another can arrive as one request: when only
        # fields fired, all of them are applied (the first alone would drop the others).
        fired = list(ctx.triggered_prop_ids.values())
        trigger = fired if len(fired) > 1 and all(f in FIELDS for f in fired) else ctx.triggered_id
        return act(deps, trigger, values, values["comp"], values["hist"], values["geom"])

    @app.callback(
        *_outputs(VIEW.values(), dup=False),
        *_outputs([COMP, HIST]),
        Output(C.QUERY, "data"),
        Output(C.MESSAGE, "children", allow_duplicate=True),
        Input(C.VIEW_REQUEST, "data"),
        *(State(*p) for p in (COMP, GEOM, (C.QUERY, "data"))),
        prevent_initial_call=True,
    )
    def _view(_request: Any, comp: Any, geom: Any, query: Any) -> tuple[Any, ...]:
        return tuple(view(deps, comp, geom, query).values())

    @app.callback(
        Output(C.RESULT, "children"),
        Input(C.RENDER, "n_clicks"),
        *(State(*p) for p in (COMP, GEOM, (C.FORMAT, "value"), (C.QUALITY, "value"))),
        prevent_initial_call=True,
    )
    def _render(_n: Any, comp: Any, geom: Any, fmt: Any, quality: Any) -> html.Div:
        return render_result(deps, comp, geom, fmt, quality)

    @app.callback(
        Output(C.RECIPE_DOWNLOAD, "data"),
        Input(C.RECIPE_SAVE, "n_clicks"),
        *(State(*p) for p in (COMP, GEOM)),
        prevent_initial_call=True,
    )
    def _recipe(_n: Any, comp: Any, geom: Any) -> dict[str, Any]:
        return recipe_file(deps, comp, geom)
