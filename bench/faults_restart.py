"""Figure of bench/faults.py (issue 17): restart mid-job, against a restart with no job.

restart_mid_job: gunicorn restarted (SIGTERM, then SIGKILL) while a training job runs:
   seconds from the new master's start to /healthz 200 (target <= 10 s; before the fix:
   never, until the job ended), against the same restart with no job running. Also the
   old master's exit after SIGTERM (before the fix: the whole 30 s graceful timeout).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs.store import RUNNING  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.faults.servers import (  # noqa: E402
    Gunicorn,
    Page,
    children,
    healthy,
    listeners,
    state_store,
)

LONG = {"epochs": 50, "samples": 30_000}  # minutes: it runs through every restart below


def _seconds(value: float | None, cap: float) -> str:
    """A duration, or 'never' when the cap was reached."""
    return f"{value:5.1f} s" if value is not None else f"never (> {cap:.0f} s)"


def _until(check: object, cap: float) -> float | None:
    """Seconds until ``check()`` is true, or None after ``cap``."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < cap:
        if check():  # type: ignore[operator]
            return time.perf_counter() - t0
        time.sleep(0.05)
    return None


def _restart(server: Gunicorn, sig: int, cap: float) -> tuple[float | None, float | None]:
    """Stop the master with ``sig``, start a new one; (old master's exit, new start -> 200)."""
    assert server.proc is not None
    old = server.proc
    server.kill(sig)
    exited = _until(lambda: old.poll() is not None, cap)
    if exited is None:
        old.kill()
    old.wait()
    server.starts += 1
    with server.log.open("wb") as out:
        server.proc = subprocess.Popen(
            [sys.executable, "-m", "dashapp.cli", "run"],
            cwd=ROOT,
            env=server.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    new = server.proc

    def new_one_serves() -> bool:
        """Whether /healthz answers from the new master's workers."""
        # Answered by the new master's workers, not by old ones still alive (after SIGKILL
        # they serve on for a moment): only the new generation holds the port.
        holders = listeners(server.port)
        ours = {new.pid, *children(new.pid)}
        return bool(holders) and holders <= ours and healthy(server)

    served = _until(lambda: new.poll() is not None or new_one_serves(), cap)
    if new.poll() is not None:  # it gave up (could not bind)
        served = None
    return exited, served


def _one_run(folder: Path, sig: int, with_job: bool, cap: float) -> tuple[float | None, ...]:
    """A server, a job running or not, one restart; the two durations."""
    server = Gunicorn(folder, free_port())
    server.start()
    store = state_store(folder)
    try:
        if with_job:
            page = Page(server)
            job_id = page.start(**LONG)
            page.launch(job_id)
            page.close()
            _until(lambda: (j := store.get(job_id)) and j.status == RUNNING and j.progress, cap)
        return _restart(server, sig, cap)
    finally:
        server.stop()
        for job in store.list_jobs():
            store.request_cancel(job.id)
        _until(lambda: not listeners(server.port), 30)
        store.engine.dispose()


def restart_mid_job(cap: float) -> None:
    """Figure: restart mid-job, new master's start to /healthz 200, vs no job running."""
    print("Restart mid-job: time from the new master's start to /healthz 200 (target <= 10 s)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, sig in (("SIGTERM", signal.SIGTERM), ("SIGKILL", signal.SIGKILL)):
            idle = _one_run(Path(tmp) / f"idle-{name}", sig, False, cap)
            job = _one_run(Path(tmp) / f"job-{name}", sig, True, cap)
            print(
                f"  {name}: mid-job {_seconds(job[1], cap)}   no job (baseline)"
                f" {_seconds(idle[1], cap)}   old master exited after: mid-job"
                f" {_seconds(job[0], cap)}, no job {_seconds(idle[0], cap)}"
            )
            with contextlib.suppress(TypeError):
                print(f"           ratio mid-job / baseline: {job[1] / idle[1]:.2f}")  # type: ignore[operator]
