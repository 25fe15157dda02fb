"""Composition edits, the figure-to-pixel mapping and the rendered pixels, without Dash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from dashapp.compositor import composition, figure, history, recipes, render
from dashapp.compositor.composition import CompositionError
from dashapp.compositor.imaging import Limits
from dashapp.compositor.upload_store import UploadStore
from tests.image_fixtures import encode, quadrants, solid

BLUE = (0, 0, 255, 255)
RED = (255, 0, 0, 255)


def make_store(tmp_path: Path, preview_px: int = 1600) -> UploadStore:
    return UploadStore(tmp_path / "uploads", limits=Limits(), preview_px=preview_px, idle_s=3600)


def setup(store: UploadStore, bg_size=(1000, 600), layer=None):
    """A composition with a blue background and one layer (solid red 100x50 by default)."""
    sid = store.new_session()
    bg = store.add(sid, encode(solid(bg_size, (0, 0, 255)), "PNG"), "bg.png")
    fg_img = layer if layer is not None else solid((100, 50), (255, 0, 0, 255), "RGBA")
    fg = store.add(sid, encode(fg_img, "PNG"), "fg.png")
    comp = composition.add_layer(composition.set_background(composition.empty(sid), bg), fg)
    return comp, sid


def rendered(store: UploadStore, comp) -> Image.Image:
    return render.render(comp, lambda image_id: store.open(comp["session"], image_id))


def drag_to(comp, x0, y0, x1, y1, *, keep_aspect=True, snap=False, index=0):
    """What the browser sends after a drag: the shape's new corners in figure coordinates."""
    relayout = {
        f"shapes[{index}].x0": x0,
        f"shapes[{index}].y0": y0,
        f"shapes[{index}].x1": x1,
        f"shapes[{index}].y1": y1,
    }
    return composition.apply_relayout(comp, relayout, keep_aspect=keep_aspect, snap=snap)


def assert_box(img: Image.Image, box, inside=RED, outside=BLUE) -> None:
    """Pixels just inside each edge of ``box`` are the layer's, just outside are not."""
    x0, y0, x1, y1 = box
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    assert img.getpixel((x0, cy)) == inside, ("left edge", box)
    assert img.getpixel((x1 - 1, cy)) == inside, ("right edge", box)
    assert img.getpixel((cx, y0)) == inside, ("top edge", box)
    assert img.getpixel((cx, y1 - 1)) == inside, ("bottom edge", box)
    assert img.getpixel((x0 - 1, cy)) == outside
    assert img.getpixel((x1, cy)) == outside
    assert img.getpixel((cx, y0 - 1)) == outside
    assert img.getpixel((cx, y1)) == outside


@pytest.mark.parametrize("preview_px", [200, 640, 1600])
@pytest.mark.parametrize(
    "shape", [(100.4, 200.2, 300.4, 300.2), (0.6, 0.5, 77.49, 39.2), (512.5, 13.0, 999.4, 256.6)]
)
def test_co001_a_layer_lands_where_the_figure_shows_it(tmp_path, preview_px, shape) -> None:
    store = make_store(tmp_path, preview_px)
    comp, _ = setup(store)
    moved = drag_to(comp, *shape, keep_aspect=False)
    fig = figure.figure(moved, lambda image, lay: f"/p/{image}")
    # Figure coordinates are background pixels whatever the preview's scale.
    image = fig["layout"]["images"][1]
    assert (image["x"], image["y"]) == pytest.approx(shape[:2])
    assert (image["x"] + image["sizex"], image["y"] + image["sizey"]) == pytest.approx(shape[2:])
    out = rendered(store, moved)
    assert out.size == (1000, 600)
    expected = tuple(int(v + 0.5) for v in shape)
    assert composition.box(moved["layers"][0]) == expected
    x0, y0, x1, y1 = expected
    # Edges of the image itself, except where they touch the canvas border.
    assert out.getpixel((x0, (y0 + y1) // 2)) == RED
    assert out.getpixel((x1 - 1, (y0 + y1) // 2)) == RED
    assert out.getpixel(((x0 + x1) // 2, y0)) == RED
    assert out.getpixel(((x0 + x1) // 2, y1 - 1)) == RED
    if x0 > 0:
        assert out.getpixel((x0 - 1, (y0 + y1) // 2)) == BLUE
    assert out.getpixel((x1, (y0 + y1) // 2)) == BLUE
    assert out.getpixel(((x0 + x1) // 2, y1)) == BLUE


def test_co002_move_keeps_size_and_resize_keeps_aspect(tmp_path) -> None:
    comp, _ = setup(make_store(tmp_path))
    lay = comp["layers"][0]  # 100x50 centred: 450, 275
    assert (lay["x"], lay["y"], lay["w"], lay["h"]) == (450, 275, 100, 50)
    moved = drag_to(comp, 10, 20, 110, 70)["layers"][0]
    assert (moved["x"], moved["y"], moved["w"], moved["h"]) == (10, 20, 100, 50)
    # Bottom-right handle dragged out to 300 wide: height follows, top-left stays.
    grown = drag_to(comp, 450, 275, 750, 300)["layers"][0]
    assert (grown["x"], grown["y"], grown["w"], grown["h"]) == (450, 275, 300, 150)
    # Top-left handle: the bottom-right corner stays put.
    shrunk = drag_to(comp, 500, 280, 550, 325)["layers"][0]
    assert shrunk["x"] + shrunk["w"] == pytest.approx(550)
    assert shrunk["y"] + shrunk["h"] == pytest.approx(325)
    assert shrunk["w"] / shrunk["h"] == pytest.approx(2)
    free = drag_to(comp, 450, 275, 750, 300, keep_aspect=False)["layers"][0]
    assert (free["w"], free["h"]) == (300, 25)


def test_co003_snap_to_edges_and_centre(tmp_path) -> None:
    comp, _ = setup(make_store(tmp_path))  # 1000x600 background: snap within 10 px
    near_left = drag_to(comp, 7, 300, 107, 350, snap=True)["layers"][0]
    assert near_left["x"] == 0
    near_centre = drag_to(comp, 444, 271, 544, 321, snap=True)["layers"][0]
    assert (near_centre["x"], near_centre["y"]) == (450, 275)
    near_right = drag_to(comp, 893, 100, 993, 150, snap=True)["layers"][0]
    assert near_right["x"] + near_right["w"] == 1000
    far = drag_to(comp, 30, 300, 130, 350, snap=True)["layers"][0]
    assert far["x"] == 30
    off = drag_to(comp, 7, 300, 107, 350, snap=False)["layers"][0]
    assert off["x"] == 7


def test_co004_opacity_flip_rotate_in_the_render(tmp_path) -> None:
    store = make_store(tmp_path)
    comp, _ = setup(store, layer=quadrants((100, 50)))
    comp = drag_to(comp, 0, 0, 100, 50)
    comp = composition.edit(comp, "opacity", 50)
    half = rendered(store, comp).getpixel((10, 10))
    assert half[0] in (127, 128)
    assert half[2] in (127, 128)
    comp = composition.edit(comp, "opacity", 100)
    comp = composition.edit(comp, "flip_h")
    assert rendered(store, comp).getpixel((10, 10))[:3] == (0, 255, 0)
    comp = drag_to(composition.edit(comp, "flip_h"), 200, 200, 300, 250)
    turned = composition.edit(comp, "rotate")
    lay = turned["layers"][0]
    assert (lay["w"], lay["h"], lay["rot"]) == (50, 100, 90)
    assert (lay["x"] + 25, lay["y"] + 50) == (250, 225)  # rotated about its centre
    out = rendered(store, turned)
    _x0, y0, x1, _y1 = composition.box(lay)
    assert out.getpixel((x1 - 5, y0 + 5))[:3] == (255, 0, 0)  # red corner now top-right


def test_co005_z_order_duplicate_delete(tmp_path) -> None:
    store = make_store(tmp_path)
    comp, sid = setup(store)
    green = store.add(sid, encode(solid((100, 50), (0, 255, 0)), "PNG"), "green.png")
    comp = composition.add_layer(comp, green)  # on top, same place
    assert rendered(store, comp).getpixel((500, 300))[:3] == (0, 255, 0)
    comp = composition.edit(comp, "backward")
    assert rendered(store, comp).getpixel((500, 300))[:3] == (255, 0, 0)
    comp = composition.edit(comp, "forward")
    assert [lay["name"] for lay in comp["layers"]] == ["fg.png", "green.png"]
    dup = composition.edit(comp, "duplicate")
    assert len(dup["layers"]) == 3
    assert dup["layers"][2]["name"] == "green.png copy"
    gone = composition.edit(dup, "delete")
    assert [lay["name"] for lay in gone["layers"]] == ["fg.png", "green.png"]
    with pytest.raises(CompositionError, match="Select a layer"):
        composition.edit({**comp, "sel": None}, "delete")


def test_co006_exact_fields_validate(tmp_path) -> None:
    comp, _ = setup(make_store(tmp_path))
    comp = composition.edit(comp, "w", 300, keep_aspect=True)
    assert (comp["layers"][0]["w"], comp["layers"][0]["h"]) == (300, 150)
    comp = composition.edit(comp, "h", 10, keep_aspect=False)
    assert (comp["layers"][0]["w"], comp["layers"][0]["h"]) == (300, 10)
    for field, bad in [("x", "abc"), ("w", 0), ("w", float("nan")), ("y", 1e12), ("opacity", 101)]:
        with pytest.raises(CompositionError):
            composition.edit(comp, field, bad)
    with pytest.raises(CompositionError, match="name"):
        composition.edit(comp, "rename", "   ")


def test_co007_layer_partly_off_canvas_and_huge(tmp_path) -> None:
    store = make_store(tmp_path)
    comp, _ = setup(store)
    comp = drag_to(comp, -50, -20, 50, 30)
    out = rendered(store, comp)
    assert out.getpixel((0, 0)) == RED
    assert out.getpixel((49, 29)) == RED
    assert out.getpixel((50, 5)) == BLUE
    # Scaled 100x past the canvas: only the visible part is resampled.
    comp = drag_to(comp, -5000, -2500, 5000, 2500)
    assert rendered(store, comp).getpixel((999, 599)) == RED


def test_co008_browser_state_is_rebuilt_from_what_the_server_knows(tmp_path) -> None:
    store = make_store(tmp_path)
    comp, _sid = setup(store)
    hostile = json.loads(json.dumps(comp))
    hostile["bg"]["w"] = 10**9  # the size comes from the stored image, not the browser
    hostile["layers"][0]["x"] = "1; DROP TABLE"
    hostile["layers"].append({**comp["layers"][0], "id": "ffffffff", "image": "../../etc"})
    clean, notes = composition.sanitize(hostile, store)
    assert clean["bg"]["w"] == 1000
    assert clean["layers"] == []
    assert len(notes) == 1
    other = store.new_session()
    stolen, _ = composition.sanitize({**comp, "session": other}, store)
    assert stolen["bg"] is None
    assert stolen["layers"] == []
    fresh, _ = composition.sanitize({"session": "../../x"}, store)
    assert store.valid_session(fresh["session"])
    assert fresh["session"] != "../../x"
    for junk in (None, [], "x", {"session": 5}):
        assert composition.sanitize(junk, store)[0]["layers"] == []


def test_co009_recipe_round_trip_and_other_background(tmp_path) -> None:
    store = make_store(tmp_path)
    comp, sid = setup(store)
    comp = drag_to(comp, 100, 100, 300, 200)  # 200x100 at (100, 100) on 1000x600
    recipe = json.loads(json.dumps(recipes.to_recipe(comp)))
    assert len(json.dumps(recipe)) < 1000
    again, notes = recipes.apply_recipe(composition.empty(sid), recipe, store)
    assert notes == []
    assert again["bg"] == comp["bg"]
    assert composition.box(again["layers"][0]) == (100, 100, 300, 200)
    big = store.add(sid, encode(solid((2000, 1500), (0, 0, 255)), "PNG"), "big.png")
    other = composition.set_background(composition.empty(sid), big)
    placed, _ = recipes.apply_recipe(other, recipe, store)
    lay = placed["layers"][0]
    # Centre (200, 150) of 1000x600 -> (400, 375) of 2000x1500; size x min(2, 2.5) = 2.
    assert (lay["x"] + lay["w"] / 2, lay["y"] + lay["h"] / 2) == pytest.approx((400, 375))
    assert (lay["w"], lay["h"]) == pytest.approx((400, 200))
    with pytest.raises(CompositionError, match="not a dashapp"):
        recipes.apply_recipe(other, {"layers": []}, store)
    elsewhere = composition.empty(store.new_session())
    with pytest.raises(CompositionError, match="Upload a background first"):
        recipes.apply_recipe(elsewhere, recipe, store)


def test_co010_undo_and_redo(tmp_path) -> None:
    comp, _ = setup(make_store(tmp_path))
    hist: dict = {}
    steps = [comp]
    for x in (10, 20, 30):
        new = drag_to(steps[-1], x, 0, x + 100, 50)
        hist = history.push(hist, steps[-1])
        steps.append(new)
    state, hist = history.undo(hist, steps[-1])
    assert state["layers"][0]["x"] == 20
    state, hist = history.undo(hist, state)
    assert state["layers"][0]["x"] == 10
    state, hist = history.undo(hist, state, redo=True)
    assert state["layers"][0]["x"] == 20
    state, hist = history.undo(hist, state, redo=True)
    assert state["layers"][0]["x"] == 30
    with pytest.raises(CompositionError, match="redo"):
        history.undo(hist, state, redo=True)


def test_co011_figure_is_small_and_uses_preview_urls(tmp_path) -> None:
    comp, _ = setup(make_store(tmp_path), bg_size=(6000, 4000))
    fig = figure.figure(comp, lambda image, lay: f"/compositor/files/s/{image}/preview")
    text = json.dumps(fig)
    assert "base64" not in text
    assert len(text) < 5000
    y = fig["layout"]["yaxis"]
    assert y["range"] == [4000, 0]
    assert y["scaleanchor"] == "x"
