"""Running one job in its own process, and noticing jobs whose process died.

A job runs as ``python -m jobs.runner <state url> <data dir> <job id>``: a fresh interpreter,
so the web process's threads and (never initialised) CUDA state are not inherited, in a
session of its own with no descriptor of its launcher but its log (no server socket): it
outlives a restart of the server that started it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

from dashapp.db import make_engine
from jobs import registry
from jobs.files import artifact_dir, disk_problem, hold_reserve, release_reserve
from jobs.launches import Launch, launching, take_launch
from jobs.params import validate
from jobs.reporter import Cancelled, Reporter
from jobs.store import (
    CANCELLED,
    FAILED,
    PAGE,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    JobStore,
    now,
)

HEARTBEAT_S = 5.0
FOLLOW_EVERY_S = 1.0  # how often a launcher looks at the status of the job it started
LOST_AFTER_S = 30.0
# The job's end is written again this many times (a second apart) if the state database
# refuses it, e.g. on a disk that was full until the job's own partial files were removed.
FINISH_TRIES = 10


def wait_and_run(
    store: JobStore,
    data_dir: Path,
    job_id: str,
    max_running: int,
    poll_s: float = 0.3,
    context: dict[str, Any] | None = None,
) -> str:
    """Wait (visibly queued) until a slot is free and this job's turn comes, then run it.

    While it waits the job beats too, so a waiting process that dies is noticed.
    """
    last_beat = 0.0
    while True:
        job = store.get(job_id)
        if job is None or job.status != QUEUED:
            return job.status if job else FAILED
        if store.claim(job_id, max_running, os.getpid(), socket.gethostname()):
            return run_job(store, data_dir, job_id, claimed=True, context=context)
        if time.monotonic() - last_beat >= HEARTBEAT_S:
            last_beat = time.monotonic()
            store.update_if(
                job_id, QUEUED, pid=os.getpid(), host=socket.gethostname(), heartbeat_at=now()
            )
        time.sleep(poll_s)


def run_job(
    store: JobStore,
    data_dir: Path,
    job_id: str,
    *,
    claimed: bool = False,
    context: dict[str, Any] | None = None,
) -> str:
    """Run a queued (or just claimed) job to its end in this process; returns its status."""
    job = store.get(job_id)
    expected = RUNNING if claimed else QUEUED
    if job is None or job.status != expected:
        return job.status if job else FAILED
    try:
        trainer = registry.get(job.trainer)
    except KeyError as exc:
        store.finish(job_id, FAILED, error=str(exc))
        return FAILED
    params, errors = validate(trainer.params, job.params)
    if errors:
        detail = "; ".join(f"{k}: {v}" for k, v in errors.items())
        store.finish(job_id, FAILED, error=f"invalid parameters: {detail}")
        return FAILED
    # The device is recorded by the trainer once torch is imported (rep.set_device):
    # importing torch here would delay the first progress by a second or two.
    if not claimed:
        store.update(
            job_id,
            status=RUNNING,
            started_at=now(),
            heartbeat_at=now(),
            pid=os.getpid(),
            host=socket.gethostname(),
        )
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            # A failed beat (the database away for a moment) must not end the beating: a
            # silent job is marked lost, which would hide the real cause of any failure.
            with contextlib.suppress(Exception):
                store.update(job_id, heartbeat_at=now())

    threading.Thread(target=beat, daemon=True).start()
    reporter: Reporter | None = None
    reserve = None
    try:
        reporter = Reporter(store, job_id, artifact_dir(data_dir, job_id), context)
        reserve = hold_reserve(reporter.artifact_dir)
        reporter.check_cancel()
        trainer.train(reporter, params)
        status, extra = SUCCEEDED, dict[str, str]()
    except Cancelled:
        with contextlib.suppress(Exception):  # a note; the job's end is what must be written
            store.add_log(job_id, "cancelled by request")
        status, extra = CANCELLED, {}
    except Exception as exc:  # a trainer's failure is the job's result, not a crash
        status = FAILED
        error = disk_problem(exc) or f"{type(exc).__name__}: {exc}"
        extra = {"error": error, "traceback": traceback.format_exc()}
    finally:
        stop.set()
    # Room for the last writes: on a full disk that also holds a SQLite state database,
    # the job's end could not be recorded otherwise (and it would show as "worker lost").
    release_reserve(reserve)
    if reporter is not None:
        with contextlib.suppress(Exception):  # the last metrics; a failure here is not the job's
            reporter.flush()
    record_end(store, job_id, status, extra)
    return status


def record_end(
    store: JobStore, job_id: str, status: str, extra: dict[str, str], pause_s: float = 1.0
) -> None:
    """Write the job's end, retrying a while: losing it would show "worker lost" instead."""
    for attempt in range(FINISH_TRIES):
        try:
            store.finish(job_id, status, **extra)
            return
        except Exception:
            if attempt == FINISH_TRIES - 1:
                raise
            time.sleep(pause_s)


def start_process(
    state_url: str,
    data_dir: Path,
    job_id: str,
    database_url: str = "",
    max_running: int = 0,
    *,
    detach: bool = False,
) -> subprocess.Popen[bytes]:
    """Start a job in a new interpreter (its output goes to the job's folder).

    A fresh interpreter, not a fork: a fork of a multi-threaded web worker can inherit a
    lock that another thread held at that instant, and hang. With ``max_running`` the job
    first waits (queued) for a free slot and its turn. ``detach``: the job runs in a child
    the started process leaves behind (``started_pid`` reads its pid), so whoever ends the
    caller's process tree (Dash stopping a background callback) cannot end the job.
    """
    folder = artifact_dir(data_dir, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "jobs.runner", *(["--detach"] if detach else [])]
    argv += [state_url, str(data_dir), job_id, database_url, str(max_running)]
    # close_fds (the default) and a session of its own: the job holds no socket of the
    # server (a restarted server can bind at once) and no signal to the server reaches it.
    with open(folder / "process.log", "ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if detach else out,
            stderr=out,
            start_new_session=True,
            close_fds=True,
        )


def started_pid(proc: subprocess.Popen[bytes]) -> int | None:
    """The pid of the job a detached start left running (None: it did not start)."""
    assert proc.stdout is not None
    said = proc.stdout.read().strip()
    proc.wait()
    return int(said) if said.isdigit() else None


def _detach(log_path: Path) -> None:
    """Go on in a child of this process, which exits once it has said the child's pid.

    The job is then nobody's child but init's: killing the launching process tree (what
    Dash does to a background callback it cancels) leaves it running.
    """
    child = os.fork()
    if child:
        sys.stdout.write(f"{child}\n")
        sys.stdout.flush()
        os._exit(0)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)  # stdout was the pipe to the launcher: from now on the job's log
    os.close(log)


def start_taken(
    store: JobStore,
    state_url: str,
    data_dir: Path,
    job_id: str,
    database_url: str = "",
    max_running: int = 0,
    *,
    detach: bool = False,
) -> subprocess.Popen[bytes] | None:
    """Start the process of a job this caller took charge of; if it cannot start, fail the job.

    Returns the process (with ``detach``: the one that started the job and has ended), or
    None when the job was failed (with the reason: an artifacts folder that cannot be
    written, an interpreter that cannot be started).
    """
    try:
        proc = start_process(state_url, data_dir, job_id, database_url, max_running, detach=detach)
        pid = started_pid(proc) if detach else proc.pid
    except OSError as exc:
        reason = disk_problem(exc) or f"{type(exc).__name__}: {exc}"
        store.finish(job_id, FAILED, error=f"the job could not be started: {reason}")
        return None
    if pid is None:
        store.finish(job_id, FAILED, error="the job could not be started: see its process.log")
        return None
    # Known before its first beat: a process that dies at once is noticed by its pid.
    store.update_if(job_id, QUEUED, pid=pid, host=socket.gethostname())
    return proc


def mark_lost(
    store: JobStore, *, lost_after_s: float = LOST_AFTER_S, data_dir: Path | None = None
) -> list[str]:
    """Fail jobs whose process is gone or silent; returns their ids.

    Running jobs always have a process; queued jobs once a launcher took them (a job
    handed to Celery that no worker has picked up yet is not lost). ``data_dir``: where to
    find the last words of a process that died before it began.
    """
    lost = []
    deadline = now() - timedelta(seconds=lost_after_s)
    waiting = [j for j in store.list_jobs(status=QUEUED, limit=1000) if j.heartbeat_at]
    for job in store.list_jobs(status=RUNNING, limit=1000) + waiting:
        if _gone(job, deadline) and store.finish(
            job.id, FAILED, error="worker lost: the job's process stopped"
        ):
            lost.append(job.id)
    for launch in launching(store):
        error = _never_started(launch, deadline, data_dir)
        if error and store.finish(launch.job_id, FAILED, error=error):
            lost.append(launch.job_id)
    return lost


def _gone(job: Job, deadline: Any) -> bool:
    """Whether a job's process went silent, or died on this host."""
    silent = job.heartbeat_at is None or job.heartbeat_at < deadline
    here = job.host in (None, socket.gethostname())
    return silent or (job.pid is not None and here and not _alive(job.pid))


def _never_started(launch: Launch, deadline: Any, data_dir: Path | None) -> str | None:
    """Why a job a launcher took never began (its process died or never came), or None."""
    here = launch.host == socket.gethostname()
    if launch.pid is not None and here and not _alive(launch.pid):
        said = _last_line(artifact_dir(data_dir, launch.job_id) / "process.log") if data_dir else ""
        return "worker lost: the job's process stopped before it began" + (
            f" ({said})" if said else ""
        )
    if launch.launched_at < deadline:
        return f"worker lost: the job's process never started (launched by the {launch.launcher})"
    return None


def _last_line(path: Path) -> str:
    """The last non-empty line of a small log file (its tail only), or ''."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 2000))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


class LostJobWatch:
    """Runs ``mark_lost`` at most once every ``every_s`` seconds in this process."""

    def __init__(self, every_s: float = 5.0) -> None:
        """Sweep no more often than ``every_s``."""
        self.every_s = every_s
        self._last = float("-inf")
        self._lock = threading.Lock()

    def maybe_sweep(self, store: JobStore) -> list[str]:
        """Fail lost jobs if the last sweep is old enough; returns the ids failed."""
        with self._lock:
            now_s = time.monotonic()
            if now_s - self._last < self.every_s:
                return []
            self._last = now_s
        return mark_lost(store)


def supervise(
    state_url: str,
    data_dir: Path,
    job_id: str,
    database_url: str,
    max_running: int,
    launcher: str = PAGE,
    *,
    wait: bool = True,
) -> str | None:
    """Take charge of a queued job, start it in a fresh interpreter, follow it until it ends.

    The job runs detached: nobody's child, so stopping this process (Dash cancels a
    background callback when the same page launches another) leaves the job running; this
    only follows its status in the state database. Returns its final status; at once (its
    status now) when another launcher has it, or with ``wait`` False once its process has
    started.
    """
    engine = make_engine(state_url)
    try:
        store = JobStore(engine)
        started = take_launch(store, job_id, launcher) and (
            start_taken(store, state_url, data_dir, job_id, database_url, max_running, detach=True)
            is not None
        )
        job = store.get(job_id)
        while wait and started and job is not None and not job.done:
            time.sleep(FOLLOW_EVERY_S)
            job = store.get(job_id)
        return job.status if job else None
    finally:
        engine.dispose()


def _alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


def main(argv: list[str]) -> int:
    """``python -m jobs.runner [--detach] STATE DATA_DIR JOB_ID [DATABASE_URL [MAX_RUNNING]]``."""
    if argv[:1] == ["--detach"]:
        argv = argv[1:]
        _detach(artifact_dir(Path(argv[1]), argv[2]) / "process.log")
    state_url, data_dir, job_id = argv[:3]
    context = {"database_url": argv[3]} if len(argv) > 3 and argv[3] else {}
    max_running = int(argv[4]) if len(argv) > 4 else 0
    store = JobStore(make_engine(state_url))
    if max_running > 0:
        status = wait_and_run(store, Path(data_dir), job_id, max_running, context=context)
    else:
        status = run_job(store, Path(data_dir), job_id, context=context)
    return 0 if status in (SUCCEEDED, CANCELLED) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
