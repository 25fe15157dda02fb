"""The server's side of starting jobs: orphaned queued jobs, lost jobs, and clean processes.

A job is normally launched by the page (a background callback takes charge of it, see
``jobs.runner.supervise``). When nobody does (the tab was closed between Start and the
launch, the launch request never came), the job must not wait forever, nor hold up the
queue: every web process runs a ``JobSweeper``, which at start-up and every few seconds
fails jobs whose process died and starts the orphans itself (a detached runner, or a Celery
task), or fails them with the reason when they cannot start.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from jobs.launches import orphans, release_launch, take_launch
from jobs.manage import sweep_expired
from jobs.runner import mark_lost, start_taken
from jobs.store import CELERY, ORPHAN_AFTER_S, SERVER, JobStore

log = logging.getLogger("dashapp.jobs")

SWEEP_EVERY_S = 5.0
# Jobs past their retention are looked for this often (and at start-up).
RETENTION_EVERY_S = 600.0


def release_inherited_sockets(keep: Iterable[int] = (0, 1, 2)) -> int:
    """Let go of every socket this process inherited; returns how many.

    A fork of a web worker (Dash's background callbacks) holds copies of the server's
    listening socket and of its clients' connections: while it lives, a restarted server
    cannot bind the port, and a kept-alive client is never answered nor closed. Each is
    replaced by /dev/null rather than closed, so its number stays taken and an object of
    the parent that still names it can never reach an unrelated file opened later.
    Standard streams are kept (under systemd stderr may be a socket).
    """
    keep = set(keep)
    devnull = os.open(os.devnull, os.O_RDWR)
    released = 0
    try:
        for fd in _open_fds():
            if fd in keep or fd == devnull:
                continue
            try:
                is_socket = stat.S_ISSOCK(os.fstat(fd).st_mode)
            except OSError:  # closed meanwhile (the descriptor listing its own folder)
                continue
            if is_socket:
                os.dup2(devnull, fd, inheritable=False)
                released += 1
    finally:
        os.close(devnull)
    return released


def _open_fds() -> list[int]:
    """The descriptors open in this process."""
    try:
        return sorted(int(name) for name in os.listdir("/proc/self/fd"))
    except OSError:  # no /proc: every number up to the limit
        return list(range(min(os.sysconf("SC_OPEN_MAX"), 65536)))


@dataclass(frozen=True)
class RunnerArgs:
    """What a job's process needs to know (the app's settings, as plain values)."""

    state_url: str
    data_dir: Path
    database_url: str
    max_running: int


@dataclass
class Launcher:
    """Starts the queued jobs nobody took charge of (or fails them, saying why).

    With ``dispatch`` (Celery configured) an orphan is handed to a Celery task; otherwise
    it runs in a detached process on this host, reaped by this process when it ends (or,
    after a restart, by the system: the job does not depend on the server that started it).
    """

    args: RunnerArgs
    dispatch: Callable[[str], None] | None = None
    grace_s: float = ORPHAN_AFTER_S

    def launch_orphans(self, store: JobStore) -> list[str]:
        """Start (or fail) every orphaned queued job; returns the ids this call took."""
        taken = [job_id for job_id in orphans(store, self.grace_s) if self.launch(store, job_id)]
        for job_id in taken:
            log.info("job %s had no launcher: the server launched it", job_id)
        return taken

    def launch(self, store: JobStore, job_id: str) -> bool:
        """Take a queued job and start it now (a job queued by a script needs no page).

        Returns whether this call took it (False: another launcher has it, or it is not
        queued). A job that cannot start is failed with the reason; one that cannot be
        handed to Celery (the broker is away) stays queued, an orphan for the next sweep.
        """
        if self.dispatch is not None:
            if not take_launch(store, job_id, CELERY):
                return False
            try:
                self.dispatch(job_id)
            except Exception as exc:
                release_launch(store, job_id, CELERY)
                log.warning("job %s could not be handed to Celery: %s", job_id, exc)
                return False
            return True
        if not take_launch(store, job_id, SERVER):
            return False
        a = self.args
        proc = start_taken(store, a.state_url, a.data_dir, job_id, a.database_url, a.max_running)
        if proc is not None:
            reap_when_done(proc)
        return True


def reap_when_done(proc: subprocess.Popen[bytes]) -> None:
    """Collect a started job's exit in a daemon thread: no zombie is left, and the process
    object is never dropped while the job runs (a server that stops leaves it running)."""
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()


class JobSweeper:
    """A daemon thread: at start-up, then every ``every_s``, fails lost jobs and starts orphans.

    One per process (built by the app factory, kept in its Deps). A database error never
    ends it: the next round tries again (and the log says so once, then once on recovery).
    """

    def __init__(
        self,
        store: Callable[[], JobStore],
        launcher: Launcher,
        every_s: float = SWEEP_EVERY_S,
        *,
        retention_days: float = 0.0,
        retention_every_s: float = RETENTION_EVERY_S,
    ) -> None:
        """Sweep ``store()`` with ``launcher`` every ``every_s`` seconds once started.

        ``retention_days`` > 0: ended jobs older than that are deleted (with their files),
        looked for every ``retention_every_s``.
        """
        self._store, self.launcher, self.every_s = store, launcher, every_s
        self.retention_days, self.retention_every_s = retention_days, retention_every_s
        self._retained_at = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.rounds = 0

    def start(self) -> None:
        """Start the thread (its first round runs at once: the start-up sweep)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="job-sweeper", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (and wait for a round in progress)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def sweep(self) -> list[str]:
        """One round: fail lost jobs, start orphans; returns the ids acted on. Never raises."""
        try:
            store = self._store()
            acted = mark_lost(store, data_dir=self.launcher.args.data_dir)
            acted += self.launcher.launch_orphans(store)
            acted += self._retain(store)
        except Exception as exc:  # the database is away: the next round tries again
            if not self._failing:
                log.warning("job sweep failed (retrying every %.0f s): %s", self.every_s, exc)
            self._failing = True
            return []
        if self._failing:
            log.info("job sweep works again")
        self._failing = False
        self.rounds += 1
        return acted

    def _retain(self, store: JobStore) -> list[str]:
        """Delete jobs past the retention, when it is set and its time has come."""
        if (
            self.retention_days <= 0
            or time.monotonic() - self._retained_at < self.retention_every_s
        ):
            return []
        self._retained_at = time.monotonic()
        return sweep_expired(store, self.retention_days, self.launcher.args.data_dir)

    def _loop(self) -> None:
        """Sweep until stopped."""
        while not self._stop.is_set():
            self.sweep()
            self._stop.wait(self.every_s)
