"""Compositor callbacks: thin adapters over ``dashapp.compositor.actions`` (and ``batch``).

One user action is one request: ``_act`` answers with the stores and all the page shows.
``_view`` draws only a stored composition the page does not show yet (page load, restore
from localStorage, ``?artifact=``), asked for by a clientside gate that compares revisions.
Drags and nudges make no request (``compositor_browser``); the next action folds them in.
"""

from __future__ import annotations

import functools
from typing import Any

from dash import Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks import compositor_browser as browser
from callbacks.compositor_browser import COMP, GEOM, HIST, VIEW
from components import compositor as view_parts
from components.compositor import BUTTONS, FIELDS
from components.compositor_batch import batch_options, batch_outcome, batch_progress
from components.ids import Compositor as C
from dashapp.compositor import actions, batch
from dashapp.compositor.model import BACKGROUND, LAYERS, MAIN, PageState, Step, then
from dashapp.deps import Deps
from jobs import service as jobs_service
from jobs.launcher import release_inherited_sockets

MESSAGES = {MAIN: C.MESSAGE, BACKGROUND: C.BG_MESSAGE, LAYERS: C.LAYER_MESSAGE}
BATCH_VALUES = (C.BATCH_SOURCES, C.BATCH_MODE, C.FORMAT, C.QUALITY)
# What triggers an action, and the page state it reads (by name).
ACT_TRIGGERS = [
    *((cid, "data") for cid in (C.BG_PENDING, C.LAYER_PENDING, C.SELECT, C.COMMIT, C.LAYER_CMD)),
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
    "layer_cmd": (C.LAYER_CMD, "data"),
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
    """Map the triggering component (or the list of those that fired together) to actions."""
    store = deps.upload_store
    others = [t for t in trigger if t not in FIELDS] if isinstance(trigger, list) else []
    if others:  # fields left (their blur) and a click or a key, in one request: both count
        fields = [t for t in trigger if t in FIELDS]
        first = dispatch(deps, fields, values, page) if fields else None
        return then(first, page, functools.partial(dispatch, deps, others[0], values))
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
    if trigger == C.COMMIT:
        return actions.commit(store, page)
    if trigger == C.LAYER_CMD:
        return actions.layer_command(store, page, values["layer_cmd"])
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
    artifacts = deps.job_store.finished_artifacts(limit=200)
    images = deps.upload_store.images(step.view.comp["session"])
    shown |= {"artifacts": view_parts.artifact_options(artifacts), "shown_rev": step.rev}
    shown["batch_sources"] = batch_options(images, artifacts)
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


def batch_result(deps: Deps, progress: Any, comp: Any, geom: Any, *values: Any) -> html.Div:
    """Render onto every chosen background (in the background process), with progress."""
    sources, mode, fmt, quality, recipe = values
    result = batch.batch_render(
        deps.upload_store,
        PageState(comp, None, geom),
        sources=sources,
        recipe_file=recipe,
        use_recipe=mode == "recipe",
        fmt=fmt,
        quality=quality,
        slots=deps.render_slots,
        fetch=fetch_artifact(deps),
        progress=lambda done, total, _name: progress(batch_progress(done, total)),
    )
    return batch_outcome(result)


def fresh_deps(deps: Deps) -> Deps:
    """This fork's own resources: it lets go of the server's sockets and pooled connections."""
    release_inherited_sockets()  # first: a fork holding the server's sockets blocks a restart
    return Deps(deps.settings)


def _outputs(props: Any, *, dup: bool = True) -> list[Output]:
    """Outputs for ``(id, property)`` pairs (``dup``: also written by another callback)."""
    return [Output(cid, prop, allow_duplicate=dup) for cid, prop in props]


def register(app: Dash, deps: Deps) -> None:
    """Wire the Compositor page: its server callbacks here, its browser ones beside."""
    browser.register(app)

    @app.callback(
        *_outputs([COMP, HIST, GEOM, *((cid, "children") for cid in MESSAGES.values())]),
        *_outputs(VIEW.values()),
        inputs={"_triggers": [Input(*t) for t in ACT_TRIGGERS]},
        state={"values": {name: State(*p) for name, p in ACT_STATE.items()}},
        prevent_initial_call=True,
    )
    def _act(_triggers: list[Any], values: dict[str, Any]) -> tuple[Any, ...]:
        # A blur of one field and Enter in another (or a click) can arrive as one request:
        # all of them are applied (the first alone would drop the others).
        fired = list(ctx.triggered_prop_ids.values())
        trigger = fired if len(fired) > 1 else ctx.triggered_id
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
        running=[(Output(C.RENDER, "disabled"), True, False)],  # no second click meanwhile
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

    forked = not deps.settings.celery_broker  # Dash's DiskcacheManager forks this worker

    @app.callback(
        Output(C.BATCH_RESULT, "children"),
        Input(C.BATCH_REQUEST, "data"),
        *(State(*p) for p in (COMP, GEOM, *((cid, "value") for cid in BATCH_VALUES))),
        State(C.BATCH_RECIPE, "contents"),
        background=True,
        progress=[Output(C.BATCH_PROGRESS, "value"), Output(C.BATCH_STATUS, "children")],
        running=[
            (Output(C.BATCH_RUN, "disabled"), True, False),
            (Output(C.BATCH_CANCEL, "disabled"), False, True),
            (Output(C.BATCH_PROGRESS, "hidden"), False, True),
        ],
        cancel=[Input(C.BATCH_CANCEL, "n_clicks")],
        prevent_initial_call=True,
    )
    def _batch(progress: Any, _nonce: Any, *values: Any) -> html.Div:
        return batch_result(fresh_deps(deps) if forked else deps, progress, *values)
