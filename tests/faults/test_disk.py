"""A full or read-only disk: jobs fail with the real cause, leave no partial files, Start says why.

Each test mounts a tiny tmpfs (root only: skipped elsewhere with the reason, a failure in CI).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from components.ids import Training
from dashapp.app import create_app, deps_of
from dashapp.db import make_engine
from dashapp.migrations import upgrade
from dashapp.settings import Settings
from jobs import registry
from jobs.params import INT, Param
from jobs.runner import run_job, start_process
from jobs.store import FAILED, QUEUED, JobStore
from jobs.trainer import Trainer
from tests.callbacks.test_training import start_body
from tests.conftest import SMALL_DEMO_ROWS, skip_or_fail
from tests.faults.servers import wait_until

DISK_FULL = "the server's disk is full or read-only"


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` for the block."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except FileNotFoundError:
        done = subprocess.CompletedProcess([], 1, "", "no mount command")
    if done.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def remount_read_only(path: Path) -> None:
    """Make a mounted tmpfs read-only (as a disk with errors is remounted)."""
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, timeout=30)


def fill(folder: Path) -> Path:
    """Fill the disk under ``folder`` to the last byte; the filler file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        with contextlib.suppress(OSError):  # ENOSPC: full
            while True:
                out.write(b"\0" * 65536)
        with contextlib.suppress(OSError):
            while True:
                out.write(b"\0")
    return filler


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial files a job left behind."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def big_model(rep: Any, p: dict[str, Any]) -> None:
    """A trainer whose weights (8 MB) do not fit on the disk, after one artifact that does."""
    import torch

    rep.progress(1, 2)
    rep.image("sample", Image.new("RGB", (64, 64), "red"))
    rep.model({"w": torch.zeros(p["floats"])})


BIG_MODEL = Trainer(
    "disk-fault-test", "Big", "Weights too big.", (Param("floats", INT, 2_000_000, "n"),), big_model
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    """A state database on the ordinary disk."""
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    upgrade(engine)
    yield JobStore(engine)
    engine.dispose()


def test_fd001_weights_that_do_not_fit_fail_the_job_and_leave_no_partial_file(
    store: JobStore, tmp_path: Path
) -> None:
    registry.register(BIG_MODEL)
    with tmpfs(tmp_path / "data", "2m") as data:
        job_id = store.create(BIG_MODEL.name, {}, "u")
        assert run_job(store, data, job_id) == FAILED
        job = store.get(job_id)
        folder = data / "artifacts" / job_id
        assert job.error.startswith(DISK_FULL), job.error
        assert "No space left on device" in job.error
        assert not (folder / "model.pt").exists()
        assert job.weights_path is None
        assert leftovers(data) == []
        [art] = store.artifacts(job_id)  # the artifact made before is whole
        with Image.open(art["path"]) as img:
            assert img.size == (64, 64)


def test_fd002_a_disk_that_fills_mid_job_fails_it_with_the_real_cause(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "data", "16m") as data:
        # The default layout: the SQLite state database on the same disk as the artifacts.
        url = f"sqlite:///{data / 'state.sqlite'}"
        engine = make_engine(url)
        upgrade(engine)
        store = JobStore(engine)
        job_id = store.create("shapes-cnn", {"epochs": 50, "samples": 3000}, "u")
        proc = start_process(url, data, job_id)
        try:
            wait_until("the first artifact", lambda: store.artifacts(job_id), timeout=120)
            filler = fill(data)
            wait_until("the job ends", lambda: proc.poll() is not None, timeout=120)
            job = store.get(job_id)  # reading a full disk works
            assert job.status == FAILED, job
            assert job.error.startswith(DISK_FULL), job.error
            assert not (data / "artifacts" / job_id / "model.pt").exists()
            assert leftovers(data) == []
            filler.unlink()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)
            engine.dispose()


@pytest.fixture
def full_app(tmp_path: Path) -> Iterator[Any]:
    """An app whose data folder (demo and state databases, artifacts) is on a small tmpfs."""
    with tmpfs(tmp_path / "data", "64m") as data:
        app = create_app(Settings(data_dir=data, demo_rows=SMALL_DEMO_ROWS))
        yield app
        deps_of(app).dispose()


def test_fd003_start_on_a_full_disk_says_so_instead_of_a_500(full_app: Any) -> None:
    client = full_app.server.test_client()
    store = deps_of(full_app).job_store
    fill(deps_of(full_app).settings.data_dir)
    resp = client.post(
        "/_dash-update-component",
        data=json.dumps(start_body(client)),
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.data[:300]
    out = resp.get_json()["response"]
    assert out[Training.FORM_ERROR]["is_open"] is True
    message = out[Training.FORM_ERROR]["children"]
    assert message.startswith("The job was not started: " + DISK_FULL), message
    assert Training.CURRENT not in out
    assert store.list_jobs() == []


def test_fd004_a_queued_job_that_cannot_start_is_failed_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(
        data_dir=data,
        demo_rows=SMALL_DEMO_ROWS,
        state_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
    )
    with tmpfs(data / "artifacts", "1m") as artifacts:
        remount_read_only(artifacts)
        app = create_app(settings)  # its sweeper runs; no page is ever opened
        try:
            store = deps_of(app).job_store
            job_id = store.create("shapes-cnn", {"epochs": 1}, "u")  # its tab closed at once
            assert store.get(job_id).status == QUEUED
            wait_until("the job is failed", lambda: store.get(job_id).done)
            job = store.get(job_id)
            assert job.status == FAILED
            assert job.error.startswith("the job could not be started: " + DISK_FULL), job.error
            assert "Read-only file system" in job.error
        finally:
            deps_of(app).dispose()
            time.sleep(0)  # the sweeper has stopped: nothing touches the mount any more
