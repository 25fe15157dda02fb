"""Real training jobs in their own process: success, artifacts, failure, cancel, lost worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from dashapp.db import make_engine
from dashapp.migrations import upgrade
from jobs.runner import mark_lost, start_process
from jobs.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, JobStore

TINY = {"epochs": 2, "samples": 240, "batch_size": 32}


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    upgrade(engine)
    return JobStore(engine)


def state_url(store: JobStore) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def wait_for(store: JobStore, job_id: str, statuses: tuple[str, ...], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get(job_id)
        if job and job.status in statuses:
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {statuses}: {store.get(job_id)}")


def test_jr001_a_real_job_trains_and_leaves_artifacts(store: JobStore, tmp_path: Path) -> None:
    import torch

    job_id = store.create("shapes-cnn", TINY, user="alice")
    proc = start_process(state_url(store), tmp_path, job_id)
    assert proc.wait(180) == 0, (tmp_path / "artifacts" / job_id / "process.log").read_text()
    job = store.get(job_id)
    assert job is not None
    assert job.status == SUCCEEDED
    assert job.device == "cpu"
    assert job.progress["percent"] == 100.0
    assert job.started_at <= job.finished_at
    metrics = store.metrics(job_id)
    assert [s for s, _ in metrics["val_accuracy"]] == sorted(s for s, _ in metrics["val_accuracy"])
    assert len(metrics["val_accuracy"]) == 2
    assert metrics["train_loss"]
    arts = store.artifacts(job_id)
    assert [a["name"] for a in arts] == [
        "predictions epoch 1",
        "confusion matrix epoch 1",
        "predictions epoch 2",
        "confusion matrix epoch 2",
    ]
    for art in arts:
        with Image.open(art["path"]) as img:
            assert img.format == "PNG"
            assert img.width > 100
    weights = torch.load(job.weights_path, weights_only=True)
    assert weights["0.weight"].shape == (16, 1, 3, 3)
    assert any("epoch 2/2" in line for line in store.logs(job_id))


def test_jr002_invalid_stored_parameters_fail_with_a_message(
    store: JobStore, tmp_path: Path
) -> None:
    job_id = store.create("shapes-cnn", {"epochs": 0}, user="bob")
    assert start_process(state_url(store), tmp_path, job_id).wait(60) == 1
    job = store.get(job_id)
    assert job.status == FAILED
    assert job.error == "invalid parameters: epochs: must be at least 1"


def test_jr003_cancel_stops_and_keeps_what_was_made(store: JobStore, tmp_path: Path) -> None:
    job_id = store.create("shapes-cnn", {"epochs": 50, "samples": 3000}, user="carol")
    proc = start_process(state_url(store), tmp_path, job_id)
    wait_for(store, job_id, (RUNNING,))
    deadline = time.monotonic() + 120
    while not store.artifacts(job_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.request_cancel(job_id) is True
    wait_for(store, job_id, (CANCELLED,), timeout=10)  # bench/training.py times it
    proc.wait(10)
    assert store.artifacts(job_id)  # kept


def test_jr004_a_killed_job_is_marked_lost(store: JobStore, tmp_path: Path) -> None:
    job_id = store.create("shapes-cnn", {"epochs": 50, "samples": 3000}, user="dan")
    proc = start_process(state_url(store), tmp_path, job_id)
    wait_for(store, job_id, (RUNNING,))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert mark_lost(store) == [job_id]
    job = store.get(job_id)
    assert job.status == FAILED
    assert job.error.startswith("worker lost")
    assert mark_lost(store) == []


def test_jr005_queued_job_cancels_at_once(store: JobStore) -> None:
    job_id = store.create("shapes-cnn", {}, user="erin")
    assert store.request_cancel(job_id) is True
    assert store.get(job_id).status == CANCELLED
    assert store.request_cancel(job_id) is False


def test_jr006_a_trainer_that_raises_ends_failed_with_its_error(
    store: JobStore, tmp_path: Path
) -> None:
    from jobs import registry
    from jobs.params import Param
    from jobs.runner import run_job

    def broken(rep, p) -> None:
        rep.progress(1, 2)
        raise RuntimeError("loss became NaN at step 1")

    registry.register(
        registry.Trainer("broken-test", "Broken", "Raises.", (Param("x", "int", 1, "x"),), broken)
    )
    job_id = store.create("broken-test", {}, user="f")
    assert run_job(store, tmp_path, job_id) == FAILED
    job = store.get(job_id)
    assert job.error == "RuntimeError: loss became NaN at step 1"
    assert "Traceback" in job.traceback
    assert "raise RuntimeError" in job.traceback


def test_jr007_jobs_beyond_the_limit_wait_queued_and_start_in_order(
    store: JobStore, tmp_path: Path
) -> None:
    import threading

    from jobs.runner import wait_and_run

    ids = [store.create("shapes-cnn", {"epochs": 1, "samples": 300}, user="g") for _ in range(3)]
    results: dict[str, str] = {}
    threads = [
        threading.Thread(
            target=lambda j=j: results.__setitem__(
                j, wait_and_run(store, tmp_path, j, 1, poll_s=0.05)
            )
        )
        for j in reversed(ids)  # launched newest first: order must still follow creation
    ]
    for t in threads:
        t.start()
    seen_running: list[str] = []
    deadline = time.monotonic() + 180
    while len(results) < 3 and time.monotonic() < deadline:
        running = [j.id for j in store.list_jobs(status=RUNNING)]
        assert len(running) <= 1  # the limit holds
        for j in running:
            if j not in seen_running:
                seen_running.append(j)
        time.sleep(0.02)
    for t in threads:
        t.join(30)
    assert results == dict.fromkeys(ids, SUCCEEDED)
    assert seen_running == ids  # started in the order they were created
    starts = [store.get(j).started_at for j in ids]
    assert starts == sorted(starts)


def test_jr009_a_killed_process_waiting_in_the_queue_is_marked_lost(
    store: JobStore, tmp_path: Path
) -> None:
    busy = store.create("shapes-cnn", {}, user="slot")
    assert store.claim(busy, 1, os.getpid())  # the one slot is taken (by this test process)
    job_id = store.create("shapes-cnn", {}, user="frank")
    proc = start_process(state_url(store), tmp_path, job_id, max_running=1)
    deadline = time.monotonic() + 60
    while store.get(job_id).heartbeat_at is None:
        assert time.monotonic() < deadline, "the waiting job never beat"
        time.sleep(0.1)
    assert store.get(job_id).status == QUEUED
    assert mark_lost(store) == []  # waiting, alive: not lost
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert mark_lost(store) == [job_id]
    assert store.get(job_id).error.startswith("worker lost")
    store.finish(busy, CANCELLED)
