"""Production figures (issue 6): the app under gunicorn with 4 workers, 16 concurrent clients.

    .venv/bin/python bench/production.py [--seconds 30]

Prints, measured in one run on loopback against the demo database (1,000,000 events):
  1. grid block callbacks (100 rows at a random depth, sorted) from 16 concurrent clients:
     requests per second divided by a bare Flask endpoint running the same SQL under the
     same gunicorn configuration (bench/bare_app.py) (target >= 0.7), and errors (target 0);
  2. the same load while a training job runs: errors (target 0) and p99 latency.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.callbacks.helpers import build_payload  # noqa: E402

CLIENTS = 16
WORKERS = "4"
SORTED = [{"colId": "occurred_at", "sort": "asc"}]
ROWS = 1_000_000


def serve(argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """Start a gunicorn and wait until it answers."""
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except urllib.error.HTTPError:
            return proc  # the bare app has no /healthz: a 404 means it is up
        except Exception:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def client(args: tuple[str, int, float, Any, int]) -> tuple[int, int, list[float]]:
    """One client: requests back to back on a keep-alive connection for ``seconds``."""
    kind, port, seconds, payload, seed = args
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ok = errors = 0
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = rnd.randrange(0, ROWS - 100)
        t0 = time.perf_counter()
        try:
            if kind == "app":
                body = json.loads(payload)
                body["inputs"][0]["value"] = {
                    "startRow": start,
                    "endRow": start + 100,
                    "sortModel": SORTED,
                    "filterModel": {},
                    "context": {"table": "main.events"},  # the grid names its table
                }
                conn.request(
                    "POST",
                    "/_dash-update-component",
                    json.dumps(body),
                    {"Content-Type": "application/json"},
                )
            else:
                conn.request("GET", f"/block?start={start}")
            resp = conn.getresponse()
            data = resp.read()
            # A block with rows in it (an empty block, e.g. of no table, is not an answer).
            good = resp.status == 200 and (kind != "app" or b'"rowData":[{' in data)
        except Exception:
            good = False
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append(time.perf_counter() - t0)
        if good:
            ok += 1
        else:
            errors += 1
    conn.close()
    return ok, errors, latencies


def load(kind: str, port: int, seconds: float, payload: str = "") -> dict[str, float]:
    """16 clients in their own processes (no shared GIL) for ``seconds``."""
    with multiprocessing.Pool(CLIENTS) as pool:
        results = pool.map(client, [(kind, port, seconds, payload, i) for i in range(CLIENTS)])
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    lat = sorted(x for r in results for x in r[2])
    return {
        "rps": ok / seconds,
        "errors": errors,
        "p50": statistics.median(lat) * 1000,
        "p99": lat[int(len(lat) * 0.99) - 1] * 1000,
    }


def main() -> None:
    """Print the two figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    seconds = parser.parse_args().seconds
    data = tempfile.mkdtemp()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")},
        "DASHAPP_DATA_DIR": data,
        "DASHAPP_WORKERS": WORKERS,
        "DASHAPP_DEMO_ROWS": str(ROWS),
        "DASHAPP_LOG_LEVEL": "warning",
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    app_port, bare_port = 8795, 8796
    app = serve(
        [sys.executable, "-m", "dashapp.cli", "run"],
        {**env, "DASHAPP_PORT": str(app_port)},
        app_port,
    )
    bare = serve(
        [
            gunicorn,
            "-c",
            "python:dashapp.gunicorn_conf",
            "--pythonpath",
            str(ROOT / "bench"),
            "bare_app:app",
        ],
        {**env, "DASHAPP_PORT": str(bare_port)},
        bare_port,
    )
    try:
        deps = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{app_port}/_dash-dependencies").read()
        )
        body = build_payload(
            deps,
            "data-grid.getRowsResponse",
            {
                "data-grid.getRowsRequest": {"context": {"table": "main.events"}},
                "data-quick.value": "",
            },
        )
        payload = json.dumps(body)
        load("app", app_port, 3, payload)  # warm up both (reflection, counts, page cache)
        load("bare", bare_port, 3)
        bare_r = load("bare", bare_port, seconds)
        app_r = load("app", app_port, seconds, payload)
        print(
            f"1. grid block requests, {CLIENTS} concurrent clients, {seconds:.0f} s each, gunicorn {WORKERS} workers"
        )
        print(
            f"   bare Flask + same SQL (baseline) {bare_r['rps']:7.0f} req/s  p50 {bare_r['p50']:6.1f} ms  p99 {bare_r['p99']:6.1f} ms  errors {bare_r['errors']}"
        )
        print(
            f"   dashapp grid callback            {app_r['rps']:7.0f} req/s  p50 {app_r['p50']:6.1f} ms  p99 {app_r['p99']:6.1f} ms  errors {app_r['errors']}"
        )
        print(f"   ratio {app_r['rps'] / bare_r['rps']:.2f}  (target >= 0.7, 0 errors)")

        from dashapp.db import make_engine
        from dashapp.migrations import upgrade
        from jobs.runner import start_process
        from jobs.store import RUNNING, JobStore

        state_url = f"sqlite:///{data}/state.sqlite"
        store = JobStore(make_engine(state_url))
        upgrade(store.engine)
        job_id = store.create("shapes-cnn", {"epochs": 50, "samples": 5000}, "bench")
        job = start_process(state_url, Path(data), job_id)
        while store.get(job_id).status != RUNNING:
            time.sleep(0.1)
        busy = load("app", app_port, seconds, payload)
        still = store.get(job_id).status
        store.request_cancel(job_id)
        job.wait(30)
        print(f"2. the same load while a training job runs (it was {still} throughout)")
        print(
            f"   dashapp grid callback            {busy['rps']:7.0f} req/s  p50 {busy['p50']:6.1f} ms  p99 {busy['p99']:6.1f} ms  errors {busy['errors']}  (target 0 errors)"
        )
    finally:
        for proc in (app, bare):
            proc.terminate()
            proc.wait(60)


if __name__ == "__main__":
    main()
