"""The Compositor editor's figures (issue 16), run by bench/compositor.py as figures 7-9.

7. 50 arrow-key presses on a layer in headless Chromium: requests during the burst
   (target 0) and after it (target 1), next to one click on Flip (the baseline: 1);
8. a batch render of 10 backgrounds of 3840x2160 with 5 layers: its time divided by ten
   single renders (render and save, as the Render button does) in the same run (target
   <= 1.3), and the peak memory of a process running the batch divided by one running a
   single render, each fresh (target <= 2);
9. a 20 MB JPEG dropped on the canvas: milliseconds until its progress is on screen
   (target <= 200), next to the time until the image is on the canvas (what the page
   showed first before: nothing until then).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image

from dashapp.compositor import actions, batch, composition
from dashapp.compositor.imaging import Limits
from dashapp.compositor.model import PageState, Rendered
from dashapp.compositor.upload_store import UploadStore

ROOT = Path(__file__).resolve().parent.parent
BACKGROUNDS = 10
SIZE = (3840, 2160)
PHOTO = (5000, 3500)  # noise at JPEG quality 97: about 20 MB


def figure_7(tmp: Path) -> None:
    """Requests for a burst of 50 arrow-key presses, and for one click on Flip."""
    from grid import start_server
    from playwright.sync_api import sync_playwright

    from components.ids import Compositor as C
    from tests.conftest import CHROMIUM_ARGS

    bg, fg = tmp / "bg7.png", tmp / "fg7.png"
    Image.new("RGB", SIZE, (20, 60, 200)).save(bg)
    Image.new("RGBA", (600, 400), (250, 40, 40, 255)).save(fg)
    proc, base = start_server("", 8796, workers=2, DASHAPP_DEMO_ROWS="5000")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(base + "/compositor")
            page.set_input_files(f"#{C.BG_UPLOAD} input[type=file]", str(bg))
            page.wait_for_selector(f"#{C.BG_INFO}:has-text('3840')")
            page.set_input_files(f"#{C.LAYER_UPLOAD} input[type=file]", str(fg))
            page.wait_for_selector(".layer-list .list-group-item.active")
            page.wait_for_load_state("networkidle")
            seen: list[str] = []
            page.on("request", lambda r: seen.append(r.url))
            page.focus(f"#{C.CANVAS_WRAP}")
            for _ in range(50):
                page.keyboard.press("ArrowRight")  # as fast as the browser takes them
            during = len(seen)
            moved = page.input_value(f"#{C.X}")
            page.wait_for_timeout(1500)  # the burst settles after 0.5 s
            page.wait_for_load_state("networkidle")
            after = len(seen) - during
            page.click(f"#{C.FLIP_H}")
            page.wait_for_selector(".layer-thumb[src*='t=100']")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1000)
            flip = len([u for u in seen[during + after :] if "_dash-update-component" in u])
            browser.close()
    finally:
        proc.terminate()
        proc.wait(60)
    print("7. requests for 50 arrow-key presses on a layer (headless Chromium)")
    print(f"   one click on Flip (baseline)              {flip:3d} callback requests")
    print(f"   during the burst of 50 presses            {during:3d} requests  (target 0)")
    print(
        f"   after it settled                          {after:3d} requests  (target 1;"
        f" the layer moved from x=1620 to x={moved})"
    )


LAYERS = [  # (width, height, opacity, placed at x, y, w, h as a share of the canvas)
    (1200, 800, 1.0, (0.05, 0.05, 0.30, 0.30)),
    (640, 640, 0.7, (0.40, 0.10, 0.20, 0.35)),
    (2000, 1000, 0.5, (0.20, 0.50, 0.60, 0.30)),
    (300, 300, 1.0, (0.80, 0.70, 0.15, 0.25)),
    (1600, 1200, 0.85, (0.55, 0.05, 0.40, 0.40)),
]


def build(root: Path) -> tuple[UploadStore, composition.Comp, list[str]]:
    """Ten 4K backgrounds and a composition of 5 RGBA layers on the first."""
    store = UploadStore(root, limits=Limits(), preview_px=1600, idle_s=3600)
    sid = store.new_session()
    infos = []
    for i in range(BACKGROUNDS):
        gradient = Image.linear_gradient("L").resize(SIZE)
        bg = Image.merge("RGB", (gradient, gradient.rotate(180), Image.new("L", SIZE, 20 * i)))
        infos.append(store.add_image(sid, bg, f"bg{i}.png"))
    comp = composition.set_background(composition.empty(sid), infos[0])
    for i, (w, h, opacity, (fx, fy, fw, fh)) in enumerate(LAYERS):
        img = Image.linear_gradient("L").resize((w, h))
        layer = Image.merge("RGBA", (img, img.rotate(90 * i), img, Image.new("L", (w, h), 255)))
        comp = composition.add_layer(comp, store.add_image(sid, layer, f"layer{i}"))
        x, y = fx * SIZE[0], fy * SIZE[1]
        comp["layers"][-1].update(x=x, y=y, w=fw * SIZE[0], h=fh * SIZE[1], opacity=opacity)
    return store, comp, [info.id for info in infos]


def singles(store: UploadStore, comp: composition.Comp, ids: list[str]) -> float:
    """Seconds for a single render (and save) of the composition on each background."""
    slots = threading.BoundedSemaphore(2)
    started = time.perf_counter()
    for image_id in ids:
        info = store.info(comp["session"], image_id)
        assert info is not None
        done = actions.render_file(
            store, PageState(composition.set_background(comp, info)), "png", 90, slots
        )
        assert isinstance(done, Rendered), done
    return time.perf_counter() - started


def batched(store: UploadStore, comp: composition.Comp, ids: list[str]) -> float:
    """Seconds for the batch of the composition onto every background."""
    started = time.perf_counter()
    result = batch.batch_render(
        store,
        PageState(comp),
        sources=[batch.source(batch.UPLOAD, i) for i in ids],
        recipe_file=None,
        use_recipe=False,
        fmt="png",
        quality=90,
        slots=threading.BoundedSemaphore(2),
        fetch=lambda _art: (b"", ""),
        progress=lambda *_: None,
    )
    assert isinstance(result, batch.Batch), result
    assert result.count == len(ids), result.problems
    return time.perf_counter() - started


MEMORY_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/bench")
from pathlib import Path
from dashapp.compositor.imaging import Limits, give_back_freed_images
from dashapp.compositor.upload_store import UploadStore
import compositor_editor as bench

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
give_back_freed_images()  # as the app's workers do
store = UploadStore(Path(sys.argv[2]), limits=Limits(), preview_px=1600, idle_s=3600)
comp, ids = json.loads(Path(sys.argv[3]).read_text())
idle = status("VmRSS:")
(bench.batched if sys.argv[4] == "batch" else bench.singles)(store, comp, ids[: int(sys.argv[5])])
print(json.dumps({"above": status("VmHWM:") - idle}))
"""


def peak(store: UploadStore, state: Path, mode: str, count: int) -> int:
    """Peak memory above idle of a fresh process running a batch or single renders."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            MEMORY_CHILD,
            str(ROOT),
            str(store.root),
            str(state),
            mode,
            str(count),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(json.loads(out.stdout)["above"])


def figure_8(tmp: Path) -> None:
    """A batch of ten 4K backgrounds against ten single renders: time and peak memory."""
    store, comp, ids = build(tmp / "f8")
    state = tmp / "f8.json"
    state.write_text(json.dumps([comp, ids]))
    batched(store, comp, ids[:1])  # warm: imports, first decodes
    alone = singles(store, comp, ids)
    together = batched(store, comp, ids)
    one, many = peak(store, state, "single", 1), peak(store, state, "batch", BACKGROUNDS)
    print(f"8. batch render of {BACKGROUNDS} backgrounds of {SIZE[0]}x{SIZE[1]} with 5 layers")
    print(f"   ten single renders, one after another (baseline) {alone:7.1f} s")
    print(
        f"   the batch (zip stored)                           {together:7.1f} s"
        f"  ratio {together / alone:.2f}  (target <= 1.3)"
    )
    print(f"   peak memory of a fresh process: one single render (baseline) {one / 2**20:5.0f} MB")
    print(
        f"   peak memory of a fresh process: the batch of {BACKGROUNDS}             "
        f"{many / 2**20:5.0f} MB  ratio {many / one:.2f}  (target <= 2)"
    )


def figure_9(tmp: Path) -> None:
    """A 20 MB JPEG dropped on the canvas: progress shown, against the image shown."""
    from grid import start_server
    from playwright.sync_api import sync_playwright

    from components.ids import Compositor as C
    from tests.conftest import CHROMIUM_ARGS

    photo = tmp / "photo.jpg"
    Image.effect_noise(PHOTO, 90).convert("RGB").save(photo, quality=97)
    size = photo.stat().st_size
    proc, base = start_server("", 8797, workers=2, DASHAPP_DEMO_ROWS="5000")
    timings: list[dict[str, Any]] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(3):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(base + "/compositor")
                page.wait_for_selector(f"#{C.CANVAS_WRAP}")
                page.wait_for_load_state("networkidle")
                # The file as the browser holds it (from a file input of the bench's own).
                page.evaluate(
                    "() => { const i = document.createElement('input'); i.type = 'file';"
                    " i.id = 'bench-file'; i.hidden = true; document.body.append(i); }"
                )
                page.set_input_files("#bench-file", str(photo))
                timings.append(
                    page.evaluate(
                        DROP, [C.CANVAS_WRAP, C.CANVAS_PROGRESS, C.BG_INFO, f"{PHOTO[0]}×"]
                    )
                )
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(60)
    best = min(timings, key=lambda t: t["shown"])
    print(
        f"9. a {size / 2**20:.1f} MB JPEG ({PHOTO[0]}x{PHOTO[1]}) dropped on the canvas (best of 3)"
    )
    print(
        f"   until the image is on the canvas (baseline: all the page showed before) {best['placed']:6.0f} ms"
    )
    print(
        f"   until its progress is on screen                                         {best['shown']:6.0f} ms  (target <= 200)"
    )
    print(f"   progress values seen while sending: {best['values']}")


# Drop the bench's file on the canvas; when did the progress box paint, when the image.
DROP = """async ([wrap, box, info, width]) => {
    const file = document.getElementById('bench-file').files[0];
    const progress = document.getElementById(box);
    const values = [];
    let shown = null;
    const t0 = performance.now();
    new MutationObserver(() => {
        if (!progress.hidden) {
            values.push(progress.querySelector('progress').getAttribute('value'));
            if (shown === null) requestAnimationFrame(() => { shown = shown ?? performance.now() - t0; });
        }
    }).observe(progress, {attributes: true, subtree: true, characterData: true, childList: true});
    const dt = new DataTransfer();
    dt.items.add(file);
    document.getElementById(wrap).dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    while (!document.getElementById(info).textContent.includes(width)) {
        await new Promise(r => setTimeout(r, 10));
    }
    return {shown, placed: performance.now() - t0, values: [...new Set(values)].slice(0, 8)};
}"""
