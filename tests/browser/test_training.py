"""Training as a person does it: start, watch progress and images, reload, cancel another job."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from components.ids import Training
from tests.browser.test_smoke import SHOTS
from tests.conftest import LiveServer


def param(page, name: str):
    """The form input of one trainer parameter."""
    dom_id = json.dumps(Training.param(name), sort_keys=True, separators=(",", ":"))
    return page.locator(f"[id='{dom_id}']")


def wait_for_panel(page, status: str, timeout: float) -> None:
    """Wait until the job panel's badge says ``status`` (e.g. ``succeeded``)."""
    page.wait_for_function(
        "([id, status]) => document.querySelector(`#${id} .badge`)?.textContent === status",
        arg=[Training.PANEL, status],
        timeout=timeout,
    )


def open_panel_job(page) -> None:
    """Open, from the runs table, the page of the job the panel follows (not just any run)."""
    short = re.search(r"Job ([0-9a-f]{8})", page.inner_text(f"#{Training.PANEL}")).group(1)
    page.locator(f"#{Training.JOBS} a[href*='/training/{short}']").click()
    page.wait_for_url(re.compile(rf".*/training/{short}[0-9a-f]{{24}}$"))


def progress(page) -> float:
    value = page.get_attribute(f"#{Training.PANEL} .progress-bar", "aria-valuenow")
    return float(value or 0)


def test_bt001_start_watch_reload_and_cancel(page, live_server: LiveServer) -> None:
    page.goto(live_server.url("/training"))
    param(page, "epochs").fill("2")
    param(page, "samples").fill("1500")
    page.click(f"#{Training.START}")
    # Record every value the bar shows, as a person watching it would see them.
    page.evaluate(
        """id => { window.__seen = []; setInterval(() => {
            const b = document.querySelector(`#${id} .progress-bar`);
            if (b) window.__seen.push(parseFloat(b.getAttribute('aria-valuenow') || 0)); }, 100); }""",
        Training.PANEL,
    )
    page.wait_for_selector(f"#{Training.PANEL} .gallery img", timeout=60_000)
    wait_for_panel(page, "succeeded", timeout=60_000)
    seen = page.evaluate("window.__seen")
    assert progress(page) == 100
    assert any(0 < v < 100 for v in seen), seen  # the bar moved while the job ran
    if SHOTS:
        page.set_viewport_size({"width": 1280, "height": 1100})
        page.wait_for_timeout(500)
        page.screenshot(path=f"{SHOTS}/training-job.png")
    src = page.get_attribute(f"#{Training.PANEL} .gallery img", "src")
    assert page.request.get(live_server.base + src).headers["content-type"] == "image/png"

    # The job has its own page that survives a reload.
    open_panel_job(page)
    job_url = page.url
    page.reload()
    page.wait_for_selector(f"#{Training.PANEL} .gallery img")
    assert page.url == job_url
    assert "epoch 2/2" in page.inner_text(f"#{Training.PANEL}")

    # A long second job is cancelled from its panel; it stops and says so.
    page.goto(live_server.url("/training"))
    param(page, "epochs").fill("50")
    page.click(f"#{Training.START}")
    page.wait_for_function(
        "id => document.querySelector(`#${id} .badge`)?.textContent === 'running'",
        arg=Training.PANEL,
        timeout=30_000,
    )
    page.click(f"#{Training.CANCEL}")
    page.wait_for_function(
        "id => document.querySelector(`#${id} .badge`)?.textContent === 'cancelled'",
        arg=Training.PANEL,
        timeout=10_000,
    )
    assert page.watch.problems() == []


def test_bt002_bad_parameters_are_shown_next_to_the_field(page, live_server: LiveServer) -> None:
    page.goto(live_server.url("/training"))
    # Typed at once, before the page's first callbacks answer: the form must keep it.
    param(page, "learning_rate").fill("5")
    page.wait_for_timeout(1000)  # the page's first callbacks answer meanwhile
    expect(param(page, "learning_rate")).to_have_value("5")
    page.click(f"#{Training.START}")
    page.wait_for_selector(".invalid-feedback:visible")
    shown = page.locator(".invalid-feedback:visible").all_inner_texts()
    assert shown == ["must be at most 1"], shown
    assert page.is_visible(f"#{Training.FORM_ERROR}")


def test_bt003_train_on_a_grid_view_and_come_back_to_it(page, live_server: LiveServer) -> None:
    from urllib.parse import quote

    from components.ids import Data

    view = '{"plan":{"filterType":"text","type":"equals","filter":"pro"}}'
    page.goto(live_server.url(f"/data?table=main.customer_churn&filter={quote(view)}"))
    page.wait_for_function(
        "id => (document.getElementById(id)?.textContent || '').includes('filtered from')",
        arg=Data.STATUS,
    )
    status = page.inner_text(f"#{Data.STATUS}")
    page.click(f"#{Data.TRAIN}")
    page.wait_for_url("**/training?*")
    assert param(page, "table").input_value() == "main.customer_churn"
    assert json.loads(param(page, "filter").input_value()) == json.loads(view)
    param(page, "epochs").fill("2")
    page.click(f"#{Training.START}")
    wait_for_panel(page, "succeeded", timeout=90_000)
    page.get_by_text("Open the data").click()
    page.wait_for_url("**/data?*")
    page.wait_for_function(
        "([id, want]) => (document.getElementById(id)?.textContent || '') === want",
        arg=[Data.STATUS, status],
    )
    assert page.watch.problems() == []


def fetch_status(url: str) -> int:
    """Status of a GET on a connection of its own (a kept-alive one may have timed out)."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as resp:
        resp.read()
        return resp.status


def test_bt010_pages_and_callbacks_under_a_url_prefix(page, prefixed_server) -> None:
    """Behind the proxy at /tools/dashapp/: the grid, a job, its images and downloads."""
    from components.ids import Data

    page.goto(prefixed_server.url("/data?table=main.teams"))
    page.wait_for_selector(".ag-row .ag-cell")
    export = page.get_attribute(f"#{Data.EXPORT}", "href")
    assert export.startswith("/tools/dashapp/export.csv")
    assert fetch_status(prefixed_server.base + export) == 200

    page.goto(prefixed_server.url("/training"))
    param(page, "epochs").fill("1")
    param(page, "samples").fill("300")
    page.click(f"#{Training.START}")
    wait_for_panel(page, "succeeded", timeout=90_000)
    img = page.locator(f"#{Training.PANEL} .gallery img").first
    assert img.get_attribute("src").startswith("/tools/dashapp/jobs/")
    expect(img).to_have_js_property("complete", True)
    assert img.evaluate("i => i.naturalWidth") > 0  # loaded through the prefix
    zip_href = page.get_attribute(f"#{Training.PANEL} a[href$='artifacts.zip']", "href")
    assert zip_href.startswith("/tools/dashapp/")
    assert fetch_status(prefixed_server.base + zip_href) == 200
    assert page.watch.problems() == []
