"""The Compositor in headless Chromium: upload, drag with the mouse, render, download, check."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from components.ids import Compositor as C
from components.ids import Shell
from dashapp.compositor import composition
from tests.conftest import LiveServer
from tests.image_fixtures import encode, solid

SHOTS = os.environ.get("DASHAPP_SCREENSHOTS")  # a folder: save screenshots for the README
BG = (20, 60, 200)
LAYER = (250, 40, 40, 255)


def upload(page, zone: str, path: Path) -> None:
    """Drop a file on an upload zone (through its file input, as a click would)."""
    page.set_input_files(f"#{zone} input[type=file]", str(path))


def fields(page) -> tuple[int, int, int, int]:
    """The exact position and size fields of the selected layer."""
    return tuple(int(page.input_value(f"#{cid}")) for cid in (C.X, C.Y, C.W, C.H))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "bg": tmp_path / "background.png",
        "layer": tmp_path / "red.png",
        "text": tmp_path / "notes.png",
    }
    paths["bg"].write_bytes(encode(solid((1200, 800), BG), "PNG"))
    paths["layer"].write_bytes(encode(solid((300, 200), LAYER, "RGBA"), "PNG"))
    paths["text"].write_bytes(b"this is not an image")
    return paths


def open_with_layer(page, server: LiveServer, files: dict[str, Path]) -> None:
    """Open the Compositor, drop the background, then the red layer, as a person would."""
    page.goto(server.url("/compositor"))
    page.wait_for_selector(f"#{C.ROOT}")
    upload(page, C.BG_UPLOAD, files["bg"])
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('1200×800')")
    upload(page, C.LAYER_UPLOAD, files["layer"])
    page.wait_for_selector(".layer-list .list-group-item.active:has-text('red.png')")


def test_bc001_drag_a_layer_render_and_download(page, live_server: LiveServer, files, tmp_path):
    open_with_layer(page, live_server, files)
    assert fields(page) == (450, 300, 300, 200)  # centred on the background
    # The background fills the canvas from the first frame the layer shows in: Plotly used
    # to draw at its default 700×450 and resize later, or settle with bands either side.
    canvas = page.locator(f"#{C.CANVAS}").bounding_box()
    background = page.locator(f"#{C.CANVAS} .imagelayer image").first.bounding_box()
    assert background["width"] == pytest.approx(canvas["width"], abs=1)
    assert background["height"] == pytest.approx(canvas["height"], abs=1)
    page.wait_for_load_state("networkidle")

    shape = page.locator(".shapelayer path").first

    box = shape.bounding_box()
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.mouse.move(*start)
    page.mouse.down()
    for step in range(1, 21):  # like a hand: many small moves
        page.mouse.move(start[0] - 8 * step, start[1] - 4 * step)
    page.mouse.up()
    page.wait_for_timeout(800)
    assert requests == [], "a drag must not talk to the server"
    x, y, w, h = fields(page)
    assert (w, h) == (300, 200)
    assert x < 400
    assert y < 280
    image = page.evaluate(
        "() => document.querySelector('#compositor-canvas .js-plotly-plot').layout.images[1]"
    )
    assert (round(image["x"]), round(image["y"])) == (x, y)  # the image followed its shape

    page.click(f"#{C.UNDO}")  # the drag is one step of history
    expect(page.locator(f"#{C.X}")).to_have_value("450")
    page.click(f"#{C.REDO}")
    expect(page.locator(f"#{C.X}")).to_have_value(str(x))
    assert fields(page) == (x, y, w, h)

    page.reload()
    page.wait_for_selector(".layer-list .list-group-item.active")
    expect(page.locator(f"#{C.X}")).to_have_value(str(x))
    assert fields(page) == (x, y, w, h)  # the composition survived the reload

    page.click(f"#{C.RENDER}")
    link = page.wait_for_selector(f"#{C.RESULT} a.btn:has-text('Download')", timeout=30_000)
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "out.png"
    download.value.save_as(saved)
    with Image.open(saved) as out:
        assert out.size == (1200, 800)
        assert out.mode == "RGBA"
        for px, py in ((x, y), (x + w - 1, y), (x, y + h - 1), (x + w - 1, y + h - 1)):
            assert out.getpixel((px, py)) == LAYER, (px, py)
        for px, py in ((x - 1, y + 5), (x + w, y + 5), (x + 5, y - 1), (x + 5, y + h)):
            assert out.getpixel((px, py)) == (*BG, 255), (px, py)
    assert page.watch.problems() == []
    if SHOTS:
        screenshots(page, tmp_path, Path(SHOTS))


def screenshots(page, tmp_path: Path, folder: Path) -> None:
    """The Compositor at work with a few layers, light and dark, for the README."""
    sun = Image.new("RGBA", (240, 240), (0, 0, 0, 0))
    ImageDraw.Draw(sun).ellipse((10, 10, 230, 230), fill=(255, 200, 40, 255))
    band = solid((500, 120), (40, 200, 120, 200), "RGBA")
    paths = [tmp_path / "sun.png", tmp_path / "band.png"]
    for path, img in zip(paths, (sun, band), strict=True):
        path.write_bytes(encode(img, "PNG"))
    page.set_input_files(f"#{C.LAYER_UPLOAD} input[type=file]", [str(p) for p in paths])
    page.wait_for_selector(".layer-row:has-text('band.png')")
    page.fill(f"#{C.X}", "640")
    page.press(f"#{C.X}", "Enter")
    page.click(".layer-row:has-text('red.png') [data-layer-cmd=locked]")
    page.wait_for_selector(".layer-row.layer-locked")
    page.wait_for_selector(f"#{C.RESULT} img")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_load_state("networkidle")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "compositor-work-light.png"))
    page.click(f"#{Shell.THEME_SWITCH}")
    page.wait_for_function("() => document.documentElement.dataset.bsTheme === 'dark'")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(500)
    page.screenshot(path=str(folder / "compositor-work-dark.png"))


def test_bc002_a_bad_file_gets_a_message_next_to_its_zone(page, live_server, files) -> None:
    page.goto(live_server.url("/compositor"))
    page.wait_for_selector(f"#{C.ROOT}")
    upload(page, C.BG_UPLOAD, files["text"])
    message = page.wait_for_selector(f"#{C.BG_MESSAGE} .text-danger")
    assert "not an image we can read" in message.inner_text()
    assert page.is_visible(f"#{C.CANVAS_EMPTY}")
    assert page.watch.problems() == []


def test_bc003_the_browser_drag_rules_match_the_server_copy(page, live_server) -> None:
    page.goto(live_server.url("/compositor"))
    page.wait_for_selector(f"#{C.ROOT}")
    bg = {"w": 1000, "h": 600}
    lay = {"x": 450, "y": 275, "w": 100, "h": 50, "iw": 100, "ih": 50, "rot": 0}
    cases = [
        ((10, 20, 110, 70), True, True),
        ((7, 300, 107, 350), True, True),
        ((444, 271, 544, 321), False, True),
        ((450, 275, 750, 300), True, False),
        ((500, 280, 550, 325), True, False),
        ((450, 275, 750, 300), False, False),
        ((0, 0, 20, 400), True, False),
    ]
    for shape, keep, snap in cases:
        for rot in (0, 90):
            layer = {**lay, "rot": rot}
            expected = composition.drag_geometry(layer, bg, shape, keep, snap)
            got = page.evaluate(
                "([l, b, s, k, n]) => window.dash_clientside.dashappCompositor"
                ".dragGeometry(l, b, s, k, n)",
                [layer, bg, list(shape), keep, snap],
            )
            assert got == pytest.approx(expected), json.dumps([shape, keep, snap, rot])


def test_bc004_works_under_a_url_prefix(page, prefixed_server, files) -> None:
    open_with_layer(page, prefixed_server, files)
    thumb = page.locator(".layer-thumb").first
    assert thumb.get_attribute("src").startswith("/tools/dashapp/compositor/files/")
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") == 300
    page.click(f"#{C.RENDER}")
    link = page.wait_for_selector(f"#{C.RESULT} a.btn:has-text('Download')", timeout=30_000)
    assert link.get_attribute("href").startswith("/tools/dashapp/compositor/files/")
    page.wait_for_load_state("networkidle")
    assert page.watch.problems() == []


def test_bc005_recipe_saved_then_applied_to_a_larger_background(
    page, live_server, files, tmp_path
) -> None:
    open_with_layer(page, live_server, files)
    page.fill(f"#{C.X}", "100")
    page.press(f"#{C.X}", "Enter")
    page.fill(f"#{C.Y}", "80")  # typed at once, while the first edit is on its way
    page.press(f"#{C.Y}", "Enter")
    page.wait_for_function(
        "() => { const i = document.querySelector('#compositor-canvas .js-plotly-plot')"
        ".layout.images[1]; return i.x === 100 && i.y === 80; }"
    )
    expect(page.locator(f"#{C.Y}")).to_have_value("80")
    expect(page.locator(f"#{C.X}")).to_have_value("100")
    with page.expect_download() as download:
        page.click(f"#{C.RECIPE_SAVE}")
    recipe_path = tmp_path / "recipe.json"
    download.value.save_as(recipe_path)
    recipe = json.loads(recipe_path.read_text())
    assert recipe["layers"][0]["x"] == 100
    assert recipe["layers"][0]["y"] == 80
    assert len(recipe_path.read_bytes()) < 2000  # small: it refers to the uploads

    big = tmp_path / "big.png"
    big.write_bytes(encode(solid((2400, 1600), BG), "PNG"))
    upload(page, C.BG_UPLOAD, big)
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('2400×1600')")
    page.click(f"#{C.DELETE}")
    page.wait_for_selector(f"#{C.LAYERS} p:has-text('No layers yet')")
    page.set_input_files(f"#{C.RECIPE_UPLOAD} input[type=file]", str(recipe_path))
    page.wait_for_selector(f"#{C.MESSAGE}:has-text('Recipe loaded: 1 layer')")
    # Twice the background: twice the place and the size.
    expect(page.locator(f"#{C.X}")).to_have_value("200")
    assert fields(page) == (200, 160, 600, 400)
    assert page.watch.problems() == []


def test_bc006_a_job_image_goes_from_its_gallery_to_the_compositor(page, live_server) -> None:
    from dashapp.db import make_engine
    from jobs.reporter import Reporter
    from jobs.store import SUCCEEDED, JobStore

    # A finished job with one image, written the way a trainer writes it.
    data_dir = live_server.log.parent
    store = JobStore(make_engine(f"sqlite:///{data_dir / 'state.sqlite'}"))
    job_id = store.create("shapes-cnn", {}, "anonymous")
    Reporter(store, job_id, data_dir / "artifacts" / job_id).image(
        "predictions", solid((320, 200), (10, 200, 10))
    )
    store.finish(job_id, SUCCEEDED)
    store.engine.dispose()

    page.goto(live_server.url(f"/training/{job_id}"))
    page.click("a.to-compositor")
    page.wait_for_url("**/compositor?artifact=*")
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('320×200')")  # no background yet: it is one
    assert "predictions" in page.inner_text(f"#{C.BG_INFO}")
    page.click(f"#{C.ARTIFACT}")
    page.get_by_role("option", name=re.compile(r"^predictions")).first.click()
    page.click(f"#{C.ARTIFACT_ADD}")
    page.wait_for_selector(".layer-list .list-group-item.active:has-text('predictions')")
    assert page.watch.problems() == []


def test_bc007_a_flip_click_costs_one_request(page, live_server, files) -> None:
    open_with_layer(page, live_server, files)
    page.wait_for_load_state("networkidle")
    posts: list[dict] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.post_data_json)
            if r.method == "POST" and "_dash-update-component" in r.url
            else None
        ),
    )
    page.click(f"#{C.FLIP_H}")
    # The flip shows in the layer list and on the canvas (their previews carry t=100)...
    page.wait_for_selector(".layer-thumb[src*='t=100']")
    page.wait_for_function(
        "() => document.querySelector('#compositor-canvas .js-plotly-plot')"
        ".layout.images[1].source.includes('t=100')"
    )
    # ...and a second request, had the view been asked for apart, would follow by now.
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)
    assert len(posts) == 1, [p["output"] for p in posts]
    assert f"{C.CANVAS}.figure" in posts[0]["output"]  # the action's answer draws the page
    assert page.watch.problems() == []


def test_bc008_two_nodes_with_one_state_database_share_the_images(
    page, start_server, pg_url, files, tmp_path
) -> None:
    """Uploaded through node A; node B (its own data folder) shows, renders and serves it."""
    node_a, node_b = (start_server(DASHAPP_STATE_URL=pg_url) for _ in range(2))
    open_with_layer(page, node_a, files)
    x, y, w, h = fields(page)
    kept = page.evaluate("() => Object.fromEntries(Object.entries(localStorage))")
    page.goto(node_b.url("/compositor"))  # another origin: hand it the work, as a balancer would
    page.evaluate("(s) => Object.entries(s).forEach(([k, v]) => localStorage.setItem(k, v))", kept)
    page.reload()
    page.wait_for_selector(".layer-list .list-group-item.active:has-text('red.png')")
    thumb = page.locator(".layer-thumb").first
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") == 300  # B's preview of A's upload
    page.click(f"#{C.RENDER}")
    link = page.wait_for_selector(f"#{C.RESULT} a.btn:has-text('Download')", timeout=30_000)
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "from-b.png"
    download.value.save_as(saved)
    with Image.open(saved) as out:
        assert out.size == (1200, 800)
        assert out.getpixel((x + w // 2, y + h // 2)) == LAYER
        assert out.getpixel((5, 5)) == (*BG, 255)
    assert not list((node_b.log.parent / "uploads").glob("*/*.png"))  # nothing on B's disk
    assert page.watch.problems() == []


def test_bc009_a_batch_on_shared_storage_is_served_by_any_node(
    page, start_server, pg_url, files, tmp_path
) -> None:
    """With the images in PostgreSQL, the batch's forked process stores the zip there."""
    node_a, node_b = (start_server(DASHAPP_STATE_URL=pg_url) for _ in range(2))
    open_with_layer(page, node_a, files)
    page.click(f"#{C.BATCH_SOURCES}")  # batch render (more in test_compositor_editor.py)
    page.get_by_role("option", name="Upload: background.png · 1200×800").click()
    page.keyboard.press("Escape")
    page.click(f"#{C.BATCH_RUN}")
    link = page.wait_for_selector(
        f"#{C.BATCH_RESULT} a:has-text('Download 1 render (zip)')", timeout=60_000
    )
    href = link.get_attribute("href")
    data = page.request.get(node_b.url(href)).body()  # the other node, its own empty folder
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        image = Image.open(io.BytesIO(zipped.read("01-background.png")))
        assert image.getpixel((600, 400)) == LAYER
        assert image.getpixel((5, 5)) == (*BG, 255)
    assert not list((node_a.log.parent / "uploads").glob("*/batches/*"))
    # The web worker that forked the batch still answers (its pooled connections intact).
    page.click(f"#{C.FLIP_H}")
    page.wait_for_selector(".layer-thumb[src*='t=100']")
    assert page.watch.problems() == []
