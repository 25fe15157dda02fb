"""Two web nodes, no shared disk, HAProxy round-robin in front: every page works, and a node
killed mid-session loses nothing (the open composition, the running job, the grid)."""

from __future__ import annotations

import csv
import io
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from components.ids import Compositor as C
from components.ids import Data, Training
from dashapp.data.demo_data import DemoSizes, load_postgresql
from tests.browser.test_compositor import fields, upload
from tests.browser.test_data import cells, wait_status
from tests.browser.test_training import open_panel_job, param, wait_for_panel
from tests.cluster import Cluster, cluster
from tests.conftest import fresh_pg_database
from tests.image_fixtures import encode, solid

BG = (20, 60, 200)
LAYER = (250, 40, 40, 255)
EVENTS = 3_000


@pytest.fixture(scope="module")
def several(pg_server_url: str, tmp_path_factory) -> Iterator[Cluster]:
    """The deployment: shared PostgreSQL (state and data) and Redis, two nodes, a worker."""
    tmp = tmp_path_factory.mktemp("several")
    with fresh_pg_database(pg_server_url) as data_url, fresh_pg_database(pg_server_url) as state:
        load_postgresql(
            data_url, DemoSizes(events=EVENTS, customer_churn=2_000), echo=lambda _: None
        )
        with cluster(tmp, state, data_url) as made:
            yield made


def test_sn001_data_through_the_balancer(page, several: Cluster, tmp_path: Path) -> None:
    page.goto(several.url("/data?table=public.events"))
    page.wait_for_selector(".ag-row .ag-cell")
    wait_status(page, f"of {EVENTS:,}")
    assert cells(page, "id")[:3] == ["1", "2", "3"]
    page.locator(".ag-body-viewport").evaluate("el => el.scrollTop = el.scrollHeight / 2")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.ag-row')].some(r => +r.getAttribute('row-index') > 1000)"
    )
    page.locator(".ag-body-viewport").evaluate("el => el.scrollTop = 0")
    page.fill(f"#{Data.QUICK}", "login")
    wait_status(page, "(filtered from")
    assert set(cells(page, "event_type")) == {"login"}
    with page.expect_download() as download:
        page.click(f"#{Data.EXPORT}")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert rows
    assert {r["event_type"] for r in rows} == {"login"}
    assert page.watch.problems() == []


def test_sn002_training_through_the_balancer(page, several: Cluster) -> None:
    page.goto(several.url("/training"))
    param(page, "epochs").fill("2")
    param(page, "samples").fill("600")
    page.click(f"#{Training.START}")
    page.wait_for_selector(f"#{Training.PANEL} .gallery img", timeout=90_000)
    wait_for_panel(page, "succeeded", timeout=90_000)
    src = page.get_attribute(f"#{Training.PANEL} .gallery img", "src")
    for _ in range(4):  # whichever node answers, the artifact is there
        assert page.request.get(several.base + src).headers["content-type"] == "image/png"
    open_panel_job(page)
    page.reload()
    page.wait_for_selector(f"#{Training.PANEL} .gallery img")
    assert "epoch 2/2" in page.inner_text(f"#{Training.PANEL}")
    assert page.watch.problems() == []


def compositor_files(tmp_path: Path) -> dict[str, Path]:
    paths = {"bg": tmp_path / "background.png", "layer": tmp_path / "red.png"}
    paths["bg"].write_bytes(encode(solid((1200, 800), BG), "PNG"))
    paths["layer"].write_bytes(encode(solid((300, 200), LAYER, "RGBA"), "PNG"))
    return paths


def drag_layer(page, dx: float, dy: float) -> None:
    """Drag the selected layer's shape with the mouse, in small steps."""
    box = page.locator(".shapelayer path").first.bounding_box()
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(start[0] + dx * step / 10, start[1] + dy * step / 10)
    page.mouse.up()


def render_and_check(page, tmp_path: Path, name: str) -> None:
    """Render, download, and check the layer's pixels are where the fields say."""
    x, y, w, h = fields(page)
    page.click(f"#{C.RENDER}")
    link = page.wait_for_selector(f"#{C.RESULT} a.btn:has-text('Download')", timeout=60_000)
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / name
    download.value.save_as(saved)
    with Image.open(saved) as out:
        assert out.size == (1200, 800)
        for px, py in ((x, y), (x + w - 1, y + h - 1)):
            assert out.getpixel((px, py)) == LAYER, (px, py)
        assert out.getpixel((x - 1, y + 5)) == (*BG, 255)


def test_sn003_compositor_through_the_balancer_and_a_node_killed(
    page, several: Cluster, tmp_path: Path
) -> None:
    files = compositor_files(tmp_path)
    page.goto(several.url("/compositor"))
    page.wait_for_selector(f"#{C.ROOT}")
    upload(page, C.BG_UPLOAD, files["bg"])
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('1200×800')")
    upload(page, C.LAYER_UPLOAD, files["layer"])
    page.wait_for_selector(".layer-list .list-group-item.active:has-text('red.png')")
    page.wait_for_load_state("networkidle")
    drag_layer(page, -60, -30)
    page.click(f"#{C.FLIP_H}")  # the drag reaches the server with the next action
    expect(page.locator(f"#{C.X}")).not_to_have_value("450")
    render_and_check(page, tmp_path, "before.png")
    # The previews come from both nodes (each derives them from the shared original).
    preview = page.get_attribute(f"#{C.CANVAS} .imagelayer image", "href")
    for _ in range(4):
        assert page.request.get(several.base + preview).status == 200

    # A node dies mid-session (SIGKILL: no goodbye); the next actions land on the other.
    several.nodes[0].kill(signal.SIGKILL)
    before = fields(page)
    page.reload()
    page.wait_for_selector(".layer-list .list-group-item.active:has-text('red.png')")
    assert fields(page) == before  # the open composition is intact
    page.click(f"#{C.DUPLICATE}")
    page.wait_for_selector(".layer-list .list-group-item:has-text('red.png copy')")
    page.click(f"#{C.DELETE}")
    expect(page.locator(".layer-list .list-group-item:has-text('red.png copy')")).to_have_count(0)
    expect(page.locator(f"#{C.X}")).to_have_value(str(before[0]))
    render_and_check(page, tmp_path, "after.png")
    several.nodes[0].start()  # and it comes back
    several.wait_balanced()


def test_sn004_a_running_job_and_the_grid_survive_a_node_killed(page, several: Cluster) -> None:
    page.goto(several.url("/training"))
    param(page, "epochs").fill("6")
    param(page, "samples").fill("1500")
    page.click(f"#{Training.START}")
    page.wait_for_function(
        "id => (document.querySelector(`#${id} .badge`)?.textContent || '') === 'running'",
        arg=Training.PANEL,
        timeout=90_000,
    )
    short = re.search(r"Job ([0-9a-f]{8})", page.inner_text(f"#{Training.PANEL}")).group(1)
    link = page.locator(f"#{Training.JOBS} a[href*='{short}']")
    expect(link).to_have_count(1)
    job_link = link.get_attribute("href")
    several.nodes[1].kill(signal.SIGKILL)
    page.goto(several.base + job_link)
    page.wait_for_selector(f"#{Training.PANEL} .progress-bar")
    wait_for_panel(page, "succeeded", timeout=120_000)
    assert "epoch 6/6" in page.inner_text(f"#{Training.PANEL}")
    page.goto(several.url("/data?table=public.events"))
    wait_status(page, f"of {EVENTS:,}")
    assert cells(page, "id")[:2] == ["1", "2"]
    several.nodes[1].start()
    several.wait_balanced()
