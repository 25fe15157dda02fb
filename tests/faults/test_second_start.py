"""Starting a second job while the first runs never stops the first (the page launches both)."""

from __future__ import annotations

import re
import time

from components.ids import Training
from dashapp.db import make_engine
from jobs.store import SUCCEEDED, JobStore
from tests.browser.test_training import param
from tests.conftest import LiveServer


def test_fs001_a_second_start_leaves_the_first_job_running(page, live_server: LiveServer) -> None:
    page.goto(live_server.url("/training"))
    param(page, "epochs").fill("3")
    param(page, "samples").fill("2000")
    page.click(f"#{Training.START}")
    page.wait_for_function(
        "id => /running/.test(document.querySelector(`#${id}`)?.textContent || '')",
        arg=Training.PANEL,
        timeout=60_000,
    )
    first = re.search(r"Job ([0-9a-f]{8})", page.inner_text(f"#{Training.PANEL}")).group(1)
    page.click(f"#{Training.START}")  # the same form again, while the first job trains
    page.wait_for_function(
        "([id, first]) => { const m = /Job ([0-9a-f]{8})/.exec("
        "document.querySelector(`#${id}`)?.textContent || ''); return m && m[1] !== first; }",
        arg=[Training.PANEL, first],
        timeout=60_000,
    )
    store = JobStore(make_engine(f"sqlite:///{live_server.log.parent / 'state.sqlite'}"))
    try:
        job = next(j for j in store.list_jobs(limit=50) if j.id.startswith(first))
        deadline = time.monotonic() + 180
        while not job.done and time.monotonic() < deadline:
            time.sleep(0.5)
            job = store.get(job.id)
        assert job.status == SUCCEEDED, (job.status, job.error)
    finally:
        store.engine.dispose()
