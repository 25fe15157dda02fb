"""Compositor actions that reach beyond one composition: uploads, added images, recipes.

Plain Python (no Dash): each returns an Outcome whose messages are ``(text, kind)``
pairs addressed to ``MAIN``, ``BACKGROUND`` or ``LAYERS``; the page decides how to show them.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from dashapp.compositor import composition
from dashapp.compositor.composition import Comp, CompositionError
from dashapp.compositor.imaging import ImageRejected
from dashapp.compositor.upload_store import UploadStore

MAIN, BACKGROUND, LAYERS = "main", "background", "layers"
RECIPE_MAX_BYTES = 1024 * 1024
Message = tuple[str, str]  # (text, kind: danger, success or warning)


class NothingToDo(Exception):
    """The request carried nothing to act on (e.g. an empty upload)."""


@dataclass
class Outcome:
    """What one action changed: the composition and where to say what happened."""

    comp: Comp
    messages: dict[str, list[Message]] = field(default_factory=dict)
    history: bool = True  # whether the step can be undone
    new_hist: Any = None  # the history after an undo or redo


def decode_data_url(contents: Any, max_bytes: int) -> bytes:
    """The bytes of a ``data:...;base64,`` upload; ImageRejected if it is not one."""
    if not isinstance(contents, str) or "," not in contents:
        raise ImageRejected("The upload did not arrive as a file.")
    payload = contents.split(",", 1)[1]
    if len(payload) * 3 // 4 > max_bytes + 3:
        size = f"{len(payload) * 3 / 4 / 1048576:.1f}"
        limit = f"{max_bytes / 1048576:.1f}".removesuffix(".0")
        raise ImageRejected(f"The file is {size} MB; the limit is {limit} MB.")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected("The upload is not valid base64 data.") from None


def add_uploads(store: UploadStore, comp: Comp, pending: Any, *, background: bool) -> Outcome:
    """Store uploaded files and put them on the canvas; one message for all of them."""
    files = pending.get("files") if isinstance(pending, dict) else None
    if not isinstance(files, list) or not files:
        raise NothingToDo
    problems = [str(r) for r in pending.get("rejected") or [] if isinstance(r, str)][:20]
    added: list[str] = []
    target = BACKGROUND if background else LAYERS
    for item in files[: 1 if background else composition.MAX_LAYERS]:
        name = str(item.get("filename") or "file")[:80] if isinstance(item, dict) else "file"
        try:
            data = decode_data_url(
                item.get("contents") if isinstance(item, dict) else None, store.limits.max_bytes
            )
            info = store.add(comp["session"], data, name)
            comp = (
                composition.set_background(comp, info)
                if background
                else composition.add_layer(comp, info)
            )
            added.append(info.name)
        except (ImageRejected, CompositionError) as exc:
            problems.append(f"{name}: {exc}")
    parts: list[Message] = []
    if added:
        parts.append(
            (("Background: " if background else "Added ") + ", ".join(added) + ".", "success")
        )
    if problems:
        parts.append((" ".join(problems), "danger"))
    return Outcome(comp, {target: parts}, history=bool(added))


def add_artifact(store: UploadStore, comp: Comp, artifact: tuple[bytes, str]) -> Outcome:
    """Add an image (a training job's ``(bytes, name)``) as a layer, or as the background."""
    data, name = artifact
    info = store.add(comp["session"], data, name)
    if comp["bg"] is None:
        return Outcome(
            composition.set_background(comp, info),
            {MAIN: [(f"{name} is the background.", "success")]},
        )
    return Outcome(composition.add_layer(comp, info), {MAIN: [(f"Added {name}.", "success")]})


def load_recipe(store: UploadStore, comp: Comp, contents: Any) -> Outcome:
    """Apply an uploaded JSON recipe to the composition."""
    try:
        data = decode_data_url(contents, RECIPE_MAX_BYTES)
        recipe = json.loads(data.decode("utf-8"))
    except ImageRejected as exc:
        raise CompositionError(f"Recipe refused: {exc}") from None
    except (UnicodeDecodeError, ValueError):
        raise CompositionError("This file is not a dashapp compositor recipe.") from None
    new, notes = composition.apply_recipe(comp, recipe, store)
    text = f"Recipe loaded: {len(new['layers'])} layer(s)." + (
        "" if not notes else " " + " ".join(notes)
    )
    return Outcome(new, {MAIN: [(text, "warning" if notes else "success")]})
