"""Recipes: a composition's layers and places as a small JSON file, laid onto any background."""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

from dashapp.compositor import composition
from dashapp.compositor.composition import Comp, CompositionError, Layer
from dashapp.compositor.imaging import ImageRejected, decode_data_url
from dashapp.compositor.upload_store import UploadStore

RECIPE_KEY = "dashapp_recipe"
RECIPE_MAX_BYTES = 1024 * 1024
MAX_DEPTH = 8  # a recipe nests 3 levels: recipe, layers, layer


def to_recipe(comp: Comp) -> dict[str, Any]:
    """A small JSON-able recipe of the composition that refers to the uploads by id."""
    bg = comp["bg"]
    keys = ("image", "name", "x", "y", "w", "h", "opacity", "flip_h", "flip_v", "rot")
    return {
        RECIPE_KEY: 1,
        "background": None if bg is None else {k: bg[k] for k in ("image", "name", "w", "h")},
        "layers": [
            {k: lay[k] for k in keys}
            | {"visible": lay.get("visible", True), "locked": lay.get("locked", False)}
            for lay in comp["layers"]
        ],
    }


def apply_recipe(comp: Comp, recipe: Any, store: UploadStore) -> tuple[Comp, list[str]]:
    """Lay a recipe onto the composition's background (or the recipe's own, if it is here)."""
    if not isinstance(recipe, dict) or recipe.get(RECIPE_KEY) != 1:
        raise CompositionError("This file is not a dashapp compositor recipe.")
    sid = comp["session"]
    rbg = recipe.get("background")
    if not isinstance(rbg, dict):
        raise CompositionError("The recipe has no background size.")
    try:
        rw = composition.number(rbg.get("w"), "Recipe width", 1, 1e6)
        rh = composition.number(rbg.get("h"), "Recipe height", 1, 1e6)
    except CompositionError as exc:
        raise CompositionError(f"The recipe is damaged: {exc}") from None
    out = copy.deepcopy(comp)
    if out["bg"] is None:
        info = store.info(sid, rbg.get("image"))
        if info is None:
            raise CompositionError("Upload a background first: the recipe's own is not here.")
        out = composition.set_background(out, info)
    bg = out["bg"]
    notes: list[str] = []
    items: list[Any] = recipe["layers"] if isinstance(recipe.get("layers"), list) else []
    fresh: list[Layer] = []
    for item in items[: composition.MAX_LAYERS]:
        candidate = {**item, "id": secrets.token_hex(4)} if isinstance(item, dict) else None
        # Geometry is checked against the recipe's background, then rescaled.
        probe = {**out, "bg": {**bg, "w": rw, "h": rh}}
        lay = composition.checked_layer(candidate, probe, store, set())
        if lay is None:
            name = item.get("name") if isinstance(item, dict) else None
            notes.append(f"Skipped layer {name or '?'}: its upload is not in this session.")
            continue
        fresh.append(composition.rescale(lay, rw, rh, bg["w"], bg["h"]))
    if not fresh and items:
        raise CompositionError("None of the recipe's layers refer to uploads in this session.")
    out["layers"] = fresh
    out["sel"] = fresh[-1]["id"] if fresh else None
    return out, notes


def parse(contents: Any) -> Any:
    """The JSON of an uploaded recipe file (a ``data:`` URL); CompositionError if unreadable."""
    try:
        data = decode_data_url(contents, RECIPE_MAX_BYTES)
        recipe = json.loads(data.decode("utf-8"))
    except ImageRejected as exc:
        raise CompositionError(f"Recipe refused: {exc}") from None
    # JSON nested thousands deep makes the parser raise RecursionError; a little less deep
    # parses, and then breaks whatever walks it (a message quoting a name, a deepcopy).
    except (UnicodeDecodeError, ValueError, RecursionError):
        recipe = None
    if recipe is None or _deeper_than(recipe, MAX_DEPTH):
        raise CompositionError("This file is not a dashapp compositor recipe.")
    return recipe


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than ``limit`` levels (without recursion)."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True
