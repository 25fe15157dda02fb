"""Training as a person does it: start, watch progress and images, reload, cancel another job."""

from __future__ import annotations

import json

from components.ids import Training
from tests.browser.test_smoke import SHOTS
from tests.conftest import LiveServer


def param(page, name: str):
    """The form input of one trainer parameter."""
    dom_id = json.dumps(Training.param(name), sort_keys=True, separators=(",", ":"))
    return page.locator(f"[id='{dom_id}']")


def progress(page) -> float:
    value = page.get_attribute(f"#{Training.PANEL} .progress-bar", "aria-valuenow")
    return float(value or 0)


def test_bt001_start_watch_reload_and_cancel(page, live_server: LiveServer) -> None:
    page.goto(live_server.url("/training"))
    param(page, "epochs").fill("2")
    param(page, "samples").fill("400")
    page.click(f"#{Training.START}")
    page.wait_for_function(
        "id => parseFloat(document.querySelector(`#${id} .progress-bar`)?.getAttribute('aria-valuenow') || 0) > 0",
        arg=Training.PANEL,
        timeout=30_000,
    )
    first = progress(page)
    page.wait_for_selector(f"#{Training.PANEL} .gallery img", timeout=60_000)
    page.wait_for_function(
        "id => document.querySelector(`#${id} .badge`)?.textContent === 'succeeded'",
        arg=Training.PANEL,
        timeout=60_000,
    )
    assert progress(page) == 100 > first
    if SHOTS:
        page.set_viewport_size({"width": 1280, "height": 1100})
        page.wait_for_timeout(500)
        page.screenshot(path=f"{SHOTS}/training-job.png")
    src = page.get_attribute(f"#{Training.PANEL} .gallery img", "src")
    assert page.request.get(live_server.base + src).headers["content-type"] == "image/png"

    # The job has its own page that survives a reload.
    page.click(f"#{Training.JOBS} a")
    page.wait_for_url("**/training/*")
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
    param(page, "learning_rate").fill("5")
    page.click(f"#{Training.START}")
    page.wait_for_selector(".invalid-feedback:visible")
    shown = page.locator(".invalid-feedback:visible").all_inner_texts()
    assert shown == ["must be at most 1"], shown
    assert page.is_visible(f"#{Training.FORM_ERROR}")
