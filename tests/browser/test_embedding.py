"""The app inside the intranet portal's iframe: framed by allowed origins only, compact, sized."""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse

import pytest

from components.ids import Compositor, Data, Shell
from tests.conftest import free_port

PORTAL_PAGE = """<!doctype html><html><head><title>portal</title></head><body>
<h1>Intranet portal</h1>
<iframe id="app" src="{src}" style="width:420px;height:300px;border:0"></iframe>
<script>
window.heights = [];
window.addEventListener("message", function (e) {{
  if (e.data && e.data.type === "dashapp:height") {{
    window.heights.push({{origin: e.origin, height: e.data.height}});
    document.getElementById("app").style.height = e.data.height + "px";
  }}
}});
</script></body></html>"""


class Portal(BaseHTTPRequestHandler):
    """A page on another origin (another port) that frames ``?src=``."""

    def do_GET(self) -> None:
        src = parse_qs(urlparse(self.path).query).get("src", [""])[0]
        body = PORTAL_PAGE.format(src=html.escape(src, quote=True)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def portal():
    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Portal)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def framed_server(start_server, portal):
    """The app allowing exactly the portal's origin (and itself) to frame it."""
    return start_server(DASHAPP_FRAME_ANCESTORS=f"'self' {portal}")


def test_be001_the_allowed_portal_frames_and_uses_the_app(page, portal, framed_server) -> None:
    src = framed_server.url("/data?table=main.teams")
    page.goto(f"{portal}/?src={quote(src, safe='')}")
    frame = page.frame_locator("#app")
    frame.locator(f"#{Data.PICKER}").wait_for()
    frame.locator(".ag-row .ag-cell").first.wait_for()  # callbacks answer inside the frame
    assert frame.locator(f"#{Shell.NAVBAR}").is_hidden()  # compact: no own top bar
    page.wait_for_function("() => window.heights.length > 0")
    first = page.evaluate("window.heights[window.heights.length - 1]")
    assert first["origin"] == framed_server.base
    assert first["height"] > 200
    # The portal sized the frame from the message, and that settles (nothing in the page
    # grows with the frame): the app is shown whole, once.
    page.wait_for_timeout(1500)
    last = page.evaluate("window.heights[window.heights.length - 1]")
    box = page.locator("#app").bounding_box()
    assert abs(box["height"] - last["height"]) <= 2
    assert last["height"] < 2000
    page.wait_for_timeout(1000)
    assert page.evaluate("window.heights[window.heights.length - 1]") == last


def test_be002_an_origin_not_listed_cannot_frame_the_app(page, portal, live_server) -> None:
    """live_server keeps the default (frame-ancestors 'self'): Chromium refuses the frame."""
    page.goto(f"{portal}/?src={quote(live_server.url('/data'), safe='')}")
    page.wait_for_timeout(2500)
    child = next(f for f in page.frames if f != page.main_frame)
    assert (
        child.url.startswith("chrome-error://") or child.query_selector(f"#{Data.PICKER}") is None
    )
    assert page.evaluate("window.heights.length") == 0
    refused = [c for c in page.watch.console_errors if "frame-ancestors" in c]
    assert refused, page.watch.console_errors


def test_be003_embed_parameter_gives_the_compact_layout_without_a_frame(page, live_server) -> None:
    page.goto(live_server.url("/data?embed=1"))
    page.wait_for_selector(f"#{Data.PICKER}")
    assert page.is_hidden(f"#{Shell.NAVBAR}")
    page.goto(live_server.url("/training"))  # remembered for the tab
    page.wait_for_selector("#training-start")
    assert page.is_hidden(f"#{Shell.NAVBAR}")
    page.goto(live_server.url("/data?embed=0"))
    page.wait_for_selector(f"#{Data.PICKER}")
    assert page.is_visible(f"#{Shell.NAVBAR}")


def test_be004_in_a_narrow_frame_the_rows_come_before_the_chart(page, live_server) -> None:
    """Stacked in 420 px: table picker, then the grid's rows, then the quick chart."""
    page.set_viewport_size({"width": 420, "height": 900})
    page.goto(live_server.url("/data?table=main.events&embed=1"))
    page.wait_for_selector(".ag-row .ag-cell")

    def top(selector: str) -> float:
        return page.locator(selector).first.bounding_box()["y"]

    assert top(f"#{Data.PICKER}") < top(".ag-row .ag-cell") < top(f"#{Data.CHART_COLUMN}")
    # The first rows show in the first screenful, and nothing is wider than the frame.
    assert top(".ag-row .ag-cell") < 900
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 420


def test_be005_in_a_narrow_frame_the_canvas_follows_the_uploads(page, live_server) -> None:
    """Stacked in 420 px: upload zones, canvas, selected layer, render, recipe, batch."""
    page.set_viewport_size({"width": 420, "height": 900})
    page.goto(live_server.url("/compositor?embed=1"))
    page.wait_for_selector(f"#{Compositor.CANVAS_EMPTY}")

    def box(selector: str) -> dict[str, float]:
        return page.locator(selector).first.bounding_box()

    def top(selector: str) -> float:
        return box(selector)["y"]

    # The empty canvas opens at the size it keeps: it was once drawn tall (Plotly's
    # placeholder) and collapsed when the page's callbacks answered, so everything below
    # it jumped up.
    first_height = box(".canvas-wrap")["height"]
    page.wait_for_load_state("networkidle")
    assert box(".canvas-wrap")["height"] == first_height

    order = [
        f"#{Compositor.BG_UPLOAD}",
        f"#{Compositor.CANVAS_EMPTY}",
        f"#{Compositor.NAME}",
        f"#{Compositor.RENDER}",
        f"#{Compositor.RECIPE_SAVE}",
        f"#{Compositor.BATCH_RUN}",  # a sixth card: it once came first (no ``order-6``)
    ]
    tops = [top(s) for s in order]
    assert tops == sorted(tops), dict(zip(order, tops, strict=True))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 420


LAYOUT_SHIFTS = """() => new Promise((done) => {
  const shifts = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const moved = e.sources.map((s) => s.node?.id || String(s.node?.className || "?"));
      shifts.push([Number(e.value.toFixed(3)), moved.slice(0, 3).join(", ")]);
    }
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => done(shifts), 100);
})"""


@pytest.mark.parametrize("width", [420, 1280])
@pytest.mark.parametrize(
    "path",
    ["/data?table=main.events&embed=1", "/training?embed=1", "/compositor?embed=1"],
)
def test_be006_pages_do_not_jump_while_they_load(page, live_server, path, width) -> None:
    """What fills in after the first paint (dropdowns, upload zones, the column list, the grid)
    has its room already: the page does not jump about as it loads (layout shift, the
    browser's own measure of it, stays under 0.1, the level web guidance calls good)."""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url(path))
    page.wait_for_load_state("networkidle")
    shifts = page.evaluate(LAYOUT_SHIFTS)
    assert sum(value for value, _ in shifts) < 0.1, shifts
