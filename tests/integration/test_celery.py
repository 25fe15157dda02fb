"""Training jobs through Dash's CeleryManager on the local Redis, run by a real Celery worker."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.ids import Training
from dashapp.app import deps_of
from dashapp.settings import Settings
from jobs.store import CANCELLED, RUNNING, SUCCEEDED
from tests.conftest import ROOT, SMALL_DEMO_ROWS, skip_or_fail

REDIS = "redis://127.0.0.1:6379"


@pytest.fixture
def celery_settings(tmp_path: Path) -> Settings:
    """Settings with a broker on a Redis database of its own (runs may share the server)."""
    import redis

    db = random.randint(1, 15)
    try:
        redis.Redis.from_url(f"{REDIS}/{db}").ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail(f"Redis is not reachable at {REDIS}")
    return Settings(
        data_dir=tmp_path / "data",
        demo_rows=SMALL_DEMO_ROWS,
        celery_broker=f"{REDIS}/{db}",
        secret_key="ce-nodes-share-this-key",  # several nodes: one key, or no start
    )


@pytest.fixture
def worker(celery_settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``celery -A dashapp.worker:celery worker``, as the README says, in its own process."""
    from dashapp.app import create_app

    create_app(celery_settings)  # prepare the data directory before the worker starts
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")}
    env |= {
        "DASHAPP_DATA_DIR": str(celery_settings.data_dir),
        "DASHAPP_DEMO_ROWS": str(SMALL_DEMO_ROWS),
        "DASHAPP_CELERY_BROKER": celery_settings.celery_broker,
        "DASHAPP_SECRET_KEY": celery_settings.secret_key,
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "dashapp.worker:celery",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the Celery worker did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.2)
    yield proc
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def launch_body(job_id: str) -> dict:
    """The request the browser sends when a job's launch store appears."""
    pattern = json.dumps({"job": ["MATCH"], "type": "training-launch-done"}, separators=(",", ":"))
    return {
        "output": f"{pattern}.data",
        "outputs": {"id": Training.launch_done(job_id), "property": "data"},
        "inputs": [
            {
                "id": Training.launch(job_id),
                "property": "data",
                "value": {"job": job_id, "nonce": job_id},
            }
        ],
        "state": [],
        "changedPropIds": [],
    }


def test_ce001_a_job_runs_on_a_celery_worker_end_to_end(celery_settings, worker) -> None:
    from dashapp.app import create_app

    app = create_app(celery_settings)
    assert type(app._background_manager).__name__ == "CeleryManager"
    client = app.server.test_client()
    store = deps_of(app).job_store
    job_id = store.create("shapes-cnn", {"epochs": 1, "samples": 200}, user="ce001")
    body = launch_body(job_id)
    first = client.post("/_dash-update-component", json=body)
    assert first.status_code == 200, first.data[:300]
    handle = first.get_json()
    deadline = time.monotonic() + 150
    result = None
    while time.monotonic() < deadline:
        resp = client.post(
            f"/_dash-update-component?cacheKey={handle['cacheKey']}&job={handle['job']}",
            json=body,
        )
        result = resp.get_json() if resp.status_code == 200 else None
        if result and result.get("response"):
            break
        time.sleep(0.5)
    out_id = json.dumps(Training.launch_done(job_id), sort_keys=True, separators=(",", ":"))
    assert result["response"][out_id]["data"] == SUCCEEDED
    job = store.get(job_id)
    assert job.status == SUCCEEDED
    assert job.device in ("cpu", "cuda") or job.device.startswith("cuda")
    # Progress, metrics and artifacts went through the shared state database.
    assert job.progress["percent"] == 100
    assert store.metrics(job_id)
    arts = store.artifacts(job_id)
    assert arts
    png = client.get(f"/jobs/{job_id}/artifacts/{arts[0]['id']}")
    assert png.status_code == 200
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    weights = client.get(f"/jobs/{job_id}/model.pt")
    assert weights.status_code == 200
    assert len(weights.data) > 1000


def test_ce002_cancel_reaches_a_job_on_a_celery_worker(celery_settings, worker) -> None:
    from dashapp.app import create_app

    app = create_app(celery_settings)
    client = app.server.test_client()
    store = deps_of(app).job_store
    job_id = store.create("shapes-cnn", {"epochs": 30, "samples": 2000}, user="ce002")
    assert client.post("/_dash-update-component", json=launch_body(job_id)).status_code == 200
    deadline = time.monotonic() + 90
    while store.get(job_id).status != RUNNING or not store.get(job_id).progress:
        assert time.monotonic() < deadline, "the job never started on the worker"
        time.sleep(0.3)
    store.request_cancel(job_id)
    t0 = time.monotonic()
    while store.get(job_id).status == RUNNING and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    # (How fast: bench/training.py measures it; here only that it stops, and stays stopped.)
    assert store.get(job_id).status == CANCELLED
