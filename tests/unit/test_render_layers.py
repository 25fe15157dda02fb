"""Hidden and locked layers, the layers list's commands, and batch renders, without Dash."""

from __future__ import annotations

import base64
import io
import json
import threading
import zipfile
from typing import Any

import pytest
from PIL import Image

from dashapp.compositor import batch, composition, figure, history, recipes
from dashapp.compositor.actions import render_file
from dashapp.compositor.composition import CompositionError
from dashapp.compositor.model import PageState, Refused, Rendered
from tests.image_fixtures import encode, solid
from tests.unit.test_composition import BLUE, RED, drag_to, make_store, rendered, setup

GREEN = (0, 255, 0, 255)


def with_green(store, comp, sid):
    """The red layer with a green one (same size) on top of it, in the same place."""
    green = store.add(sid, encode(solid((100, 50), GREEN, "RGBA"), "PNG"), "green.png")
    return composition.add_layer(comp, green)


def test_rl001_hidden_layers_are_neither_rendered_nor_drawn(tmp_path) -> None:
    store = make_store(tmp_path)
    comp, sid = setup(store)
    comp = with_green(store, comp, sid)
    green_id = comp["layers"][1]["id"]
    assert rendered(store, comp).getpixel((500, 300)) == GREEN
    hidden = composition.layer_command(comp, "visible", green_id, False)
    assert rendered(store, hidden).getpixel((500, 300)) == RED
    fig = figure.figure(hidden, lambda image, lay: image)
    names = [image["name"] for image in fig["layout"]["images"]]
    assert names == ["background", hidden["layers"][0]["id"]]
    assert [s["name"] for s in fig["layout"]["shapes"]] == [hidden["layers"][0]["id"]]
    shown = composition.layer_command(hidden, "visible", green_id, True)
    assert rendered(store, shown).getpixel((500, 300)) == GREEN
    # The flag survives what the browser sends back, a recipe and an undo.
    again, _ = composition.sanitize(hidden, store)
    assert again["layers"][1]["visible"] is False
    applied, _ = recipes.apply_recipe(composition.empty(sid), recipes.to_recipe(hidden), store)
    assert [lay["visible"] for lay in applied["layers"]] == [True, False]
    state, _ = history.undo(history.push(None, hidden), shown)
    assert composition.sanitize(state, store)[0]["layers"][1]["visible"] is False


def test_rl002_locked_layers_do_not_move_on_drag_or_keys(tmp_path) -> None:
    store = make_store(tmp_path)
    comp, sid = setup(store)
    comp = with_green(store, comp, sid)
    red_id, green_id = (lay["id"] for lay in comp["layers"])
    locked = composition.layer_command(comp, "locked", red_id, True)
    fig = figure.figure(locked, lambda image, lay: image)
    assert [s["name"] for s in fig["layout"]["shapes"]] == [green_id]  # nothing to drag
    selected = {**locked, "sel": red_id}
    outline = figure.figure(selected, lambda image, lay: image)["data"]
    assert [trace["name"] for trace in outline] == [red_id]  # a frame, not a shape
    # shapes[0] is now the green layer's: a drag moves it, never the locked one.
    moved = drag_to(locked, 10, 20, 110, 70)
    assert composition.box(moved["layers"][1])[:2] == (10, 20)
    assert moved["layers"][0]["x"] == locked["layers"][0]["x"]
    # Pending boxes from the browser (a drag, arrow keys) leave a locked layer where it is.
    geom = {"sel": red_id, "boxes": {red_id: [0, 0, 100, 50], green_id: [5, 6, 100, 50]}}
    merged = composition.merge_geometry(locked, geom)
    assert merged["layers"][0]["x"] == locked["layers"][0]["x"]
    assert (merged["layers"][1]["x"], merged["layers"][1]["y"]) == (5, 6)
    unlocked = composition.layer_command(merged, "locked", red_id, False)
    assert composition.merge_geometry(unlocked, geom)["layers"][0]["x"] == 0


def test_rl003_reorder_rename_and_bad_commands(tmp_path) -> None:
    store = make_store(tmp_path)
    comp, sid = setup(store)
    comp = with_green(store, comp, sid)
    comp = composition.add_layer(
        comp, store.add(sid, encode(solid((10, 10), BLUE), "PNG"), "blue.png")
    )
    names = lambda c: [lay["name"] for lay in c["layers"]]  # noqa: E731
    top = comp["layers"][2]["id"]
    assert names(composition.layer_command(comp, "reorder", top, 0)) == [
        "blue.png",
        "fg.png",
        "green.png",
    ]
    bottom = comp["layers"][0]["id"]
    assert names(composition.layer_command(comp, "reorder", bottom, 99)) == [
        "green.png",
        "blue.png",
        "fg.png",
    ]
    assert names(composition.layer_command(comp, "rename", bottom, "  Logo  "))[0] == "Logo"
    for cmd, layer, value, message in (
        ("rename", bottom, "   ", "needs a name"),
        ("reorder", bottom, "1", "whole number"),
        ("visible", bottom, "yes", "Unknown value"),
        ("explode", bottom, 1, "Unknown command"),
        ("visible", "nope", True, "Select a layer"),
    ):
        with pytest.raises(CompositionError, match=message):
            composition.layer_command(comp, cmd, layer, value)
    assert composition.select(comp, None)["sel"] is None  # Escape


def run_batch(store, comp, sources, **options: Any) -> batch.Batch | Refused:
    """A batch of the composition onto ``sources``, with its progress recorded."""
    seen: list[tuple[int, int]] = []
    defaults: dict[str, Any] = {
        "recipe_file": None,
        "use_recipe": False,
        "fmt": "png",
        "quality": 90,
    }
    result = batch.batch_render(
        store,
        PageState(comp),
        sources=sources,
        slots=threading.BoundedSemaphore(1),
        fetch=lambda art: (_ for _ in ()).throw(LookupError("No such training artifact.")),
        progress=lambda done, total, _name: seen.append((done, total)),
        **(defaults | options),
    )
    if isinstance(result, batch.Batch):
        assert seen == [(i, len(result.problems) + result.count) for i in range(len(seen))]
    return result


def unzip(store, result: batch.Batch) -> dict[str, Image.Image]:
    """The images of a batch's zip, by name."""
    found = store.batch_file(result.session, result.batch_id)
    assert found is not None
    with zipfile.ZipFile(found[0]) as zipped:
        return {n: Image.open(io.BytesIO(zipped.read(n))) for n in zipped.namelist()}


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_rl004_a_batch_render_is_exactly_the_single_renders(tmp_path, fmt) -> None:
    store = make_store(tmp_path)
    comp, sid = setup(store)
    comp = with_green(store, comp, sid)
    comp = drag_to(comp, 101.3, 40.6, 201.3, 90.6, index=1)
    hidden = composition.layer_command(comp, "visible", comp["layers"][0]["id"], False)
    wide = store.add(sid, encode(solid((2000, 900), (9, 99, 199)), "PNG"), "wide.png")
    sources = [batch.source(batch.UPLOAD, i) for i in (comp["bg"]["image"], wide.id)]
    result = run_batch(store, hidden, [*sources, sources[0]], fmt=fmt)  # once each
    assert isinstance(result, batch.Batch)
    assert (result.count, result.problems) == (2, [])
    images = unzip(store, result)
    ext = "png" if fmt == "png" else "jpg"
    assert list(images) == [f"01-bg.{ext}", f"02-wide.{ext}"]
    # Each is the render a person gets by putting that background under the composition.
    singles = [hidden, composition.set_background(hidden, wide)]
    for image, single in zip(images.values(), singles, strict=True):
        done = render_file(store, PageState(single), fmt, 90, threading.BoundedSemaphore(1))
        assert isinstance(done, Rendered)
        found = store.render_file(sid, done.render_id)
        assert found is not None
        with Image.open(found[0]) as alone:
            assert image.size == alone.size
            assert image.tobytes() == alone.tobytes()  # pixel for pixel
    first = images[f"01-bg.{ext}"]
    assert first.getpixel((150, 60))[:3] == pytest.approx((0, 255, 0), abs=3)  # green, moved
    assert first.getpixel((500, 300))[:3] == pytest.approx((0, 0, 255), abs=3)  # red: hidden


def test_rl005_batch_from_a_recipe_and_what_it_refuses(tmp_path) -> None:
    store = make_store(tmp_path)
    comp, sid = setup(store)
    recipe = recipes.to_recipe(drag_to(comp, 0, 0, 100, 50))
    data_url = (
        "data:application/json;base64," + base64.b64encode(json.dumps(recipe).encode()).decode()
    )
    other = store.add(sid, encode(solid((500, 300), (1, 1, 1)), "PNG"), "other.png")
    empty = composition.empty(sid)  # the recipe needs no composition on the canvas
    source = [batch.source(batch.UPLOAD, other.id)]
    result = run_batch(store, empty, source, recipe_file=data_url, use_recipe=True)
    assert isinstance(result, batch.Batch)
    (image,) = unzip(store, result).values()
    assert image.getpixel((0, 0)) == RED
    assert image.getpixel((50, 25)) == (1, 1, 1, 255)  # scaled by 500/1000
    assert isinstance(run_batch(store, empty, source), Refused)  # nothing to apply
    refusals = {
        "Choose one or more backgrounds": run_batch(store, comp, ["upload:../../etc", 42]),
        "Choose a recipe file": run_batch(store, comp, source, use_recipe=True),
        "not a dashapp compositor recipe": run_batch(
            store, comp, source, recipe_file="data:application/json;base64,ew==", use_recipe=True
        ),
        "JPEG quality": run_batch(store, comp, source, fmt="jpeg", quality=0),
    }
    for words, refused in refusals.items():
        assert isinstance(refused, Refused), words
        assert words in refused.message
    # A background that cannot be had is said; the others are rendered.
    mixed = run_batch(store, comp, [*source, "upload:0123456789abcdef", "artifact:7"])
    assert isinstance(mixed, batch.Batch)
    assert mixed.count == 1
    assert len(mixed.problems) == 2
    assert "No such training artifact" in mixed.problems[1]
