"""The Compositor as an editor, in headless Chromium: keys, paste, drop on the canvas, the
layers list (show/hide, lock, rename, reorder), the view buttons and the batch render."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect

from components.ids import Compositor as C
from tests.browser.test_compositor import BG, LAYER, fields, files, open_with_layer, upload
from tests.image_fixtures import encode, solid

__all__ = ["files"]  # the fixture, shared with test_compositor
GREEN = (30, 200, 60, 255)
ACTIVE = ".layer-list .list-group-item.active"


def dash_posts(page) -> list[str]:
    """Record the page's callback requests (and uploads) from now on."""
    posts: list[str] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.url)
            if r.method == "POST" and ("_dash-update-component" in r.url or "/upload/" in r.url)
            else None
        ),
    )
    return posts


def stored_comp(page) -> dict:
    """The composition the browser keeps (what the next action sends the server)."""
    return json.loads(page.evaluate("() => localStorage.getItem('compositor-comp')"))


def canvas_images(page) -> list[dict]:
    """The layer images the canvas draws (not the background)."""
    return page.evaluate(
        "() => document.querySelector('#compositor-canvas .js-plotly-plot').layout.images"
        ".filter(i => i.name !== 'background')"
    )


def transfer(page, data: bytes, name: str, mime: str = "image/png"):
    """A DataTransfer holding one file, made in the page (as a drop or a paste carries it)."""
    return page.evaluate_handle(
        """([b64, name, mime]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: mime}));
            return dt;
        }""",
        [base64.b64encode(data).decode(), name, mime],
    )


def watch_progress(page, box: str) -> None:
    """Note in the page whether the upload progress box was ever shown (and its words)."""
    page.evaluate(
        """(box) => {
            window.__progress = [];
            const el = document.getElementById(box);
            new MutationObserver(() => { if (!el.hidden) window.__progress.push(el.innerText); })
                .observe(el, {attributes: true, childList: true, subtree: true});
        }""",
        box,
    )


def test_be001_keys_undo_redo_nudge_duplicate_tab_escape_delete(page, live_server, files):
    open_with_layer(page, live_server, files)
    page.wait_for_load_state("networkidle")
    posts = dash_posts(page)
    page.focus(f"#{C.CANVAS_WRAP}")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("ArrowUp")
    assert fields(page) == (453, 309, 300, 200)  # moved at once, in the browser
    image = canvas_images(page)[0]
    assert (image["x"], image["y"]) == (453, 309)
    assert posts == []  # the burst made no request...
    page.wait_for_function("() => JSON.parse(localStorage['compositor-comp']).layers[0].x === 453")
    page.wait_for_load_state("networkidle")
    assert len(posts) == 1  # ...and one after it settled
    assert stored_comp(page)["layers"][0]["y"] == 309

    page.keyboard.press("Control+z")  # the burst is one step
    expect(page.locator(f"#{C.X}")).to_have_value("450")
    expect(page.locator(f"#{C.Y}")).to_have_value("300")
    page.keyboard.press("Control+Shift+z")
    expect(page.locator(f"#{C.X}")).to_have_value("453")
    page.keyboard.press("Control+z")
    expect(page.locator(f"#{C.X}")).to_have_value("450")
    page.keyboard.press("Control+y")
    expect(page.locator(f"#{C.X}")).to_have_value("453")

    page.keyboard.press("Control+d")
    page.wait_for_selector(f"{ACTIVE}:has-text('red.png copy')")
    assert page.locator(".layer-row").count() == 2
    page.focus(f"#{C.CANVAS_WRAP}")
    page.keyboard.press("Tab")  # from the copy (top of the list) to the next one down
    page.wait_for_selector(f"{ACTIVE} .layer-name:text-is('red.png')")
    page.keyboard.press("Shift+Tab")
    page.wait_for_selector(f"{ACTIVE}:has-text('red.png copy')")
    assert page.evaluate("() => document.activeElement.id") == C.CANVAS_WRAP

    page.keyboard.press("Escape")
    expect(page.locator(ACTIVE)).to_have_count(0)
    expect(page.locator(f"#{C.X}")).to_be_disabled()
    page.keyboard.press("Delete")  # nothing selected: nothing deleted
    page.click(".layer-row:has-text('red.png copy') .layer-select")
    page.wait_for_selector(f"{ACTIVE}:has-text('red.png copy')")
    page.keyboard.press("Delete")
    expect(page.locator(".layer-row")).to_have_count(1)
    page.wait_for_selector(f"{ACTIVE} .layer-name:text-is('red.png')")
    assert page.watch.problems() == []


def test_be002_keys_do_nothing_while_typing_in_a_field(page, live_server, files) -> None:
    open_with_layer(page, live_server, files)
    page.wait_for_load_state("networkidle")
    page.click(f"#{C.NAME}")
    posts = dash_posts(page)
    page.keyboard.press("End")
    for key in ("ArrowLeft", "ArrowRight", "Delete", "Control+d", "Escape", "Backspace", "?"):
        page.keyboard.press(key)
    page.wait_for_timeout(800)
    assert posts == []
    assert page.locator(".layer-row").count() == 1
    assert fields(page) == (450, 300, 300, 200)
    expect(page.locator(".modal.show")).to_have_count(0)
    assert page.input_value(f"#{C.NAME}") == "red.pn?"  # the keys edited the text instead
    page.locator(f"#{C.CANVAS_WRAP}").focus()
    page.keyboard.press("?")  # outside the field: the shortcuts
    page.wait_for_selector(f"#{C.HELP_MODAL} :text('Duplicate the selected layer')")
    assert page.watch.problems() == []


def test_be003_paste_and_drop_on_the_canvas_with_progress(page, live_server, files) -> None:
    page.goto(live_server.url("/compositor"))
    page.wait_for_selector(f"#{C.ROOT}")
    page.wait_for_load_state("networkidle")
    # Dropped on the empty canvas, the first image is the background.
    watch_progress(page, C.CANVAS_PROGRESS)
    page.dispatch_event(
        f"#{C.CANVAS_WRAP}",
        "drop",
        {"dataTransfer": transfer(page, files["bg"].read_bytes(), "bg.png")},
    )
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('1200×800')")
    shown = page.evaluate("window.__progress")
    assert any("bg.png" in text for text in shown), shown
    expect(page.locator(f"#{C.CANVAS_PROGRESS}")).to_be_hidden()  # gone when done
    # Pasted (Ctrl+V): a layer.
    green = encode(solid((200, 100), GREEN, "RGBA"), "PNG")
    page.locator(f"#{C.CANVAS_WRAP}").focus()
    page.evaluate(
        "dt => document.activeElement.dispatchEvent("
        "new ClipboardEvent('paste', {clipboardData: dt, bubbles: true}))",
        transfer(page, green, "image.png"),
    )
    page.wait_for_selector(f"{ACTIVE}:has-text('image.png')")
    assert fields(page) == (500, 350, 200, 100)
    # Dropped on the canvas again: another layer; a file that is no image gets the message.
    page.dispatch_event(
        f"#{C.CANVAS_WRAP}",
        "drop",
        {"dataTransfer": transfer(page, files["layer"].read_bytes(), "red.png")},
    )
    page.wait_for_selector(f"{ACTIVE}:has-text('red.png')")
    assert page.locator(".layer-row").count() == 2
    page.dispatch_event(
        f"#{C.CANVAS_WRAP}", "drop", {"dataTransfer": transfer(page, b"not an image", "notes.png")}
    )
    message = page.wait_for_selector(f"#{C.LAYER_MESSAGE} .text-danger")
    assert "notes.png: This is not an image we can read" in message.inner_text()
    assert page.locator(".layer-row").count() == 2
    assert page.watch.problems() == []


def test_be004_hide_lock_rename_and_reorder_in_the_list(page, live_server, files, tmp_path):
    open_with_layer(page, live_server, files)
    green = tmp_path / "green.png"
    green.write_bytes(encode(solid((300, 200), GREEN, "RGBA"), "PNG"))
    upload(page, C.LAYER_UPLOAD, green)  # centred too: over the red one
    page.wait_for_selector(f"{ACTIVE}:has-text('green.png')")
    row = ".layer-row:has-text('{}')"

    page.click(f"{row.format('green.png')} [data-layer-cmd=visible]")  # hide the top one
    page.wait_for_selector(f"{row.format('green.png')}.layer-hidden")
    assert [i["name"] for i in canvas_images(page)] == [stored_comp(page)["layers"][0]["id"]]
    out = render(page, tmp_path)
    assert out.getpixel((600, 400)) == LAYER  # the hidden one is not rendered either

    page.click(f"{row.format('red.png')} [data-layer-cmd=locked]")  # lock the visible one
    page.wait_for_selector(f"{row.format('red.png')}.layer-locked")
    expect(page.locator(ACTIVE)).to_contain_text("green.png")  # the buttons do not select
    page.click(f"{row.format('red.png')} .layer-select")
    page.wait_for_selector(f"{ACTIVE}:has-text('red.png')")
    expect(page.locator(ACTIVE)).to_contain_text("locked")
    page.wait_for_load_state("networkidle")
    posts = dash_posts(page)
    page.focus(f"#{C.CANVAS_WRAP}")
    page.keyboard.press("ArrowLeft")  # locked: the keys do not move it
    box = page.locator(f"#{C.CANVAS}").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(centre[0] - 10 * step, centre[1])
    page.mouse.up()
    page.wait_for_timeout(900)
    assert posts == []
    assert fields(page)[:2] == (450, 300)
    assert stored_comp(page)["layers"][0]["x"] == 450
    assert (
        page.evaluate(
            "() => document.querySelector('#compositor-canvas .js-plotly-plot').layout.shapes.length"
        )
        == 0
    )  # a hidden layer and a locked one: nothing to drag

    # Rename inline: Escape cancels, Enter saves.
    page.dblclick(f"{row.format('red.png')} .layer-select")
    field = page.locator(f"{row.format('red.png')} .layer-name-input input")
    expect(field).to_be_focused()
    field.fill("nope")
    field.press("Escape")
    expect(page.locator(".layer-row.editing")).to_have_count(0)
    page.click(f"{row.format('red.png')} [data-layer-cmd=rename]")
    field.fill("Logo")
    field.press("Enter")
    page.wait_for_selector(".layer-name:text-is('Logo')")
    assert [lay["name"] for lay in stored_comp(page)["layers"]] == ["Logo", "green.png"]

    # Drag green (top) below Logo: the z-order follows, and so does the render.
    page.click(f"{row.format('green.png')} [data-layer-cmd=visible]")  # show it again
    page.wait_for_selector(f"{row.format('green.png')}:not(.layer-hidden)")
    assert render(page, tmp_path).getpixel((600, 400)) == GREEN
    target = page.locator(row.format("Logo")).bounding_box()
    page.drag_and_drop(
        row.format("green.png"),
        row.format("Logo"),
        target_position={"x": 20, "y": target["height"] - 3},
    )
    page.wait_for_function(
        "() => JSON.parse(localStorage['compositor-comp']).layers[0].name === 'green.png'"
    )
    assert [r.inner_text() for r in page.locator(".layer-name").all()] == ["Logo", "green.png"]
    assert render(page, tmp_path).getpixel((600, 400)) == LAYER
    page.keyboard.press("Control+z")  # each of these is a step of history
    page.wait_for_function(
        "() => JSON.parse(localStorage['compositor-comp']).layers[0].name === 'Logo'"
    )
    assert page.watch.problems() == []


def render(page, tmp_path: Path) -> Image.Image:
    """Click Render (disabled until it is done) and fetch the file it made."""
    old = (
        page.locator(f"#{C.RESULT} a.btn").get_attribute("href")
        if page.locator(f"#{C.RESULT} a.btn").count()
        else None
    )
    page.click(f"#{C.RENDER}")
    link = page.locator(f"#{C.RESULT} a.btn:has-text('Download')")
    page.wait_for_function(
        "old => { const a = document.querySelector('#compositor-result a.btn');"
        " return a && a.getAttribute('href') !== old; }",
        arg=old,
        timeout=30_000,
    )
    expect(page.locator(f"#{C.RENDER}")).to_be_enabled()
    data = page.request.get(page.url.split("/compositor")[0] + link.get_attribute("href")).body()
    return Image.open(io.BytesIO(data)).convert("RGBA")


def test_be005_render_is_disabled_while_it_runs(page, live_server, tmp_path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(encode(solid((6000, 4000), (1, 2, 3)), "PNG"))  # 24 megapixels: a second
    page.goto(live_server.url("/compositor"))
    page.wait_for_selector(f"#{C.ROOT}")
    upload(page, C.BG_UPLOAD, big)
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('6000×4000')", timeout=30_000)
    page.wait_for_load_state("networkidle")
    posts = dash_posts(page)
    page.click(f"#{C.RENDER}")
    expect(page.locator(f"#{C.RENDER}")).to_be_disabled()
    page.evaluate("() => document.getElementById('compositor-render').click()")  # ignored
    page.wait_for_selector(f"#{C.RESULT} a.btn:has-text('Download')", timeout=60_000)
    expect(page.locator(f"#{C.RENDER}")).to_be_enabled()
    assert len(posts) == 1
    assert page.watch.problems() == []


def test_be006_view_buttons_every_control_named_distinct_icons(page, live_server, files):
    open_with_layer(page, live_server, files)
    page.click(f"#{C.ZOOM_100}")
    expect(page.locator(f"#{C.ZOOM}")).to_have_text("100 %")
    page.click(f"#{C.FIT}")
    expect(page.locator(f"#{C.ZOOM}")).not_to_have_text("100 %")
    fit = page.inner_text(f"#{C.ZOOM}")
    page.click(f"#{C.FLIP_H}")  # a redraw keeps the view the person chose
    page.wait_for_selector(".layer-thumb[src*='t=100']")
    page.click(f"#{C.ZOOM_100}")
    page.click(f"#{C.FLIP_H}")
    page.wait_for_selector(".layer-thumb[src*='t=000']")
    expect(page.locator(f"#{C.ZOOM}")).to_have_text("100 %")
    assert fit.endswith(" %")
    controls = page.evaluate(
        """() => [...document.querySelectorAll(
            '#compositor-root :is(button, input, [role=button], a[href])')]
            .filter(el => el.getAttribute('aria-hidden') !== 'true' && el.type !== 'hidden')
            .map(el => {
                const labels = el.labels ? [...el.labels].map(l => l.innerText).join(' ') : '';
                const ref = el.getAttribute('aria-labelledby');
                const by = ref ? document.getElementById(ref)?.innerText : '';
                const name = (el.getAttribute('aria-label') || labels || by || el.innerText ||
                              el.getAttribute('title') || el.getAttribute('placeholder') || '');
                const icon = el.querySelector('i.bi');
                return {id: el.id, tag: el.tagName, name: name.trim(),
                        title: el.getAttribute('title'), icon: icon && icon.className};
            })"""
    )
    assert [c for c in controls if not c["name"]] == []
    buttons = [c for c in controls if c["tag"] == "BUTTON" and c["id"]]
    assert [c["id"] for c in buttons if c["icon"] and not c["title"]] == []  # tooltips
    icons = [c["icon"] for c in buttons if c["icon"]]
    assert len(icons) == len(set(icons)), icons  # Redo and Rotate no longer share one
    assert page.watch.problems() == []


def test_be007_batch_render_onto_uploads_and_check_the_zip(page, live_server, files, tmp_path):
    open_with_layer(page, live_server, files)
    page.fill(f"#{C.X}", "100")
    page.press(f"#{C.X}", "Enter")
    expect(page.locator(f"#{C.X}")).to_have_value("100")
    page.locator(f"#{C.CANVAS_WRAP}").focus()
    page.wait_for_load_state("networkidle")
    wide = tmp_path / "wide.png"
    wide.write_bytes(encode(solid((2400, 1600), (200, 200, 0)), "PNG"))
    upload(page, C.BG_UPLOAD, wide)  # another background: the layer scales with it
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('2400×1600')")
    page.click(f"#{C.UNDO}")  # back to the first background
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('1200×800')")
    page.wait_for_load_state("networkidle")
    page.click(f"#{C.BATCH_SOURCES}")
    page.get_by_role("option", name="Upload: background.png · 1200×800").click()
    page.get_by_role("option", name="Upload: wide.png · 2400×1600").click()
    page.keyboard.press("Escape")
    page.click(f"#{C.BATCH_RUN}")
    link = page.wait_for_selector(
        f"#{C.BATCH_RESULT} a:has-text('Download 2 renders')", timeout=60_000
    )
    expect(page.locator(f"#{C.BATCH_STATUS}")).to_have_text("2 of 2 rendered")
    expect(page.locator(f"#{C.BATCH_RUN}")).to_be_enabled()
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "renders.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as zipped:
        names = zipped.namelist()
        assert names == ["01-background.png", "02-wide.png"]
        small = Image.open(io.BytesIO(zipped.read(names[0])))
        large = Image.open(io.BytesIO(zipped.read(names[1])))
    assert small.size == (1200, 800)
    assert small.getpixel((100, 300)) == LAYER
    assert small.getpixel((99, 300)) == (*BG, 255)
    assert small.getpixel((400, 300)) == (*BG, 255)
    assert large.size == (2400, 1600)  # twice the background: twice the place and size
    assert large.getpixel((200, 600)) == LAYER
    assert large.getpixel((799, 999)) == LAYER
    assert large.getpixel((199, 600)) == (200, 200, 0, 255)
    assert large.getpixel((800, 600)) == (200, 200, 0, 255)
    assert page.watch.problems() == []
