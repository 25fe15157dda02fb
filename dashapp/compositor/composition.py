"""A composition as plain data: a background, layers in z-order, the edits on them, and
the check that rebuilds one the browser sent.

Coordinates are the background's pixels (x right, y down) whatever the preview
scale, so the figure, the fields and the renderer share one mapping: a layer at
``x, y, w, h`` covers the output pixels ``round(x)..round(x + w)`` by
``round(y)..round(y + h)``.
"""

from __future__ import annotations

import copy
import math
import secrets
from collections.abc import Mapping
from typing import Any

from dashapp.compositor.imaging import ROTATIONS
from dashapp.compositor.upload_store import ImageInfo, UploadStore

Comp = dict[str, Any]
Layer = dict[str, Any]
MAX_LAYERS = 50
SNAP_FRACTION = 0.01  # snap when within 1% of the background's longer side


class CompositionError(ValueError):
    """An edit or a recipe that cannot apply; the message is for the user."""


def empty(session: str) -> Comp:
    """A composition with no background and no layers."""
    return {"session": session, "bg": None, "layers": [], "sel": None}


def box(layer: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """The output pixels a layer covers: ``(left, top, right, bottom)``, right/bottom exclusive."""
    x0, y0 = _round(layer["x"]), _round(layer["y"])
    x1, y1 = _round(layer["x"] + layer["w"]), _round(layer["y"] + layer["h"])
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def _round(value: float) -> int:
    """Round half up, as the browser's ``Math.round`` does for the fields."""
    return math.floor(value + 0.5)


def natural_aspect(layer: Mapping[str, Any]) -> float:
    """Width over height of the layer's image after its rotation."""
    iw, ih = layer["iw"], layer["ih"]
    return float(iw / ih if layer["rot"] in (0, 180) else ih / iw)


def selected(comp: Comp) -> Layer | None:
    """The selected layer, if any."""
    return next((lay for lay in comp["layers"] if lay["id"] == comp.get("sel")), None)


def _index(comp: Comp, layer_id: object) -> int:
    """Position of a layer in the z-order; CompositionError if it is not there."""
    for i, lay in enumerate(comp["layers"]):
        if lay["id"] == layer_id:
            return i
    raise CompositionError("Select a layer first.")


def set_background(comp: Comp, info: ImageInfo) -> Comp:
    """Use a stored image as background; layers move and scale proportionally to the new size."""
    out = copy.deepcopy(comp)
    old = out["bg"]
    out["bg"] = {"image": info.id, "name": info.name, "w": info.width, "h": info.height}
    if old and (old["w"], old["h"]) != (info.width, info.height):
        out["layers"] = [
            rescale(lay, old["w"], old["h"], info.width, info.height) for lay in out["layers"]
        ]
    return out


def rescale(layer: Layer, w0: float, h0: float, w1: float, h1: float) -> Layer:
    """Centre placed proportionally; size scaled by the smaller factor, keeping the shape."""
    sx, sy = w1 / w0, h1 / h0
    s = min(sx, sy)
    cx, cy = (layer["x"] + layer["w"] / 2) * sx, (layer["y"] + layer["h"] / 2) * sy
    w, h = layer["w"] * s, layer["h"] * s
    return {**layer, "x": cx - w / 2, "y": cy - h / 2, "w": w, "h": h}


def add_layer(comp: Comp, info: ImageInfo) -> Comp:
    """Add an image as the top layer, centred and fitted within half the background."""
    bg = comp["bg"]
    if bg is None:
        raise CompositionError("Upload a background first, then add layers onto it.")
    if len(comp["layers"]) >= MAX_LAYERS:
        raise CompositionError(f"A composition holds at most {MAX_LAYERS} layers.")
    scale = min(1.0, bg["w"] / 2 / info.width, bg["h"] / 2 / info.height)
    w, h = info.width * scale, info.height * scale
    layer = {
        "id": secrets.token_hex(4),
        "image": info.id,
        "name": info.name,
        "iw": info.width,
        "ih": info.height,
        "x": (bg["w"] - w) / 2,
        "y": (bg["h"] - h) / 2,
        "w": w,
        "h": h,
        "opacity": 1.0,
        "flip_h": False,
        "flip_v": False,
        "rot": 0,
        "visible": True,
        "locked": False,
    }
    out = copy.deepcopy(comp)
    out["layers"].append(layer)
    out["sel"] = layer["id"]
    return out


def select(comp: Comp, layer_id: object) -> Comp:
    """Select a layer by id; ``None`` selects none (Escape)."""
    if layer_id is not None:
        _index(comp, layer_id)
    return {**comp, "sel": layer_id}


def shown_on_canvas(lay: Mapping[str, Any]) -> bool:
    """Whether a layer is drawn (on the canvas and in the render): hidden ones are not."""
    return lay.get("visible", True) is not False


def draggable(comp: Comp) -> list[Layer]:
    """The layers the canvas gives a draggable shape, in z-order: shown and not locked."""
    return [lay for lay in comp["layers"] if shown_on_canvas(lay) and not lay.get("locked")]


def layer_command(comp: Comp, cmd: str, layer_id: object, value: Any) -> Comp:
    """A command from the layers list on one layer: show/hide, lock, rename, reorder."""
    out = copy.deepcopy(comp)
    i = _index(out, layer_id)
    layers = out["layers"]
    if cmd in ("visible", "locked"):
        if not isinstance(value, bool):
            raise CompositionError(f"Unknown value for {cmd}.")
        layers[i][cmd] = value
    elif cmd == "rename":
        name = str(value if isinstance(value, str) else "").strip()[:80]
        if not name:
            raise CompositionError("A layer needs a name.")
        layers[i]["name"] = name
    elif cmd == "reorder":
        if not isinstance(value, int) or isinstance(value, bool):
            raise CompositionError("A layer's new place must be a whole number.")
        layers.insert(max(0, min(value, len(layers) - 1)), layers.pop(i))
    else:
        raise CompositionError(f"Unknown command {cmd!r}.")
    return out


def edit(comp: Comp, action: str, value: Any = None, *, keep_aspect: bool = True) -> Comp:
    """Apply one panel action to the selected layer and return the new composition."""
    out = copy.deepcopy(comp)
    i = _index(out, out.get("sel"))
    layers = out["layers"]
    lay = layers[i]
    if action == "delete":
        del layers[i]
        out["sel"] = layers[min(i, len(layers) - 1)]["id"] if layers else None
    elif action == "duplicate":
        if len(layers) >= MAX_LAYERS:
            raise CompositionError(f"A composition holds at most {MAX_LAYERS} layers.")
        offset = max(out["bg"]["w"], out["bg"]["h"]) * 0.02
        dup = {**lay, "id": secrets.token_hex(4), "x": lay["x"] + offset, "y": lay["y"] + offset}
        dup["name"] = (lay["name"] + " copy")[:80]
        layers.insert(i + 1, dup)
        out["sel"] = dup["id"]
    elif action in ("forward", "backward"):
        j = i + 1 if action == "forward" else i - 1
        if 0 <= j < len(layers):
            layers[i], layers[j] = layers[j], layers[i]
    elif action == "flip_h":
        lay["flip_h"] = not lay["flip_h"]
    elif action == "flip_v":
        lay["flip_v"] = not lay["flip_v"]
    elif action == "rotate":
        cx, cy = lay["x"] + lay["w"] / 2, lay["y"] + lay["h"] / 2
        lay["rot"] = (lay["rot"] + 90) % 360
        lay["w"], lay["h"] = lay["h"], lay["w"]
        lay["x"], lay["y"] = cx - lay["w"] / 2, cy - lay["h"] / 2
    elif action == "opacity":
        lay["opacity"] = number(value, "Opacity", 0, 100) / 100
    elif action == "rename":
        name = str(value or "").strip()[:80]
        if not name:
            raise CompositionError("A layer needs a name.")
        lay["name"] = name
    elif action in ("x", "y", "w", "h"):
        _set_geometry(out, lay, action, value, keep_aspect=keep_aspect)
    else:
        raise CompositionError(f"Unknown action {action!r}.")
    return out


def number(value: Any, label: str, lo: float, hi: float) -> float:
    """A finite number within bounds, or CompositionError naming the field."""
    try:
        num = float(value)
    except (TypeError, ValueError):
        raise CompositionError(f"{label} must be a number.") from None
    if not math.isfinite(num) or not lo <= num <= hi:
        raise CompositionError(f"{label} must be between {lo:g} and {hi:g}.")
    return num


def limits(bg: Mapping[str, Any]) -> tuple[float, float]:
    """How far off the canvas a layer may go, and how large it may be."""
    side = max(bg["w"], bg["h"])
    return 10.0 * side, 10.0 * side


def _set_geometry(comp: Comp, lay: Layer, field: str, value: Any, *, keep_aspect: bool) -> None:
    """Set one of x, y, w, h from a field; with the aspect kept, w and h move together."""
    reach, biggest = limits(comp["bg"])
    if field in ("x", "y"):
        lay[field] = number(value, field.upper(), -reach, reach)
        return
    size = number(value, "Width" if field == "w" else "Height", 1, biggest)
    aspect = natural_aspect(lay)
    lay[field] = size
    if keep_aspect:
        if field == "w":
            lay["h"] = size / aspect
        else:
            lay["w"] = size * aspect


def apply_relayout(
    comp: Comp, relayout: Mapping[str, Any], *, keep_aspect: bool, snap: bool
) -> Comp:
    """Apply a figure's ``shapes[i].x0..y1`` relayout (a drag) as the browser script does.

    The same rules run in ``assets/dashapp.js`` for the drag itself (no server round
    trip); this copy serves tests and the server-side merge.
    """
    out = copy.deepcopy(comp)
    # The figure has a shape for each draggable layer only, in z-order.
    for i, lay in enumerate(draggable(out)):
        keys = [f"shapes[{i}].{k}" for k in ("x0", "y0", "x1", "y1")]
        if not all(k in relayout for k in keys):
            continue
        x0, y0, x1, y1 = (float(relayout[k]) for k in keys)
        new = drag_geometry(
            lay, out["bg"], (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), keep_aspect, snap
        )
        lay.update(new)
        out["sel"] = lay["id"]
    return out


def drag_geometry(
    lay: Mapping[str, Any],
    bg: Mapping[str, Any],
    shape: tuple[float, float, float, float],
    keep_aspect: bool,
    snap: bool,
) -> dict[str, float]:
    """A layer's new ``x, y, w, h`` after its shape was dragged or resized to ``shape``."""
    x0, y0, x1, y1 = shape
    w, h = x1 - x0, y1 - y0
    moved_only = abs(w - lay["w"]) < 0.5 and abs(h - lay["h"]) < 0.5
    if moved_only:
        w, h = lay["w"], lay["h"]
        if snap:
            x0 = _snap(x0, w, bg["w"], max(bg["w"], bg["h"]) * SNAP_FRACTION)
            y0 = _snap(y0, h, bg["h"], max(bg["w"], bg["h"]) * SNAP_FRACTION)
        return {"x": x0, "y": y0, "w": w, "h": h}
    w, h = max(w, 1.0), max(h, 1.0)
    if keep_aspect:
        aspect = natural_aspect(lay)
        if abs(w / lay["w"] - 1) >= abs(h / lay["h"] - 1):
            h = w / aspect
        else:
            w = h * aspect
        # The handle that moved decides which edges stay put.
        if abs(x0 - lay["x"]) > 0.5:
            x0 = x1 - w
        if abs(y0 - lay["y"]) > 0.5:
            y0 = y1 - h
    return {"x": x0, "y": y0, "w": w, "h": h}


def _snap(start: float, size: float, extent: float, within: float) -> float:
    """Move ``start`` so an edge or the centre meets the canvas edge or centre, if close."""
    best = start
    best_d = within
    for target in (0.0, extent - size, (extent - size) / 2):
        d = abs(start - target)
        if d <= best_d:
            best, best_d = target, d
    return best


def merge_geometry(comp: Comp, geom: Any) -> Comp:
    """Fold the browser's drag results (``{"sel", "boxes": {id: [x, y, w, h]}}``) in, checked.

    A locked layer keeps its place whatever the browser says (it may not be dragged or nudged).
    """
    if not isinstance(geom, dict) or comp["bg"] is None:
        return comp
    out = copy.deepcopy(comp)
    reach, biggest = limits(out["bg"])
    boxes: dict[str, Any] = geom["boxes"] if isinstance(geom.get("boxes"), dict) else {}
    for lay in out["layers"]:
        vals = boxes.get(lay["id"])
        if not (isinstance(vals, list) and len(vals) == 4) or lay.get("locked"):
            continue
        try:
            x = number(vals[0], "X", -reach, reach)
            y = number(vals[1], "Y", -reach, reach)
            w = number(vals[2], "Width", 1, biggest)
            h = number(vals[3], "Height", 1, biggest)
        except CompositionError:
            continue
        lay.update(x=x, y=y, w=w, h=h)
    if any(lay["id"] == geom.get("sel") for lay in out["layers"]):
        out["sel"] = geom["sel"]
    return out


def sanitize(raw: Any, store: UploadStore) -> tuple[Comp, list[str]]:
    """Rebuild a composition the browser sent from what the server knows; say what was dropped."""
    notes: list[str] = []
    if not isinstance(raw, dict) or not store.valid_session(raw.get("session")):
        return empty(store.new_session()), notes
    sid = raw["session"]
    comp = empty(sid)
    bg = raw.get("bg")
    bg_info = store.info(sid, bg.get("image")) if isinstance(bg, dict) else None
    if bg is not None and bg_info is None:
        notes.append("The background's upload has expired; upload it again.")
    if bg_info is not None:
        comp["bg"] = {
            "image": bg_info.id,
            "name": bg_info.name,
            "w": bg_info.width,
            "h": bg_info.height,
        }
    layers: list[Any] = raw["layers"] if isinstance(raw.get("layers"), list) else []
    seen: set[str] = set()
    for item in layers[:MAX_LAYERS]:
        lay = checked_layer(item, comp, store, seen)
        if lay is None:
            notes.append("A layer whose upload has expired or is unreadable was removed.")
            continue
        seen.add(lay["id"])
        comp["layers"].append(lay)
    if raw.get("sel") in seen:
        comp["sel"] = raw["sel"]
    return comp, sorted(set(notes))


def checked_layer(item: Any, comp: Comp, store: UploadStore, seen: set[str]) -> Layer | None:
    """One checked layer, or None when anything about it is wrong."""
    if comp["bg"] is None or not isinstance(item, dict):
        return None
    info = store.info(comp["session"], item.get("image"))
    lid = item.get("id")
    if info is None or not isinstance(lid, str) or len(lid) != 8 or lid in seen:
        return None
    if item.get("rot") not in ROTATIONS:
        return None
    reach, biggest = limits(comp["bg"])
    try:
        geometry = {
            "x": number(item.get("x"), "X", -reach, reach),
            "y": number(item.get("y"), "Y", -reach, reach),
            "w": number(item.get("w"), "Width", 1, biggest),
            "h": number(item.get("h"), "Height", 1, biggest),
            "opacity": number(item.get("opacity"), "Opacity", 0, 1),
        }
    except CompositionError:
        return None
    return {
        "id": lid,
        "image": info.id,
        "name": str(item.get("name") or info.name)[:80],
        "iw": info.width,
        "ih": info.height,
        **geometry,
        "flip_h": item.get("flip_h") is True,
        "flip_v": item.get("flip_v") is True,
        "rot": item["rot"],
        "visible": item.get("visible") is not False,
        "locked": item.get("locked") is True,
    }
