"""Compositor callbacks: thin adapters over ``dashapp.compositor.composition`` and the upload store.

The drag itself is a clientside callback (``assets/compositor.js``): moving or
resizing a layer makes no request; its result waits in the GEOM store and is
folded in by the next server action.
"""

from __future__ import annotations

import json
import time
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from components import compositor as view_parts
from components.ids import Compositor as C
from dashapp.compositor import actions as actions
from dashapp.compositor import composition, render
from dashapp.compositor.actions import Outcome
from dashapp.compositor.composition import Comp, CompositionError
from dashapp.compositor.imaging import ImageRejected
from dashapp.compositor.upload_store import UploadStore
from dashapp.deps import Deps
from jobs import service as jobs_service

BUTTONS = {
    C.DELETE: "delete",
    C.DUPLICATE: "duplicate",
    C.FORWARD: "forward",
    C.BACKWARD: "backward",
    C.FLIP_H: "flip_h",
    C.FLIP_V: "flip_v",
    C.ROTATE: "rotate",
}
FIELDS = {C.NAME: "rename", C.X: "x", C.Y: "y", C.W: "w", C.H: "h", C.OPACITY: "opacity"}
# Where each kind of message is shown.
TARGETS = {
    actions.MAIN: C.MESSAGE,
    actions.BACKGROUND: C.BG_MESSAGE,
    actions.LAYERS: C.LAYER_MESSAGE,
}


def note(text: str, kind: str = "danger") -> html.Div:
    """A short message in the colour of its kind (danger, success, warning)."""
    return html.Div(text, className=f"text-{kind}")


def shown(messages: list[actions.Message]) -> list[html.Div]:
    """Messages of an action as page elements."""
    return [note(text, kind) for text, kind in messages]


def act(
    deps: Deps, trigger: Any, values: dict[str, Any], comp_raw: Any, hist: Any, geom: Any
) -> tuple[Any, ...]:
    """Apply the action named by ``trigger``: (comp, hist, geom, message, bg and layer notes)."""
    store = deps.upload_store
    comp, notes = composition.sanitize(comp_raw, store)
    comp = composition.merge_geometry(comp, geom)
    store.touch(comp["session"])
    try:
        outcome = _dispatch(deps, store, trigger, values, comp, hist)
    except actions.NothingToDo:
        raise PreventUpdate from None
    except (CompositionError, ImageRejected) as exc:
        return (no_update, no_update, no_update, note(str(exc)), no_update, no_update)
    if outcome is None or (outcome.comp == comp and not outcome.messages):
        raise PreventUpdate
    new_hist: Any = no_update
    if outcome.new_hist is not None:
        new_hist = outcome.new_hist
    elif outcome.history and (outcome.comp["layers"], outcome.comp["bg"]) != (
        comp["layers"],
        comp["bg"],
    ):
        new_hist = composition.push(hist, comp)
    messages = {
        C.MESSAGE: note(" ".join(notes), "warning") if notes else "",
        C.BG_MESSAGE: no_update,
        C.LAYER_MESSAGE: no_update,
    }
    messages.update({TARGETS[k]: shown(v) for k, v in outcome.messages.items()})
    # The drag's pending boxes are folded in, so GEOM is cleared whenever it held any;
    # the revision makes the store change (and the view redraw) even when an undo lands
    # on the very state the store already holds.
    raw = dict(comp_raw) if isinstance(comp_raw, dict) else {}
    rev = raw.pop("rev", None)
    changed = outcome.comp != raw or bool(geom)
    written = {**outcome.comp, "rev": (rev if isinstance(rev, int) else 0) + 1}
    return (
        written if changed else no_update,
        new_hist,
        None if changed else no_update,
        messages[C.MESSAGE],
        messages[C.BG_MESSAGE],
        messages[C.LAYER_MESSAGE],
    )


def _dispatch(
    deps: Deps, store: UploadStore, trigger: Any, values: dict[str, Any], comp: Comp, hist: Any
) -> Outcome | None:
    """Map the triggering component to one composition edit."""
    if isinstance(trigger, list) or trigger in FIELDS:
        # Every field that differs from the layer is the user's typing (the fields are
        # drawn from the layer), whichever fired: an edit sent with another field's event
        # must not be lost. The fields that fired go last (they decide the aspect).
        fired = [t for t in (trigger if isinstance(trigger, list) else [trigger]) if t in FIELDS]
        return _fields(
            comp, [f for f in FIELDS if f not in fired] + list(dict.fromkeys(fired)), values
        )
    if trigger == C.BG_PENDING:
        return actions.add_uploads(store, comp, values["bg_pending"], background=True)
    if trigger == C.LAYER_PENDING:
        return actions.add_uploads(store, comp, values["layer_pending"], background=False)
    if trigger == C.SELECT:
        picked = values["select"]
        return (
            Outcome(composition.select(comp, picked.get("layer")), history=False)
            if isinstance(picked, dict)
            else None
        )
    if trigger in BUTTONS:
        return Outcome(composition.edit(comp, BUTTONS[trigger]))
    if trigger in (C.UNDO, C.REDO):
        state, new_hist = composition.undo(hist, comp, redo=trigger == C.REDO)
        restored, _ = composition.sanitize(
            {**state, "session": comp["session"]} if isinstance(state, dict) else None, store
        )
        return Outcome(restored, history=False, new_hist=new_hist)
    if trigger == C.ARTIFACT_ADD:
        if not values["artifact"]:
            raise CompositionError("Pick an image from a training job first.")
        return actions.add_artifact(store, comp, artifact_for(deps, values["artifact"]))
    if trigger == C.RECIPE_UPLOAD:
        return actions.load_recipe(store, comp, values["recipe"])
    return None


def _fields(comp: Comp, triggers: list[str], values: dict[str, Any]) -> Outcome | None:
    """Several fields edited in one go: apply each, in order."""
    result: Outcome | None = None
    for trigger in triggers:
        step = _field(result.comp if result else comp, FIELDS[trigger], values, trigger)
        result = step or result
    return result


def _field(comp: Comp, action: str, values: dict[str, Any], trigger: str) -> Outcome | None:
    """An exact value typed into a field; unchanged values do nothing."""
    lay = composition.selected(comp)
    if lay is None:
        return None
    value = values[trigger]
    current = {"rename": lay["name"], "opacity": round(lay["opacity"] * 100)}.get(action)
    if action in ("x", "y", "w", "h"):
        x0, y0, x1, y1 = composition.box(lay)
        current = {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0}[action]
    if value is None or value == current:
        return None
    return Outcome(composition.edit(comp, action, value, keep_aspect=bool(values["keep_aspect"])))


def view(deps: Deps, comp_raw: Any, geom: Any, query: Any) -> dict[str, Any]:
    """Everything the page shows for a composition (and a URL's ``?artifact=`` consumed)."""
    store = deps.upload_store
    comp, notes = composition.sanitize(comp_raw, store)
    out: dict[str, Any] = {
        "comp": no_update,
        "hist": no_update,
        "query": no_update,
        "message": no_update,
    }
    if notes or not isinstance(comp_raw, dict) or comp_raw.get("session") != comp["session"]:
        out["comp"] = comp
        out["message"] = note(" ".join(notes), "warning") if notes else ""
    if query:
        out["query"] = None
        try:
            outcome = actions.add_artifact(
                store, composition.merge_geometry(comp, geom), artifact_for(deps, query)
            )
            out["hist"] = composition.push(None, comp)
            comp = outcome.comp
            out["comp"], out["message"] = comp, shown(outcome.messages[actions.MAIN])
        except (CompositionError, ImageRejected) as exc:
            out["message"] = note(str(exc))
    merged = composition.merge_geometry(comp, geom)
    lay = composition.selected(merged)
    x0, y0, x1, y1 = composition.box(lay) if lay else (None, None, None, None)
    bg = merged["bg"]
    out.update(
        figure=view_parts.figure(merged),
        canvas_style=view_parts.canvas_style(bg),
        empty_style={"display": "none" if bg else "flex"},
        layers=view_parts.layer_list(merged),
        fields={
            "ids": list(FIELDS),
            "values": [
                lay["name"] if lay else "",
                x0,
                y0,
                None if lay is None else x1 - x0,  # type: ignore[operator]
                None if lay is None else y1 - y0,  # type: ignore[operator]
                round(lay["opacity"] * 100) if lay else None,
            ],
        },
        disabled=lay is None,
        bg_info=f"{bg['name']} · {bg['w']}×{bg['h']} px" if bg else "",
        limits={"max_bytes": store.limits.max_bytes},
        artifacts=artifact_options(deps),
    )
    return out


def artifact_for(deps: Deps, art_id: Any) -> tuple[bytes, str]:
    """A finished job's image artifact and its name; CompositionError when it is not one."""
    try:
        return jobs_service.artifact_image(deps.job_store, art_id)
    except LookupError as exc:
        raise CompositionError(str(exc)) from None


def artifact_options(deps: Deps) -> list[dict[str, Any]]:
    """The picker's choices: image artifacts of finished jobs, newest first."""
    return [
        {"label": f"{a['name']} · {a['trainer']} · job {a['job_id'][:8]}", "value": a["id"]}
        for a in deps.job_store.finished_artifacts(limit=200)
    ]


def render_result(deps: Deps, comp_raw: Any, geom: Any, fmt: Any, quality: Any) -> html.Div:
    """Render at full resolution, save the file, and show a preview with a download link."""
    store = deps.upload_store
    comp, _ = composition.sanitize(comp_raw, store)
    comp = composition.merge_geometry(comp, geom)
    fmt = "jpeg" if fmt == "jpeg" else "png"
    try:
        q = int(quality if quality is not None else 90)
    except (TypeError, ValueError):
        q = -1
    if fmt == "jpeg" and not 1 <= q <= 100:
        return note("JPEG quality must be a whole number from 1 to 100.")
    started = time.perf_counter()
    # A full-resolution render holds about twice the output in memory: a few render
    # slots per worker keep the server's memory bounded.
    if not deps.render_slots.acquire(timeout=60):
        return note("The server is busy rendering other compositions; try again in a moment.")
    try:
        image = render.render(comp, lambda image_id: store.open(comp["session"], image_id))
        flat = render.flatten(image, fmt)
        render_id = store.save_render(comp["session"], flat, fmt=fmt, quality=q)
    except CompositionError as exc:
        return note(str(exc))
    except KeyError:
        return note("An upload of this composition has expired; upload it again.")
    finally:
        deps.render_slots.release()
    took = time.perf_counter() - started
    sid = comp["session"]
    return html.Div(
        [
            html.A(
                html.Img(
                    src=view_parts.render_url(sid, render_id) + "?preview=1",
                    className="img-fluid rounded border render-preview",
                    alt="Rendered composite",
                ),
                href=view_parts.render_url(sid, render_id),
                target="_blank",
            ),
            html.Div(
                [
                    html.A(
                        ["Download ", fmt.upper()],
                        href=view_parts.render_url(sid, render_id, download=True),
                        className="btn btn-sm btn-primary",
                        download="",
                        id={"type": "compositor-download", "render": render_id},
                    ),
                    html.Span(
                        f"{image.width}×{image.height} px · rendered in {took:.1f} s",
                        className="small text-body-secondary",
                    ),
                ],
                className="d-flex align-items-center gap-2 mt-2",
            ),
        ]
    )


def recipe_file(deps: Deps, comp_raw: Any, geom: Any) -> dict[str, Any]:
    """The recipe of the current composition, as a dcc.Download payload."""
    comp, _ = composition.sanitize(comp_raw, deps.upload_store)
    comp = composition.merge_geometry(comp, geom)
    if comp["bg"] is None:
        raise PreventUpdate
    return {
        "content": json.dumps(composition.to_recipe(comp), indent=1),
        "filename": "composition-recipe.json",
        "type": "application/json",
    }


def register(app: Dash, deps: Deps) -> None:
    """Wire the Compositor page."""
    for upload, pending, message in (
        (C.BG_UPLOAD, C.BG_PENDING, C.BG_MESSAGE),
        (C.LAYER_UPLOAD, C.LAYER_PENDING, C.LAYER_MESSAGE),
    ):
        app.clientside_callback(
            ClientsideFunction("dashappCompositor", "gate"),
            Output(pending, "data"),
            Output(message, "children", allow_duplicate=True),
            Output(upload, "contents"),
            Input(upload, "contents"),
            State(upload, "filename"),
            State(C.LIMITS, "data"),
            prevent_initial_call=True,
        )
    app.clientside_callback(
        ClientsideFunction("dashappCompositor", "pick"),
        Output(C.SELECT, "data"),
        Input(C.layer_any(), "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("dashappCompositor", "drag"),
        Output(C.CANVAS, "figure", allow_duplicate=True),
        Output(C.GEOM, "data", allow_duplicate=True),
        Output(C.HIST, "data", allow_duplicate=True),
        Output(C.X, "value", allow_duplicate=True),
        Output(C.Y, "value", allow_duplicate=True),
        Output(C.W, "value", allow_duplicate=True),
        Output(C.H, "value", allow_duplicate=True),
        Output(C.NAME, "value", allow_duplicate=True),
        Output(C.OPACITY, "value", allow_duplicate=True),
        Output(C.layer_any(), "active"),
        Input(C.CANVAS, "relayoutData"),
        State(C.COMP, "data"),
        State(C.GEOM, "data"),
        State(C.HIST, "data"),
        State(C.KEEP_ASPECT, "value"),
        State(C.SNAP, "value"),
        State(C.CANVAS, "figure"),
        prevent_initial_call=True,
    )

    # The selected layer's values reach the fields in the browser, skipping the one being
    # typed in: a server answer to an earlier edit must not overwrite new typing.
    app.clientside_callback(
        ClientsideFunction("dashappCompositor", "fillFields"),
        Output(C.NAME, "value", allow_duplicate=True),
        Output(C.X, "value", allow_duplicate=True),
        Output(C.Y, "value", allow_duplicate=True),
        Output(C.W, "value", allow_duplicate=True),
        Output(C.H, "value", allow_duplicate=True),
        Output(C.OPACITY, "value", allow_duplicate=True),
        Input(C.FIELD_VALUES, "data"),
        prevent_initial_call=True,
    )

    field_inputs = {}
    for cid in FIELDS:
        field_inputs[f"{cid}:submit"] = Input(cid, "n_submit")
        field_inputs[f"{cid}:blur"] = Input(cid, "n_blur")

    @app.callback(
        Output(C.COMP, "data", allow_duplicate=True),
        Output(C.HIST, "data", allow_duplicate=True),
        Output(C.GEOM, "data", allow_duplicate=True),
        Output(C.MESSAGE, "children", allow_duplicate=True),
        Output(C.BG_MESSAGE, "children", allow_duplicate=True),
        Output(C.LAYER_MESSAGE, "children", allow_duplicate=True),
        inputs={
            "_triggers": [
                Input(C.BG_PENDING, "data"),
                Input(C.LAYER_PENDING, "data"),
                Input(C.SELECT, "data"),
                Input(C.ARTIFACT_ADD, "n_clicks"),
                Input(C.RECIPE_UPLOAD, "contents"),
                Input(C.UNDO, "n_clicks"),
                Input(C.REDO, "n_clicks"),
                *(Input(cid, "n_clicks") for cid in BUTTONS),
                *field_inputs.values(),
            ]
        },
        state={
            "values": {
                "comp": State(C.COMP, "data"),
                "hist": State(C.HIST, "data"),
                "geom": State(C.GEOM, "data"),
                "bg_pending": State(C.BG_PENDING, "data"),
                "layer_pending": State(C.LAYER_PENDING, "data"),
                "select": State(C.SELECT, "data"),
                "artifact": State(C.ARTIFACT, "value"),
                "recipe": State(C.RECIPE_UPLOAD, "contents"),
                "keep_aspect": State(C.KEEP_ASPECT, "value"),
                **{cid: State(cid, "value") for cid in FIELDS},
            }
        },
        prevent_initial_call=True,
    )
    def _act(_triggers: list[Any], values: dict[str, Any]) -> tuple[Any, ...]:
        # A blur of one field and Enter in another can arrive as one request: when only
        # fields fired, all of them are applied (the first alone would drop the others).
        fired = list(ctx.triggered_prop_ids.values())
        trigger = fired if len(fired) > 1 and all(f in FIELDS for f in fired) else ctx.triggered_id
        return act(deps, trigger, values, values["comp"], values["hist"], values["geom"])

    @app.callback(
        Output(C.CANVAS, "figure"),
        Output(C.CANVAS, "style"),
        Output(C.CANVAS_EMPTY, "style"),
        Output(C.LAYERS, "children"),
        Output(C.FIELD_VALUES, "data"),
        Output(C.CONTROLS, "disabled"),
        Output(C.BG_INFO, "children"),
        Output(C.LIMITS, "data"),
        Output(C.ARTIFACT, "options"),
        Output(C.COMP, "data", allow_duplicate=True),
        Output(C.HIST, "data", allow_duplicate=True),
        Output(C.QUERY, "data"),
        Output(C.MESSAGE, "children", allow_duplicate=True),
        Input(C.COMP, "modified_timestamp"),
        State(C.COMP, "data"),
        State(C.GEOM, "data"),
        State(C.QUERY, "data"),
        prevent_initial_call=True,
    )
    def _view(_ts: Any, comp: Any, geom: Any, query: Any) -> tuple[Any, ...]:
        v = view(deps, comp, geom, query)
        keys = (
            "figure",
            "canvas_style",
            "empty_style",
            "layers",
            "fields",
            "disabled",
            "bg_info",
            "limits",
            "artifacts",
            "comp",
            "hist",
            "query",
            "message",
        )
        return tuple(v[k] for k in keys)

    @app.callback(
        Output(C.RESULT, "children"),
        Input(C.RENDER, "n_clicks"),
        State(C.COMP, "data"),
        State(C.GEOM, "data"),
        State(C.FORMAT, "value"),
        State(C.QUALITY, "value"),
        prevent_initial_call=True,
    )
    def _render(_n: Any, comp: Any, geom: Any, fmt: Any, quality: Any) -> html.Div:
        return render_result(deps, comp, geom, fmt, quality)

    @app.callback(
        Output(C.RECIPE_DOWNLOAD, "data"),
        Input(C.RECIPE_SAVE, "n_clicks"),
        State(C.COMP, "data"),
        State(C.GEOM, "data"),
        prevent_initial_call=True,
    )
    def _recipe(_n: Any, comp: Any, geom: Any) -> dict[str, Any]:
        return recipe_file(deps, comp, geom)
