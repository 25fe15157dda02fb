"""Jobs nobody runs never block the queue; jobs whose process died are swept with no page open."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from jobs.launches import launcher_of
from jobs.store import FAILED, QUEUED, RUNNING, SERVER, SUCCEEDED, WORKER, JobStore, now
from tests.conftest import free_port
from tests.faults.servers import Gunicorn, Page, state_store, wait_until
from tests.faults.test_restart import stop_jobs
from tests.integration import test_celery

TINY = {"epochs": 1, "samples": 200}
# A Celery worker on the local Redis, as tests/integration/test_celery.py starts it.
celery_settings, worker = test_celery.celery_settings, test_celery.worker


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data folder whose jobs are all stopped at the end."""
    folder = tmp_path / "data"
    yield folder
    stop_jobs(state_store(folder))


def test_fo001_an_orphaned_queued_job_does_not_block_a_later_one(data_dir: Path) -> None:
    server = Gunicorn(data_dir, free_port(), DASHAPP_MAX_JOBS="1")
    server.start()
    try:
        store = state_store(data_dir)
        page = Page(server)
        # Start is clicked, then the tab is closed before its launch request is sent.
        orphan = page.start(**TINY)
        later = page.start(**TINY)
        page.launch(later)
        page.close()
        wait_until("the later job runs to its end", lambda: finished(store, later))
        assert store.get(later).status == SUCCEEDED
        # The orphan was launched by the server itself (and ran), or failed saying why.
        wait_until("the orphan is taken care of", lambda: finished(store, orphan))
        job = store.get(orphan)
        assert job.status == SUCCEEDED or (job.status == FAILED and job.error), job
        assert launcher_of(store, orphan) == SERVER
    finally:
        server.stop()


def finished(store: JobStore, job_id: str) -> bool:
    """Whether a job has ended."""
    job = store.get(job_id)
    return job is not None and job.done


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def crashed_job(store: JobStore, minutes_ago: float) -> str:
    """A job left ``running`` by a process that died (a crash, a power cut)."""
    job_id = store.create("shapes-cnn", TINY, "crash")
    beat = now() - timedelta(minutes=minutes_ago)
    store.update(
        job_id,
        status=RUNNING,
        started_at=beat,
        heartbeat_at=beat,
        pid=dead_pid(),
        host=socket.gethostname(),
    )
    return job_id


def test_fo002_stale_running_jobs_are_swept_at_start_up_and_on_a_timer(data_dir: Path) -> None:
    store = state_store(data_dir)
    before = crashed_job(store, minutes_ago=10)  # left by a server that crashed
    # One job slot only: the crashed job holds it until it is swept.
    server = Gunicorn(data_dir, free_port(), DASHAPP_MAX_JOBS="1")
    server.start()  # nothing but /healthz is asked: no job page is ever opened
    try:
        wait_until("the crashed job is marked failed", lambda: finished(store, before))
        job = store.get(before)
        assert job.status == FAILED
        assert job.error.startswith("worker lost")
        during = crashed_job(store, minutes_ago=0)  # its process died while the server runs
        wait_until("the dead job is marked failed", lambda: finished(store, during))
        assert store.get(during).error.startswith("worker lost")
        # A queued job left without a launcher (no page ever asks for it) runs anyway.
        queued = store.create("shapes-cnn", TINY, "nobody")
        assert store.get(queued).status == QUEUED
        wait_until("the queued job runs to its end", lambda: finished(store, queued))
        assert store.get(queued).status == SUCCEEDED
        assert os.path.exists(data_dir / "artifacts" / queued / "model.pt")
    finally:
        server.stop()


@pytest.mark.usefixtures("worker")
def test_fo003_with_celery_an_orphan_is_handed_to_a_worker(request: pytest.FixtureRequest) -> None:
    from dashapp.app import create_app, deps_of

    app = create_app(
        request.getfixturevalue("celery_settings")
    )  # its sweeper hands orphans to Celery
    try:
        store = deps_of(app).job_store
        orphan = store.create("shapes-cnn", TINY, "gone")  # no page ever launches it
        wait_until("the orphan runs on the worker", lambda: finished(store, orphan), timeout=150)
        assert store.get(orphan).status == SUCCEEDED
        assert launcher_of(store, orphan) == WORKER
    finally:
        deps_of(app).dispose()
