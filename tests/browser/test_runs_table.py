"""The runs table in Chromium: every job paged by the server, search, filters, rename, delete."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from components.ids import Training
from jobs.schema import jobs
from jobs.store import FAILED, SUCCEEDED, JobStore
from tests.browser.test_training_follow import store_of, wait_until
from tests.conftest import LiveServer

RUNS = f"#{Training.RUNS}"


@pytest.fixture(scope="module")
def runs_server(start_server) -> LiveServer:
    """A server of its own: the table counts every job, so no other test may add any."""
    return start_server()


def seed(store: JobStore, count: int) -> list[str]:
    """``count`` finished tabular runs, newest last, one a minute; others' runs besides."""
    ids = []
    start = datetime(2026, 1, 2, 3, 4, 5)
    for i in range(count):
        job_id = store.create("tabular-mlp", {"epochs": 1}, "anonymous", name=f"run {i:03d}")
        store.add_metrics(job_id, [(10, "val_accuracy", i / 1000), (10, "val_loss", 1 - i / 1000)])
        store.finish(job_id, SUCCEEDED)
        ids.append(job_id)
    with store.engine.begin() as conn:
        for i, job_id in enumerate(ids):
            at = start + timedelta(minutes=i)
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(created_at=at, started_at=at, finished_at=at + timedelta(seconds=65))
            )
    other = store.create("shapes-cnn", {}, "somebody-else", name="not yours")
    store.finish(other, FAILED, error="boom")
    return ids


def cell(page, row: int, col: str):
    """The cell of the rendered row with index ``row`` in column ``col``."""
    return page.locator(f"{RUNS} .ag-center-cols-container [row-index='{row}'] [col-id='{col}']")


def test_bt201_every_run_paged_sorted_searched_and_filtered(page, runs_server) -> None:
    store = store_of(runs_server)
    ids = seed(store, 130)
    page.goto(runs_server.url("/training"))
    count = page.locator(f"#{Training.RUNS_COUNT}")
    expect(count).to_have_text("131 runs")  # all of them, not the 50 newest
    expect(cell(page, 0, "name")).to_have_text("not yours")  # newest first
    expect(cell(page, 1, "name")).to_have_text("run 129")
    # The last rows come from the server as the table scrolls down to them.
    page.locator(f"{RUNS} .ag-body-viewport").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(cell(page, 130, "name")).to_have_text("run 000")
    # Durations and times as the reader reads them (this browser is in UTC: see bt203).
    expect(cell(page, 130, "duration")).to_have_text("1m 05s")
    # Sorted by a column, by the server.
    page.locator(f"{RUNS} .ag-header-cell[col-id='name']").click()
    expect(cell(page, 0, "name")).to_have_text("not yours")
    expect(cell(page, 1, "name")).to_have_text("run 000")
    page.locator(f"{RUNS} .ag-header-cell[col-id='name']").click()
    expect(cell(page, 0, "name")).to_have_text("run 129")
    # Quick search (name, id or tag).
    page.fill(f"#{Training.RUNS_QUICK}", "run 07")
    expect(count).to_have_text("10 runs")
    page.fill(f"#{Training.RUNS_QUICK}", ids[5][:10])
    expect(count).to_have_text("1 run")
    expect(cell(page, 0, "name")).to_have_text("run 005")
    page.fill(f"#{Training.RUNS_QUICK}", "")
    expect(count).to_have_text("131 runs")
    # Status, trainer and user filters; the trainer's final metrics become columns.
    page.click(f"#{Training.STATUS_FILTER}")
    page.get_by_role("option", name="failed").click()
    expect(count).to_have_text("1 run")
    page.click(f"#{Training.STATUS_FILTER}")
    page.get_by_role("option", name="All statuses").click()
    expect(count).to_have_text("131 runs")
    page.click(f"#{Training.TRAINER_FILTER}")
    page.get_by_role("option", name="Tabular model").click()
    expect(count).to_have_text("130 runs")
    header = page.locator(f"{RUNS} .ag-header-cell[col-id='metric:val_accuracy']")
    expect(header).to_be_visible()
    page.locator(f"{RUNS} .ag-header-cell[col-id='metric:val_accuracy']").click()  # ascending
    expect(page.locator(f"{RUNS} [row-index='0'] [col-id='metric:val_accuracy']")).to_have_text("0")
    page.click(f"#{Training.RUNS_USER}")
    page.get_by_role("option", name="somebody-else").click()
    expect(count).to_have_text("0 runs")
    # Dates: a day typed is a day where the reader is.
    page.click(f"#{Training.TRAINER_FILTER}")
    page.get_by_role("option", name="All trainers").click()
    page.click(f"#{Training.RUNS_USER}")
    page.get_by_role("option", name="anonymous").click()
    page.fill(f"#{Training.RUNS_FROM}", "2026-01-02")
    page.fill(f"#{Training.RUNS_TO}", "2026-01-02")
    expect(count).to_have_text("130 runs")
    page.fill(f"#{Training.RUNS_FROM}", "2026-01-03")
    page.fill(f"#{Training.RUNS_TO}", "")
    expect(count).to_have_text("0 runs")
    assert page.watch.problems() == []


def test_bt202_rename_retag_delete_and_compare(page, runs_server) -> None:
    store = store_of(runs_server)
    mine = store.create("tabular-mlp", {}, "anonymous", name="to rename")
    store.add_metrics(mine, [(1, "val_loss", 0.5)])
    store.finish(mine, SUCCEEDED)
    other = store.create("tabular-mlp", {}, "anonymous", name="second")
    store.add_metrics(other, [(1, "val_loss", 0.4)])
    store.finish(other, SUCCEEDED)
    folder = runs_server.log.parent / "artifacts" / mine
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pt").write_bytes(b"weights")
    page.goto(runs_server.url("/training"))
    page.fill(f"#{Training.RUNS_QUICK}", mine[:12])  # by its id: the name will change
    expect(page.locator(f"#{Training.RUNS_COUNT}")).to_have_text("1 run")
    # Rename in place: double-click, type, Enter; the store has it.
    name = page.locator(f"{RUNS} [row-index='0'] [col-id='name']")
    name.dblclick()
    page.keyboard.press("Control+a")
    page.keyboard.type("renamed run")
    page.keyboard.press("Enter")
    wait_until(lambda: store_name(store, mine) == "renamed run")
    tags = page.locator(f"{RUNS} [row-index='0'] [col-id='tags']")
    tags.dblclick()
    page.keyboard.type("baseline, bad<tag>")
    page.keyboard.press("Enter")
    expect(page.locator(f"#{Training.RUNS_MESSAGE}")).to_contain_text("must be at most 40")
    expect(tags).to_have_text("")  # refused, and the table shows what is stored
    tags.dblclick()
    page.keyboard.press("Control+a")
    page.keyboard.type("baseline, v2")
    page.keyboard.press("Enter")
    expect(page.locator(f"#{Training.RUNS_MESSAGE}")).to_have_text("Saved.")
    page.fill(f"#{Training.RUNS_QUICK}", "baseline")
    expect(page.locator(f"#{Training.RUNS_COUNT}")).to_have_text("1 run")
    # Compare two selected runs on a page of its own.
    page.fill(f"#{Training.RUNS_QUICK}", "")
    expect(page.locator(f"{RUNS} [row-index='1'] [col-id='name']")).to_have_text("renamed run")
    compare = page.locator(f"#{Training.RUNS_COMPARE}")
    page.locator(f"{RUNS} [row-index='0'] .ag-selection-checkbox input").check()
    page.locator(f"{RUNS} [row-index='1'] .ag-selection-checkbox input").check()
    expect(compare).not_to_have_class("disabled")
    href = compare.get_attribute("href")
    assert mine in href
    assert other in href
    # Delete one (after confirming): its row, metrics, files and folder go.
    page.locator(f"{RUNS} [row-index='0'] .ag-selection-checkbox input").uncheck()
    page.click(f"#{Training.RUNS_DELETE}")
    expect(page.locator(f"#{Training.RUNS_DELETE_TEXT}")).to_contain_text("Delete 1 run")
    page.click(f"#{Training.RUNS_DELETE_CONFIRM}")
    expect(page.locator(f"#{Training.RUNS_MESSAGE}")).to_have_text("Deleted 1 run.")
    assert store.get(mine) is None
    assert not folder.exists()
    expect(page.locator(f"{RUNS} .ag-row [col-id='name']", has_text="renamed run")).to_have_count(0)
    page.goto(runs_server.base + href)  # the comparison still opens; the deleted job is gone
    expect(page.locator(f"#{Training.COMPARE_PAGE}")).to_contain_text("Pick two or more jobs")
    assert page.watch.problems() == []


def store_name(store: JobStore, job_id: str) -> str | None:
    """A job's name as stored."""
    from jobs.query import get_run

    run = get_run(store, job_id)
    return run.name if run else None


def test_bt203_times_in_the_readers_time_zone_and_others_runs_are_not_editable(
    browser, runs_server
) -> None:
    store = store_of(runs_server)
    job_id = store.create("tabular-mlp", {}, "anonymous", name="tokyo run")
    store.finish(job_id, SUCCEEDED)
    theirs = store.create("tabular-mlp", {}, "somebody-else", name="theirs to keep")
    store.finish(theirs, SUCCEEDED)
    with store.engine.begin() as conn:
        at = datetime(2026, 1, 2, 3, 4, 5)
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(created_at=at))
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-US")
    page = context.new_page()
    try:
        page.goto(runs_server.url("/training"))
        page.fill(f"#{Training.RUNS_QUICK}", "tokyo run")
        row = page.locator(f"{RUNS} [row-index='0']")
        # Stored 2026-01-02 03:04:05 UTC: 12:04:05 in Tokyo.
        expect(row.locator("[col-id='created_at']")).to_have_text("01/02/2026, 12:04:05 PM")
        page.fill(f"#{Training.RUNS_QUICK}", "theirs to keep")
        expect(page.locator(f"#{Training.RUNS_COUNT}")).to_have_text("1 run")
        expect(row.locator("[col-id='name']")).to_have_text("theirs to keep")
        row.locator("[col-id='name']").dblclick()
        expect(page.locator(f"{RUNS} .ag-cell-inline-editing")).to_have_count(0)
    finally:
        context.close()
