"""Training page figures (issue 4), each against a baseline measured in the same run.

    .venv/bin/python bench/training.py

Prints:
  0. wall time of the image trainer with full reporting (progress, metrics, log, artifacts)
     (baseline: the same training loop with reporting off);
  1. time from the Start click to the first progress shown, in headless Chromium
     (baseline: a plain callback round trip on the same page, the jobs-list filter);
  2. server time of one progress poll while 2 jobs run
     (baseline: the same poll with no job running).

``--api``: only the jobs API figures, against gunicorn (2 workers):
  3. POST api/jobs -> first progress readable through GET api/jobs/<id>
     (baseline: one GET api/jobs/<id> round trip);
  4. GET api/jobs, one page of 50 out of 10,000 jobs (newest first, filtered, searched,
     sorted by a metric, the last page), on SQLite and on PostgreSQL
     (baseline: GET api/trainers, an API round trip that reads no database).

``--runs-table``: only the runs table figure (bench/training_runs.py):
  5. the runs table's first page over 10,000 jobs in headless Chromium, from the page
     showing to its first rows (baseline: the first server callback of the same page load).
"""

from __future__ import annotations

import base64
import json
import random
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from grid import start_server  # noqa: E402

from components.ids import Training  # noqa: E402
from dashapp.app import deps_of  # noqa: E402
from tests.callbacks.helpers import build_payload  # noqa: E402
from tests.conftest import CHROMIUM_ARGS  # noqa: E402


def p50(xs: list[float]) -> float:
    """Median."""
    return statistics.median(xs)


def reporting_overhead(repeat: int) -> None:
    """Figure 0: the image trainer with full reporting vs the same loop with reporting off."""
    from dashapp.db import make_engine
    from dashapp.migrations import upgrade
    from jobs import registry
    from jobs.params import validate
    from jobs.reporter import Reporter, SilentReporter
    from jobs.store import JobStore

    trainer = registry.get("shapes-cnn")
    params, errors = validate(trainer.params, {})
    assert not errors
    with tempfile.TemporaryDirectory() as tmp:
        store = JobStore(make_engine(f"sqlite:///{tmp}/state.sqlite"))
        upgrade(store.engine)
        on, off = [], []
        for i in range(repeat):
            for silent in (False, True) if i % 2 else (True, False):
                t0 = time.perf_counter()
                if silent:
                    trainer.train(SilentReporter(), dict(params))
                    off.append(time.perf_counter() - t0)
                else:
                    job_id = store.create("shapes-cnn", params, "bench")
                    trainer.train(Reporter(store, job_id, Path(tmp) / job_id), dict(params))
                    on.append(time.perf_counter() - t0)
        arts = len(store.artifacts(job_id))
    print(f"0. image trainer (default parameters), wall time, median of {repeat}")
    print(f"   reporting off (baseline)                       {p50(off):6.2f} s")
    print(
        f"   full progress, metrics, log and {arts} artifacts    {p50(on):6.2f} s  ratio {p50(on) / p50(off):.3f}  (target <= 1.05)"
    )


def cancel_latency(repeat: int) -> None:
    """Figure 0b: Cancel request -> job marked cancelled (its process stopped), real jobs."""
    from dashapp.db import make_engine
    from dashapp.migrations import upgrade
    from jobs.runner import start_process
    from jobs.store import CANCELLED, RUNNING, JobStore

    times, polls = [], []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/state.sqlite"
        store = JobStore(make_engine(url))
        upgrade(store.engine)
        for _ in range(repeat):
            job_id = store.create("shapes-cnn", {"epochs": 50, "samples": 3000}, "bench")
            proc = start_process(url, Path(tmp), job_id)
            while not (store.get(job_id).status == RUNNING and store.artifacts(job_id)):
                time.sleep(0.05)
            t0 = time.perf_counter()
            store.get(job_id)
            polls.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            store.request_cancel(job_id)
            while store.get(job_id).status != CANCELLED:
                time.sleep(0.01)
            times.append(time.perf_counter() - t0)
            proc.wait(30)
    print(f"0b. Cancel -> job cancelled, a training job mid-epoch (p50 of {repeat})")
    print(f"   one state read (baseline)                      {p50(polls) * 1000:6.1f} ms")
    print(
        f"   cancel requested -> status cancelled           {p50(times) * 1000:6.0f} ms  (target < 2000 ms)"
    )


def click_to_progress(repeat: int) -> None:
    """Figure 1."""
    from playwright.sync_api import sync_playwright

    proc, base = start_server("", 8793, workers=2, DASHAPP_DEMO_ROWS="5000")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(base + "/training")
            page.wait_for_selector(f"#{Training.START}")
            dom = json.dumps(Training.param("epochs"), sort_keys=True, separators=(",", ":"))
            page.locator(f"[id='{dom}']").fill("1")
            starts, filters = [], []
            for i in range(repeat):
                # Baseline: a plain server callback (the status filter redraws the list).
                # (The list redraws when the filter changes: a server round trip.)
                page.click(f"#{Training.STATUS_FILTER}")
                option = page.get_by_role("option", name="cancelled" if i % 2 else "succeeded")
                t0 = time.perf_counter()
                with page.expect_response(lambda r: "_dash-update-component" in r.url):
                    option.click()
                filters.append((time.perf_counter() - t0) * 1000)
                before = page.evaluate(
                    "id => document.querySelector(`#${id} .font-monospace`)?.textContent || ''",
                    Training.PANEL,
                )
                t0 = time.perf_counter()
                page.click(f"#{Training.START}")
                # A header for a different job than before, with its bar past zero.
                page.wait_for_function(
                    "([id, before]) => { const t = document.querySelector(`#${id} .font-monospace`);"
                    " const b = document.querySelector(`#${id} .progress-bar`);"
                    " return t && b && t.textContent !== before && parseFloat(b.getAttribute('aria-valuenow')) > 0; }",
                    arg=[Training.PANEL, before],
                    timeout=30_000,
                )
                starts.append((time.perf_counter() - t0) * 1000)
                page.wait_for_function(
                    "id => document.querySelector(`#${id} .badge`)?.textContent === 'succeeded'",
                    arg=Training.PANEL,
                    timeout=120_000,
                )
            browser.close()
        print("1. Start click -> first progress shown, headless Chromium (p50)")
        print(f"   plain callback round trip (baseline) {p50(filters):7.0f} ms")
        print(
            f"   start -> progress visible            {p50(starts):7.0f} ms  ratio {p50(starts) / p50(filters):.1f}  (target < 2000 ms)"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except Exception:
            proc.kill()


def poll_time(repeat: int) -> None:
    """Figure 2: the panel poll, in-process, idle and with two jobs running."""
    from dashapp.app import create_app
    from dashapp.settings import Settings
    from jobs.runner import start_process

    data = Path(tempfile.mkdtemp())
    settings = Settings(data_dir=data, demo_rows=5_000)
    app = create_app(settings)
    client = app.server.test_client()
    store = deps_of(app).job_store
    deps = client.get("/_dash-dependencies").get_json()
    watched = store.create("shapes-cnn", {"epochs": 1, "samples": 200}, user="bench")
    start_process(settings.state_url, data, watched).wait(120)

    def poll(job_id: str) -> float:
        body = build_payload(
            deps,
            f"{Training.HEADER}.children",
            {
                f"{Training.TICK}.n_intervals": 1,
                f"{Training.CURRENT}.data": job_id,
                # No previous signature: the header is redrawn, as when progress moved.
                f"{Training.SIGNATURE}.data": None,
                f"{Training.REVISION}.data": None,
            },
        )
        t0 = time.perf_counter()
        resp = client.post(
            "/_dash-update-component", data=json.dumps(body), content_type="application/json"
        )
        dt = (time.perf_counter() - t0) * 1000
        assert resp.status_code == 200
        return dt

    idle = [poll(watched) for _ in range(repeat)]
    running: list[Any] = []
    for _ in range(2):
        job = store.create(
            "shapes-cnn", {"epochs": 50, "samples": 3000, "threads": 1}, user="bench"
        )
        running.append((job, start_process(settings.state_url, data, job)))
    deadline = time.monotonic() + 60
    while store.counts(("running",)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)
    busy_other = [poll(watched) for _ in range(repeat)]
    busy_live = [poll(running[0][0]) for _ in range(repeat)]
    for job, proc in running:
        store.request_cancel(job)
        proc.wait(30)
    print("2. server time of one progress poll (header redrawn, in-process, p50)")
    print(f"   no job running (baseline)        {p50(idle):6.1f} ms")
    print(
        f"   2 jobs running, finished job     {p50(busy_other):6.1f} ms  ratio {p50(busy_other) / p50(idle):.2f}"
    )
    print(
        f"   2 jobs running, a running job    {p50(busy_live):6.1f} ms  ratio {p50(busy_live) / p50(idle):.2f}  (target < 10 ms)"
    )


def http_json(
    method: str, url: str, body: Any = None, auth: str | None = None
) -> tuple[float, Any]:
    """Seconds one API call took, and its JSON answer (``auth``: Basic ``user:password``)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        answer = json.loads(resp.read())
    return time.perf_counter() - t0, answer


def api_start_to_progress(repeat: int) -> None:
    """Figure 3: a script starts a job and polls it until its first progress is readable."""
    proc, base = start_server("", 8794, workers=2, DASHAPP_DEMO_ROWS="5000")
    api = base + "/api/"
    try:
        firsts, gets = [], []
        for i in range(repeat + 1):  # the first round warms the server up
            t0 = time.perf_counter()
            _, job = http_json(
                "POST",
                api + "jobs",
                {"trainer": "shapes-cnn", "params": {"epochs": 1, "samples": 3000}},
            )
            while True:
                took, doc = http_json("GET", api + f"jobs/{job['id']}")
                gets.append(took)
                if (doc["progress"] or {}).get("step", 0) > 0:
                    break
                time.sleep(0.02)
            if i:
                firsts.append(time.perf_counter() - t0)
            http_json("POST", api + f"jobs/{job['id']}/cancel")
            while http_json("GET", api + f"jobs/{job['id']}")[1]["status"] not in (
                "cancelled",
                "succeeded",
                "failed",
            ):
                time.sleep(0.05)
        print(
            f"3. jobs API: POST api/jobs -> first progress read through the API (p50 of {repeat})"
        )
        print(f"   one GET api/jobs/<id> (baseline)         {p50(gets) * 1000:7.1f} ms")
        print(
            f"   start -> first progress readable         {p50(firsts) * 1000:7.0f} ms  ratio {p50(firsts) / p50(gets):.0f}  (target < 1500 ms)"
        )
    finally:
        proc.terminate()
        proc.wait(60)


def fill_jobs(state_url: str, count: int) -> None:
    """``count`` ended jobs of three trainers and eight users, each with two final metrics."""
    from sqlalchemy import text

    from dashapp.db import make_engine
    from jobs.schema import job_final_metrics, jobs

    rnd = random.Random(0)
    t0 = datetime(2025, 1, 1)
    rows, finals = [], []
    for n in range(count):
        job_id = uuid.uuid4().hex
        created = t0 + timedelta(minutes=n)
        rows.append(
            {
                "id": job_id,
                "trainer": rnd.choice(["shapes-cnn", "tabular-mlp", "team-model"]),
                "params": "{}",
                "user": f"user{rnd.randrange(8)}",
                "status": rnd.choice(["succeeded", "succeeded", "failed", "cancelled"]),
                "created_at": created,
                "started_at": created,
                "finished_at": created + timedelta(seconds=rnd.randrange(10, 5000)),
                "progress": json.dumps({"percent": 100.0}),
                "cancel_requested": False,
                "revision": 3,
                "name": f"run {n} lr={rnd.choice(['0.1', '0.01', '0.001'])}",
                "tags": rnd.choice(["", ",baseline,", ",sweep,lr,", ",ablation,"]),
            }
        )
        for metric in ("val_loss", "val_accuracy"):
            finals.append({"job_id": job_id, "name": metric, "step": 10, "value": rnd.random()})
    engine = make_engine(state_url)
    with engine.begin() as conn:
        conn.execute(jobs.insert(), rows)
        conn.execute(job_final_metrics.insert(), finals)
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of such a load (without statistics the
        # planner scans the final metrics for every page).
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()


def api_list(repeat: int, count: int = 10_000) -> None:
    """Figure 4: one page of GET api/jobs over ``count`` jobs, SQLite and PostgreSQL state."""
    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    from dashapp.db import make_engine
    from tests.conftest import TEST_SECRET_KEY

    pages = {
        "first page (newest)": "jobs?limit=50",
        "status=failed": "jobs?limit=50&status=failed",
        "q=baseline (quick search)": "jobs?limit=50&q=baseline",
        "sort=metric:val_accuracy": "jobs?limit=50&sort=metric:val_accuracy",
        "last page (offset 9950)": f"jobs?limit=50&offset={count - 50}",
    }
    pg_server = "postgresql://postgres@127.0.0.1:5432/postgres"
    admin = make_engine(pg_server, isolation_level="AUTOCOMMIT")
    name = f"dashapp_bench_jobs_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        data = tempfile.mkdtemp()
        for label, state in (
            ("SQLite", f"sqlite:///{data}/state.sqlite"),
            ("PostgreSQL", f"postgresql://postgres@127.0.0.1:5432/{name}"),
        ):
            # An admin, who sees all 10,000 jobs (a user sees their own: an indexed subset).
            proc, base = start_server(
                "",
                8795,
                workers=2,
                DASHAPP_DEMO_ROWS="5000",
                DASHAPP_STATE_URL=state,
                DASHAPP_SECRET_KEY=TEST_SECRET_KEY,
                DASHAPP_USERS=f"root:{generate_password_hash('pw', method='pbkdf2:sha256:1000')}",
                DASHAPP_ADMINS="root",
            )
            try:
                fill_jobs(state, count)
                api = base + "/api/"
                for _ in range(5):  # warm both workers up
                    http_json("GET", api + "jobs?limit=50", auth="root:pw")
                baseline = [
                    http_json("GET", api + "trainers", auth="root:pw")[0] for _ in range(repeat)
                ]
                print(
                    f"4. GET api/jobs, one page of 50 of {count:,} jobs, {label} state (p50 of {repeat})"
                )
                print(f"   GET api/trainers (baseline)              {p50(baseline) * 1000:6.1f} ms")
                for what, path in pages.items():
                    times = []
                    for _ in range(repeat):
                        took, answer = http_json("GET", api + path, auth="root:pw")
                        times.append(took)
                    assert len(answer["jobs"]) == 50, answer["total"]
                    print(
                        f"   {what:<40} {p50(times) * 1000:6.1f} ms  ratio {p50(times) / p50(baseline):.1f}  (target < 50 ms)"
                    )
            finally:
                proc.terminate()
                proc.wait(60)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    if "--runs-table" in sys.argv[1:]:
        from training_runs import runs_table_first_page

        runs_table_first_page(7)
        raise SystemExit(0)
    if "--api" in sys.argv[1:]:
        api_list(30)
        api_start_to_progress(9)
        raise SystemExit(0)
    reporting_overhead(5)
    cancel_latency(5)
    poll_time(40)
    click_to_progress(7)
