"""Following jobs as a person does: metric panels, the whole log, toasts, the queue, one click."""

from __future__ import annotations

import math
import time

import pytest
from playwright.sync_api import expect

from components.ids import Data, Shell, Training
from dashapp.db import make_engine
from jobs.store import QUEUED, RUNNING, SUCCEEDED, JobStore
from tests.browser.test_training import param
from tests.conftest import LiveServer

CHART = ".metrics-chart .js-plotly-plot"


def store_of(server: LiveServer) -> JobStore:
    """The live server's own job store (its state database, beside its log)."""
    return JobStore(make_engine(f"sqlite:///{server.log.parent / 'state.sqlite'}"))


def finished_job(store: JobStore, *, lines: int = 0, user: str = "anonymous") -> str:
    """A finished job with losses, an accuracy, an R² and (as older jobs kept it) rows_trained."""
    job_id = store.create("tabular-mlp", {"epochs": 3, "table": "main.customer_churn"}, user)
    points = [(s, "train_loss", 2 * math.exp(-s / 40)) for s in range(1, 121)]
    points += [(s, "val_loss", 2.2 * math.exp(-s / 45)) for s in (40, 80, 120)]
    points += [(s, "val_accuracy", 0.5 + s / 400) for s in (40, 80, 120)]
    points += [(s, "val_r2", s / 200) for s in (40, 80, 120)]
    points.append((0, "rows_trained", 20_000.0))  # how the tabular trainer recorded it before
    store.add_metrics(job_id, points)
    for i in range(1, lines + 1):
        store.add_log(job_id, f"log line {i:05d}")
    store.finish(job_id, SUCCEEDED)
    return job_id


def test_bt101_metrics_in_panels_with_facts_log_scale_and_smoothing(
    page, live_server: LiveServer
) -> None:
    job_id = finished_job(store_of(live_server))
    page.goto(live_server.url(f"/training/{job_id}"))
    page.wait_for_selector(f"{CHART} .main-svg")
    # rows_trained is a figure, not a line flattening the others.
    expect(page.locator(".metric-fact")).to_have_text("20,000rows trained")
    layout = page.eval_on_selector(
        CHART,
        "gd => ({axes: Object.keys(gd.layout).filter(k => /^yaxis\\d*$/.test(k)).length,"
        " titles: (gd.layout.annotations || []).map(a => a.text),"
        " names: gd.data.map(d => d.name), x: gd.data.map(d => d.xaxis)})",
    )
    assert layout["titles"] == ["loss", "accuracy", "val_r2"]
    assert layout["axes"] == 3  # a panel each: losses together, accuracies, R² alone
    assert sorted(layout["names"]) == ["train_loss", "val_accuracy", "val_loss", "val_r2"]
    assert "rows_trained" not in layout["names"]
    # Log scale on every panel.
    page.click(f"#{Training.METRICS_LOG}")
    page.wait_for_function(
        "sel => { const gd = document.querySelector(sel);"
        " return gd && gd.layout.yaxis.type === 'log' && gd.layout.yaxis3.type === 'log'; }",
        arg=CHART,
    )
    # Smoothing: the raw line stays, faint, behind the smoothed one.
    page.get_by_label("Smoothing").select_option("0.6")
    page.wait_for_function(
        "sel => (document.querySelector(sel)?.data || []).length === 8", arg=CHART
    )
    names = page.eval_on_selector(CHART, "gd => gd.data.map(d => d.name)")
    assert "train_loss (raw)" in names
    # The choice is the reader's: it stays after a reload.
    page.reload()
    page.wait_for_selector(f"{CHART} .main-svg")
    page.wait_for_function(
        "sel => { const gd = document.querySelector(sel);"
        " return gd && gd.layout.yaxis.type === 'log' && gd.data.length === 8; }",
        arg=CHART,
    )
    assert page.watch.problems() == []


def test_bt102_the_whole_log_scrolls_back_and_downloads(page, live_server: LiveServer) -> None:
    job_id = finished_job(store_of(live_server), lines=2_500)
    page.goto(live_server.url(f"/training/{job_id}"))
    log = page.locator(f"#{Training.LOG}")
    expect(page.locator(f"#{Training.LOG_INFO}")).to_have_text("The last 200 of 2,500 lines.")
    # The newest line is at the bottom, in view; the first is not there yet.
    expect(log).to_contain_text("log line 02500")
    assert page.evaluate(
        "id => { const el = document.getElementById(id);"
        " return el.scrollHeight - el.clientHeight - el.scrollTop < 8; }",
        Training.LOG,
    )
    assert "log line 00001" not in log.inner_text()
    # Scrolling to the top loads earlier lines, and what was read stays in view.
    page.evaluate("id => { document.getElementById(id).scrollTop = 0; }", Training.LOG)
    expect(page.locator(f"#{Training.LOG_INFO}")).to_have_text("The last 1,200 of 2,500 lines.")
    assert page.evaluate("id => document.getElementById(id).scrollTop", Training.LOG) > 0
    # "Load earlier" brings the rest; then there is nothing earlier to load.
    page.click(f"#{Training.LOG_EARLIER}")
    expect(page.locator(f"#{Training.LOG_INFO}")).to_have_text("The last 2,200 of 2,500 lines.")
    page.click(f"#{Training.LOG_EARLIER}")
    expect(page.locator(f"#{Training.LOG_INFO}")).to_have_text("All 2,500 lines.")
    expect(page.locator(f"#{Training.LOG_EARLIER}")).to_be_disabled()
    text = log.inner_text()
    assert text.startswith("log line 00001\n")
    assert text.count("log line") == 2_500
    # The download has every line, with its time.
    href = page.get_attribute(f"#{Training.LOG_DOWNLOAD}", "href")
    resp = page.request.get(live_server.base + href)
    assert resp.status == 200
    assert "attachment" in resp.headers["content-disposition"]
    body = resp.text().splitlines()
    assert len(body) == 2_500
    assert body[0].endswith("Z log line 00001")
    assert body[-1].endswith("Z log line 02500")
    assert page.request.get(live_server.url("/jobs/nope/log.txt")).status == 404
    assert page.watch.problems() == []


def test_bt103_a_toast_on_another_page_when_your_job_ends(page, live_server: LiveServer) -> None:
    store = store_of(live_server)
    mine = store.create("shapes-cnn", {}, "anonymous")
    theirs = store.create("shapes-cnn", {}, "somebody-else")
    page.goto(live_server.url("/data"))
    page.wait_for_selector(f"#{Data.PICKER}")
    store.finish(theirs, SUCCEEDED)  # not mine: no toast
    store.request_cancel(mine)  # a queued job is cancelled at once
    toast = page.locator(f"#{Shell.TOASTS} .toast")
    expect(toast).to_have_count(1, timeout=20_000)
    expect(toast).to_contain_text(f"Job {mine[:8]} cancelled")
    page.wait_for_timeout(6_000)  # another poll or more: the same job is not told twice
    expect(toast).to_have_count(1)
    toast.get_by_text("Open the job").click()
    page.wait_for_url(f"**/training/{mine}")
    expect(page.locator(f"#{Training.PANEL} .badge").first).to_have_text("cancelled")
    assert page.watch.problems() == []


@pytest.fixture(scope="module")
def one_slot_server(start_server) -> LiveServer:
    """A server that runs one job at a time: the next ones wait in the queue."""
    return start_server(DASHAPP_MAX_JOBS="1")


def start_job(page, epochs: int, samples: int = 300) -> None:
    """Fill the form, click Start and wait until the panel shows the new job."""
    before = page.evaluate(
        "id => document.querySelector(`#${id} .font-monospace`)?.textContent || ''",
        Training.PANEL,
    )
    param(page, "epochs").fill(str(epochs))
    param(page, "samples").fill(str(samples))
    param(page, "threads").fill("1")
    page.click(f"#{Training.START}")
    page.wait_for_function(
        "([id, before]) => { const t = document.querySelector(`#${id} .font-monospace`);"
        " return t && t.textContent !== before; }",
        arg=[Training.PANEL, before],
    )


def wait_until(check, timeout: float = 15.0) -> None:
    """Wait for ``check()`` to hold (what the server records lags what the page shows)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_bt104_queued_jobs_show_their_place(page, one_slot_server: LiveServer) -> None:
    store = store_of(one_slot_server)
    page.goto(one_slot_server.url("/training"))
    page.wait_for_selector(f"#{Training.START}")
    start_job(page, 50, 5000)  # takes the one slot
    page.wait_for_function(
        "id => document.querySelector(`#${id} .badge`)?.textContent === 'running'",
        arg=Training.PANEL,
        timeout=30_000,
    )
    first = store.list_jobs(status=RUNNING)
    start_job(page, 1)
    start_job(page, 1)
    # Starting more jobs from the same page leaves the first one running (Dash fires the
    # page's earlier launchers again when one is added: they must not stop their jobs).
    page.wait_for_timeout(2_000)
    assert [j.status for j in map(store.get, [j.id for j in first])] == [RUNNING]
    queued = sorted((j for j in store.list_jobs(status=QUEUED)), key=lambda j: (j.created_at, j.id))
    assert len(queued) == 2
    header = page.locator(f"#{Training.HEADER}")
    expect(header).to_contain_text("2nd in the queue (1 job ahead)")
    page.goto(one_slot_server.url(f"/training/{queued[0].id}"))
    expect(header).to_contain_text("next in the queue")
    for job in store.list_jobs():
        store.request_cancel(job.id)
    assert page.watch.problems() == []


def test_bt105_a_double_click_on_start_starts_one_job(page, one_slot_server: LiveServer) -> None:
    store = store_of(one_slot_server)
    page.goto(one_slot_server.url("/training"))
    param(page, "epochs").fill("1")
    param(page, "samples").fill("300")
    before = len(store.list_jobs())
    # A slow network: the launch request is held until the test lets it go, so the clicks
    # below all come while it is in flight.
    held: list = []

    def hold(route) -> None:
        if "training-launches.children" in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()

    def callbacks(url: str) -> bool:
        return "_dash-update-component" in url  # Dash adds a query string

    page.route(callbacks, hold)
    page.dblclick(f"#{Training.START}")
    box = page.locator(f"#{Training.START}").bounding_box()
    for _ in range(20):  # the first request is held
        if held:
            break
        page.wait_for_timeout(100)
    # A third click, as a person's mouse gives it (whatever the button's state).
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(500)
    assert len(held) == 1, f"{len(held)} launch requests were sent"
    expect(page.locator(f"#{Training.START}")).to_be_disabled()  # while it is in flight
    for route in held:
        route.continue_()
    page.unroute(callbacks)
    expect(page.locator(f"#{Training.START}")).to_be_enabled()
    wait_until(lambda: len(store.list_jobs()) == before + 1)
    # No second job follows late (the page polls all the time: it is never "network idle").
    page.wait_for_timeout(1500)
    assert len(store.list_jobs()) == before + 1
    # Once it is back, the next click starts the next job.
    page.click(f"#{Training.START}")
    wait_until(lambda: len(store.list_jobs()) == before + 2)
    for job in store.list_jobs():
        store.request_cancel(job.id)
    assert page.watch.problems() == []
