"""The Compositor's user actions: one plain-Python entry per thing a person does on the page.

Each entry takes the page's stores as the browser sent them (``PageState``, untrusted),
rebuilds the composition from what the server knows once, applies the action and
answers with plain data (``Step``, see ``model``): what to write back, what the page
shows now, and what to say where. No Dash here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dashapp.compositor import composition, history, recipes, render
from dashapp.compositor.composition import Comp, CompositionError
from dashapp.compositor.imaging import ImageRejected, decode_data_url
from dashapp.compositor.model import (
    BACKGROUND,
    LAYERS,
    MAIN,
    Message,
    Messages,
    PageState,
    RecipeFile,
    Refused,
    Rendered,
    Step,
    revision,
    shown,
    view_of,
)
from dashapp.compositor.storage import StorageError
from dashapp.compositor.upload_store import ImageInfo, UploadStore

# A training job's image by its artifact id: ``(bytes, name)``, or LookupError saying why not.
FetchArtifact = Callable[[Any], tuple[bytes, str]]
RENDER_WAIT_S = 60


class NothingToDo(Exception):
    """The request carried nothing to act on (e.g. an empty upload)."""


@dataclass
class Outcome:
    """What one edit changed: the composition and where to say what happened."""

    comp: Comp
    messages: Messages = field(default_factory=dict)
    history: bool = True  # whether the step can be undone
    new_hist: Any = None  # the history after an undo or redo
    fold: bool = False  # answer even when only the drag's pending boxes changed


# --- the entries ---------------------------------------------------------------------


def upload(store: UploadStore, page: PageState, pending: Any, *, background: bool) -> Step | None:
    """Files dropped on the background or the layers zone (``{"files", "rejected"}``)."""
    return _run(store, page, lambda comp: _uploaded(store, comp, pending, background=background))


def select(store: UploadStore, page: PageState, picked: Any) -> Step | None:
    """A layer picked in the list or by Tab (``{"layer": id}``; ``None``: Escape); not undoable."""

    def change(comp: Comp) -> Outcome | None:
        if not isinstance(picked, dict):
            return None
        return Outcome(composition.select(comp, picked.get("layer")), history=False)

    return _run(store, page, change)


def layer_command(store: UploadStore, page: PageState, command: Any) -> Step | None:
    """A command from the layers list: ``{"cmd", "layer", "value"}`` (see ``layer_command``)."""

    def change(comp: Comp) -> Outcome | None:
        if not isinstance(command, dict) or not isinstance(command.get("cmd"), str):
            return None
        cmd, layer_id, value = command["cmd"], command.get("layer"), command.get("value")
        return Outcome(composition.layer_command(comp, cmd, layer_id, value))

    return _run(store, page, change)


def commit(store: UploadStore, page: PageState) -> Step | None:
    """A burst of nudges (arrow keys) settled: fold their pending boxes in, once.

    The browser moved the layer and recorded the undo step already, as after a drag.
    """
    return _run(store, page, lambda comp: Outcome(comp, history=False, fold=True))


def panel_button(store: UploadStore, page: PageState, action: str) -> Step | None:
    """A button of the selected layer's panel: delete, duplicate, forward, flip_h, rotate…"""
    return _run(store, page, lambda comp: Outcome(composition.edit(comp, action)))


def edit_fields(
    store: UploadStore,
    page: PageState,
    typed: dict[str, Any],
    fired: Sequence[str],
    *,
    keep_aspect: bool,
) -> Step | None:
    """Values in the panel's fields (by action) after Enter or a blur of the ``fired`` ones.

    Every field that differs from the layer is the user's typing (the fields are drawn
    from the layer), whichever fired: an edit sent with another field's event must not
    be lost. The fields that fired go last (they decide the aspect); unchanged ones do
    nothing.
    """
    order = [a for a in typed if a not in fired] + [a for a in dict.fromkeys(fired) if a in typed]

    def change(comp: Comp) -> Outcome | None:
        result: Outcome | None = None
        for action in order:
            new = _field(result.comp if result else comp, action, typed[action], keep_aspect)
            result = new or result
        return result

    return _run(store, page, change)


def undo(store: UploadStore, page: PageState, *, redo: bool = False) -> Step | None:
    """Step back in the history (forward with ``redo``); the restored state is checked too."""

    def change(comp: Comp) -> Outcome:
        state, new_hist = history.undo(page.hist, comp, redo=redo)
        restored, _ = composition.sanitize(
            {**state, "session": comp["session"]} if isinstance(state, dict) else None, store
        )
        return Outcome(restored, history=False, new_hist=new_hist)

    return _run(store, page, change)


def add_artifact(
    store: UploadStore, page: PageState, artifact_id: Any, fetch: FetchArtifact
) -> Step | None:
    """A training job's image picked in the list: a layer, or the background if none yet."""

    def change(comp: Comp) -> Outcome:
        if not artifact_id:
            raise CompositionError("Pick an image from a training job first.")
        return _with_artifact(store, comp, _fetched(fetch, artifact_id))

    return _run(store, page, change)


def load_recipe(store: UploadStore, page: PageState, contents: Any) -> Step | None:
    """A recipe file (a ``data:`` URL) laid onto the composition."""

    def change(comp: Comp) -> Outcome:
        new, notes = recipes.apply_recipe(comp, recipes.parse(contents), store)
        text = f"Recipe loaded: {len(new['layers'])} layer(s)." + (
            "" if not notes else " " + " ".join(notes)
        )
        return Outcome(new, {MAIN: [(text, "warning" if notes else "success")]})

    return _run(store, page, change)


def open_page(store: UploadStore, page: PageState, artifact_id: Any, fetch: FetchArtifact) -> Step:
    """The page loaded or restored: the stored composition checked, a ``?artifact=`` added."""
    try:
        comp, notes = composition.sanitize(page.comp, store)
    except StorageError as exc:  # the composition is kept as it is: nothing was checked
        return Step(messages={MAIN: [(str(exc), "danger")]})
    raw = page.comp if isinstance(page.comp, dict) else {}
    written: Comp | None = None
    new_hist: dict[str, list[Comp]] | None = None
    messages: Messages = {}
    if notes or not isinstance(page.comp, dict) or raw.get("session") != comp["session"]:
        written = comp
        messages[MAIN] = [(" ".join(notes), "warning")] if notes else []
    if artifact_id:
        try:
            merged = composition.merge_geometry(comp, page.geom)
            outcome = _with_artifact(store, merged, _fetched(fetch, artifact_id))
            new_hist = history.push(None, comp)
            comp = written = outcome.comp
            messages[MAIN] = outcome.messages[MAIN]
        except (CompositionError, ImageRejected, StorageError) as exc:
            messages[MAIN] = [(str(exc), "danger")]
    rev = revision(page.comp) + (written is not None)
    return Step(
        comp=None if written is None else {**written, "rev": rev},
        hist=new_hist,
        messages=messages,
        view=view_of(composition.merge_geometry(comp, page.geom), store),
        rev=rev,
        query_done=bool(artifact_id),
    )


def render_file(
    store: UploadStore,
    page: PageState,
    fmt: Any,
    quality: Any,
    slots: threading.Semaphore,
    *,
    wait_s: float = RENDER_WAIT_S,
) -> Rendered | Refused:
    """Render at full resolution and save the file (PNG, or JPEG at ``quality``)."""
    try:
        comp, _ = composition.sanitize(page.comp, store)
    except StorageError as exc:
        return Refused(str(exc))
    comp = composition.merge_geometry(comp, page.geom)
    try:
        fmt, q = render.output_format(fmt, quality)
    except CompositionError as exc:
        return Refused(str(exc))
    started = time.perf_counter()
    # A full-resolution render holds about twice the output in memory: a few render
    # slots per worker keep the server's memory bounded.
    if not slots.acquire(timeout=wait_s):
        return Refused("The server is busy rendering other compositions; try again in a moment.")
    try:
        image = render.render(comp, lambda image_id: store.open(comp["session"], image_id))
        flat = render.flatten(image, fmt)
        render_id = store.save_render(comp["session"], flat, fmt=fmt, quality=q)
    except (CompositionError, StorageError) as exc:
        return Refused(str(exc))
    except KeyError:
        return Refused("An upload of this composition has expired; upload it again.")
    finally:
        slots.release()
    took = time.perf_counter() - started
    return Rendered(comp["session"], render_id, fmt, image.width, image.height, took)


def save_recipe(store: UploadStore, page: PageState) -> RecipeFile | None:
    """The recipe of the current composition; None while it has no background (or no store)."""
    try:
        comp, _ = composition.sanitize(page.comp, store)
    except StorageError:
        return None
    comp = composition.merge_geometry(comp, page.geom)
    if comp["bg"] is None:
        return None
    return RecipeFile(json.dumps(recipes.to_recipe(comp), indent=1))


# --- the steps they share ------------------------------------------------------------


def _run(
    store: UploadStore, page: PageState, change: Callable[[Comp], Outcome | None]
) -> Step | None:
    """Check the composition once, fold the drag in, apply ``change``; None: nothing to do."""
    try:
        comp, notes = composition.sanitize(page.comp, store)
        comp = composition.merge_geometry(comp, page.geom)
        store.touch(comp["session"])
        outcome = change(comp)
    except NothingToDo:
        return None
    except (CompositionError, ImageRejected, StorageError) as exc:
        return Step(messages={MAIN: [(str(exc), "danger")]})
    if outcome is None or (
        outcome.comp == comp and not outcome.messages and not (outcome.fold and page.geom)
    ):
        return None
    new_hist = outcome.new_hist
    edited = (outcome.comp["layers"], outcome.comp["bg"]) != (comp["layers"], comp["bg"])
    if new_hist is None and outcome.history and edited:
        new_hist = history.push(page.hist, comp)
    messages: Messages = {MAIN: [(" ".join(notes), "warning")] if notes else []}
    messages.update(outcome.messages)
    # The drag's pending boxes are folded in, so GEOM is cleared whenever it held any;
    # the revision makes the store change (and the page redraw) even when an undo lands
    # on the very state the store already holds.
    raw = dict(page.comp) if isinstance(page.comp, dict) else {}
    raw.pop("rev", None)
    if outcome.comp == raw and not page.geom:
        return Step(hist=new_hist, messages=messages)
    rev = revision(page.comp) + 1
    return Step(
        comp={**outcome.comp, "rev": rev},
        hist=new_hist,
        clear_geom=True,
        messages=messages,
        view=view_of(outcome.comp, store),
        rev=rev,
    )


def _field(comp: Comp, action: str, value: Any, keep_aspect: bool) -> Outcome | None:
    """An exact value typed into a field; unchanged values do nothing."""
    lay = composition.selected(comp)
    if lay is None or value is None or value == shown(lay)[action]:
        return None
    return Outcome(composition.edit(comp, action, value, keep_aspect=keep_aspect))


def _uploaded(store: UploadStore, comp: Comp, pending: Any, *, background: bool) -> Outcome:
    """Store uploaded files and put them on the canvas; one message for all of them."""
    files = pending.get("files") if isinstance(pending, dict) else None
    rejected = pending.get("rejected") if isinstance(pending, dict) else None
    problems = (
        [r for r in rejected if isinstance(r, str)][:20] if isinstance(rejected, list) else []
    )
    # Files the browser refused (too large) are said here too, like the server's refusals.
    if not isinstance(files, list) or not (files or problems):
        raise NothingToDo
    added: list[str] = []
    target = BACKGROUND if background else LAYERS
    for item in files[: 1 if background else composition.MAX_LAYERS]:
        name = str(item.get("filename") or "file")[:80] if isinstance(item, dict) else "file"
        try:
            info = _stored_or_added(store, comp["session"], item, name)
            comp = (
                composition.set_background(comp, info)
                if background
                else composition.add_layer(comp, info)
            )
            added.append(info.name)
        except (ImageRejected, CompositionError, StorageError) as exc:
            problems.append(f"{name}: {exc}")
    parts: list[Message] = []
    if added:
        parts.append(
            (("Background: " if background else "Added ") + ", ".join(added) + ".", "success")
        )
    if problems:
        parts.append((" ".join(problems), "danger"))
    return Outcome(comp, {target: parts}, history=bool(added))


def _stored_or_added(store: UploadStore, sid: str, item: Any, name: str) -> ImageInfo:
    """An upload's image: stored already (``{"stored": id}``, by the upload route), or sent
    in the request (``{"contents": data URL}``) and stored now."""
    if isinstance(item, dict) and "stored" in item:
        info = store.info(sid, item["stored"])
        if info is None:
            raise ImageRejected("The upload has expired; upload it again.")
        return info
    contents = item.get("contents") if isinstance(item, dict) else None
    return store.add(sid, decode_data_url(contents, store.limits.max_bytes), name)


def store_upload(store: UploadStore, sid: Any, data: bytes, name: str | None) -> ImageInfo:
    """Decode and keep one file sent to the upload route (the same limits, slots and quota).

    Raises ImageRejected or StorageError with the user's message; the composition takes
    the image with the next ``upload`` action (``{"stored": id}``).
    """
    if not store.valid_session(sid):
        raise ImageRejected("This page's session is not valid; reload the page.")
    store.touch(sid)
    return store.add(sid, data, name)


def _fetched(fetch: FetchArtifact, artifact_id: Any) -> tuple[bytes, str]:
    """A job's image, or CompositionError saying why it cannot be used."""
    try:
        return fetch(artifact_id)
    except LookupError as exc:
        raise CompositionError(str(exc)) from None


def _with_artifact(store: UploadStore, comp: Comp, artifact: tuple[bytes, str]) -> Outcome:
    """Add an image (a training job's ``(bytes, name)``) as a layer, or as the background."""
    data, name = artifact
    info = store.add(comp["session"], data, name)
    if comp["bg"] is None:
        return Outcome(
            composition.set_background(comp, info),
            {MAIN: [(f"{name} is the background.", "success")]},
        )
    return Outcome(composition.add_layer(comp, info), {MAIN: [(f"Added {name}.", "success")]})
