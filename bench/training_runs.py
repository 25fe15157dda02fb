"""The runs table's figure (issue 14), against a baseline measured in the same run.

    .venv/bin/python bench/training.py --runs-table

Prints:
  5. the runs table's first page over 10,000 jobs in headless Chromium, from the page
     showing to its first rows (baseline: the first server callback of the same page load).
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from grid import start_server  # noqa: E402
from training import p50  # noqa: E402

from components.ids import Training  # noqa: E402
from tests.conftest import CHROMIUM_ARGS  # noqa: E402


def seed_jobs(state_url: str, count: int) -> None:
    """``count`` ended jobs of three trainers and four users, each with final metrics."""

    from sqlalchemy import insert

    from dashapp.db import make_engine
    from dashapp.migrations import upgrade
    from jobs.schema import job_final_metrics, jobs

    engine = make_engine(state_url)
    upgrade(engine)
    rnd = random.Random(7)
    start = datetime(2026, 1, 1)
    rows, finals = [], []
    for i in range(count):
        at = start + timedelta(minutes=7 * i)
        job_id = f"{i:032x}"
        rows.append(
            {
                "id": job_id,
                "trainer": ("shapes-cnn", "tabular-mlp", "team-model")[i % 3],
                "params": "{}",
                "user": ("alice", "bob", "carol", "dave")[i % 4],
                "status": ("succeeded", "failed", "cancelled", "succeeded")[i % 4],
                "created_at": at,
                "started_at": at,
                "finished_at": at + timedelta(seconds=rnd.randint(20, 900)),
                "progress": '{"percent": 100.0}',
                "cancel_requested": False,
                "revision": 3,
                "name": f"run {i}",
                "tags": ",bench," if i % 5 == 0 else "",
            }
        )
        for name in ("train_loss", "val_loss", "val_accuracy"):
            finals.append({"job_id": job_id, "name": name, "step": 100, "value": rnd.random()})
    with engine.begin() as conn:
        conn.execute(insert(jobs), rows)
        conn.execute(insert(job_final_metrics), finals)
    engine.dispose()


MARKS = """
window.__marks = {};
new MutationObserver(() => {
  const m = window.__marks, now = performance.now();
  if (!m.shown && document.getElementById('training-start')) m.shown = now;
  const header = document.getElementById('training-header');
  if (!m.callback && header && header.textContent.includes('Start a job')) m.callback = now;
  if (!m.rows && document.querySelector('#training-runs .ag-row a.job-link')) m.rows = now;
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


def runs_table_first_page(repeat: int, count: int = 10_000) -> None:
    """Figure 5: opening /training with ``count`` jobs stored -> the runs table's first rows."""
    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp())
    seed_jobs(f"sqlite:///{data / 'state.sqlite'}", count)
    proc, base = start_server(
        "", 8794, workers=2, DASHAPP_DEMO_ROWS="5000", DASHAPP_DATA_DIR=str(data)
    )
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            rows, callbacks = [], []
            for i in range(repeat + 1):
                page = browser.new_page()
                page.add_init_script(MARKS)
                page.goto(base + "/training", wait_until="commit")
                page.wait_for_function(
                    "() => window.__marks && window.__marks.rows && window.__marks.callback",
                    timeout=60_000,
                )
                marks = page.evaluate("window.__marks")
                said = page.inner_text(f"#{Training.RUNS_COUNT}")
                assert said == f"{count:,} runs", said
                if i:  # the first load warms the server and the browser's cache up
                    rows.append(marks["rows"] - marks["shown"])
                    callbacks.append(marks["callback"] - marks["shown"])
                page.close()
            browser.close()
        print(f"5. runs table, {count:,} jobs stored, headless Chromium (p50 of {repeat})")
        print(
            f"   page shows -> first server callback answered (baseline) {p50(callbacks):6.0f} ms"
        )
        print(
            f"   page shows -> first rows of the runs table          {p50(rows):6.0f} ms"
            f"  ratio {p50(rows) / p50(callbacks):.2f}  (target < 1000 ms)"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except Exception:
            proc.kill()
