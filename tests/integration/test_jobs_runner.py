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


# --- the server's side: orphans, the queue, lost launches, clean processes (issue 17) ----


def test_jr010_a_queued_job_nobody_runs_does_not_hold_the_queue(store: JobStore) -> None:
    from datetime import timedelta

    from jobs.store import now

    orphan = store.create("shapes-cnn", {}, user="gone")  # Start posted, the tab closed
    store.update(orphan, created_at=now() - timedelta(minutes=5))
    waiting = store.create("shapes-cnn", {}, user="w")
    store.update(waiting, created_at=now() - timedelta(minutes=1), heartbeat_at=now(), pid=1)
    later = store.create("shapes-cnn", {}, user="later")
    assert not store.claim(later, 2, os.getpid())  # a job whose process waits goes first
    assert store.claim(waiting, 2, os.getpid())  # ... and the orphan does not stop it
    assert store.claim(later, 2, os.getpid())
    assert store.get(orphan).status == QUEUED


def test_jr011_the_server_launches_an_orphan_detached_and_reaps_it(
    store: JobStore, tmp_path: Path
) -> None:
    import socket as socketlib

    from jobs.launcher import Launcher, RunnerArgs
    from jobs.launches import launcher_of
    from jobs.store import SERVER

    listener = socketlib.create_server(("127.0.0.1", 0))  # the server's listening socket
    listener.set_inheritable(True)  # even an inheritable one must not reach the job
    try:
        job_id = store.create("shapes-cnn", TINY, user="orphan")
        launcher = Launcher(RunnerArgs(state_url(store), tmp_path, "", 1), grace_s=0)
        assert launcher.launch_orphans(store) == [job_id]
        assert launcher_of(store, job_id) == SERVER
        assert launcher.launch_orphans(store) == []  # taken once only
        pid = store.get(job_id).pid
        assert os.getsid(pid) == pid  # a session of its own: the server's signals miss it
        assert socket_fds(pid) == [], "the job's process holds sockets"
        wait_for(store, job_id, (SUCCEEDED,), timeout=180)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not Path(f"/proc/{pid}").exists()  # reaped, not left a zombie
    finally:
        listener.close()


def socket_fds(pid: int) -> list[str]:
    """The sockets process ``pid`` has open (descriptors closed while listing are skipped)."""
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.append(os.readlink(fd))
        except FileNotFoundError:  # closed meanwhile (a starting interpreter opens many)
            continue
    return [link for link in links if link.startswith("socket:")]


def test_jr012_a_fork_lets_go_of_the_server_sockets(tmp_path: Path) -> None:
    import socket as socketlib

    import multiprocess

    from jobs.launcher import release_inherited_sockets

    listener = socketlib.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = socketlib.create_connection(("127.0.0.1", port))
    conn, _ = listener.accept()  # a client connection the fork inherits

    def child(ready) -> None:
        """The background callback's first step, then a long life."""
        ready.send(release_inherited_sockets())
        time.sleep(60)  # still alive while the parent restarts

    here, there = multiprocess.Pipe(duplex=False)  # an os.pipe: no socket of its own
    proc = multiprocess.Process(target=child, args=(there,))  # as Dash's DiskcacheManager
    proc.start()
    try:
        assert here.poll(30)
        assert here.recv() >= 3  # the listener and both ends of the connection
        assert socket_fds(proc.pid) == []
        listener.close()
        conn.close()  # the server closes the connection: the client sees it at once
        client.settimeout(10)
        assert client.recv(1) == b""
        again = socketlib.create_server(("127.0.0.1", port))  # a restarted server binds
        again.close()
    finally:
        proc.kill()
        proc.join(10)
        client.close()


def test_jr013_a_job_that_cannot_start_is_failed_with_the_reason(
    store: JobStore, tmp_path: Path
) -> None:
    from jobs.runner import supervise

    (tmp_path / "artifacts").write_text("a file where the folder should be")
    job_id = store.create("shapes-cnn", TINY, user="u")
    assert supervise(state_url(store), tmp_path, job_id, "", 1) == FAILED
    job = store.get(job_id)
    assert job.error.startswith("the job could not be started: NotADirectoryError"), job.error
    assert supervise(state_url(store), tmp_path, job_id, "", 1) == FAILED  # taken once


def test_jr014_a_launched_job_whose_process_died_before_it_began_is_lost(
    store: JobStore, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from jobs.launches import take_launch
    from jobs.store import PAGE

    job_id = store.create("shapes-cnn", TINY, user="u")
    assert take_launch(store, job_id, PAGE)
    folder = tmp_path / "artifacts" / job_id
    folder.mkdir(parents=True)
    (folder / "process.log").write_text("Traceback ...\nImportError: no module named torch\n")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.update(job_id, pid=dead.pid, host=__import__("socket").gethostname())
    assert mark_lost(store, data_dir=tmp_path) == [job_id]
    error = store.get(job_id).error
    assert error.startswith("worker lost: the job's process stopped before it began"), error
    assert "ImportError: no module named torch" in error


def test_jr015_a_job_handed_to_celery_waits_for_a_worker_without_blocking(
    store: JobStore,
) -> None:
    from datetime import timedelta

    from jobs.launches import orphans, take_launch
    from jobs.store import CELERY, PAGE, WORKER, now

    handed = store.create("shapes-cnn", {}, user="u")
    store.update(handed, created_at=now() - timedelta(minutes=10))
    assert take_launch(store, handed, CELERY)
    store.update(handed, launched_at=now() - timedelta(minutes=10))  # no worker free since
    assert orphans(store, 0) == []  # not sent again
    assert mark_lost(store) == []  # not lost
    later = store.create("shapes-cnn", {}, user="v")
    assert store.claim(later, 1, os.getpid())  # the queue does not wait for it
    assert not take_launch(store, handed, PAGE)
    assert take_launch(store, handed, WORKER)  # the first worker to get a task for it runs it
    assert not take_launch(store, handed, WORKER)


def test_jr016_the_sweeper_survives_a_database_outage(store: JobStore, tmp_path: Path) -> None:
    import logging

    from jobs.launcher import JobSweeper, Launcher, RunnerArgs
    from tests.conftest import free_port

    down = JobStore(make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/none"))
    current = [down]
    crashed = store.create("shapes-cnn", {}, user="u")
    store.claim(crashed, 5, 999_999_999)  # a pid no process has
    args = RunnerArgs(state_url(store), tmp_path, "", 1)
    sweeper = JobSweeper(lambda: current[0], Launcher(args), every_s=0.1)
    logging.getLogger("dashapp.jobs").disabled = True  # the outage is logged; not asserted here
    try:
        sweeper.start()
        time.sleep(1)  # several rounds against a database that refuses connections
        assert sweeper.rounds == 0
        current[0] = store  # the database is back
        wait_for(store, crashed, (FAILED,), timeout=30)
        assert store.get(crashed).error.startswith("worker lost")
    finally:
        sweeper.stop()
        logging.getLogger("dashapp.jobs").disabled = False
        down.engine.dispose()
