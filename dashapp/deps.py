"""What callbacks and routes need besides the app: engines, stores and per-process state.

One ``Deps`` per app, built by the factory: the only place such state lives (no module
globals), so two apps in one process (every test) share nothing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.pool import NullPool

from dashapp.compositor.imaging import Limits, give_back_freed_images
from dashapp.compositor.storage import LocalStorage, Storage
from dashapp.compositor.storage_db import DatabaseStorage
from dashapp.compositor.upload_store import UploadStore
from dashapp.data.catalog import Catalog
from dashapp.data.views import SavedViewStore
from dashapp.db import WAIT_MARGIN_S, DatabaseBusy, DatabaseUnresponsive, make_engine
from dashapp.identity import ANONYMOUS, Identity
from dashapp.settings import Settings
from jobs.launcher import JobSweeper, Launcher, RunnerArgs
from jobs.runner import LostJobWatch
from jobs.store import JobStore

# A full-resolution render holds about twice its output in memory: at most this many
# at once per worker process keeps the server's memory bounded.
RENDERS_AT_ONCE = 2
# Decoding an upload holds it whole (a 60-megapixel image is 240 MB in Pillow): at most
# this many decodes (and stores) at once per worker process; more wait for a slot.
UPLOADS_AT_ONCE = 2
# A request waits this long for a database slot before it is told the database is busy.
SLOT_WAIT_S = 0.25
# A circuit's trial call that never reports back stops blocking others after this.
TRIAL_MAX_S = 15.0
# /healthz gives each database this long, connecting included.
HEALTH_PROBE_S = 1.5

log = logging.getLogger(__name__)


class DatabaseSlots:
    """The database slots of one process (one fewer than its threads), shared by its guards.

    A request waits up to ``wait_s`` for a slot. When that wait runs out every slot is held
    by a request stuck on a server, so until one is given back the next ones are refused
    at once: each of them waiting too would hold the thread kept free for everything else.
    """

    def __init__(self, count: int, wait_s: float = SLOT_WAIT_S) -> None:
        """``count`` slots (at least one)."""
        self.count, self.wait_s = max(1, count), wait_s
        self._free = threading.BoundedSemaphore(self.count)
        self._saturated = False

    def take(self) -> bool:
        """Take a slot; False when none came free in time (or the slots are saturated)."""
        if self._saturated:
            return self._free.acquire(blocking=False)
        if self._free.acquire(timeout=self.wait_s):
            return True
        self._saturated = True
        return False

    def give(self) -> None:
        """Give a slot back."""
        self._saturated = False
        self._free.release()


class DatabaseGuard:
    """Bulkhead and circuit breaker for one database, in one process.

    The slots (shared by the databases of a process: one fewer than the worker's threads)
    keep a thread free for what needs no database, ``/healthz`` included, however many
    requests wait on a frozen server. Once a wait on the server ran out, calls fail at once
    for ``retry_s``; then one call tries it (the others still fail fast), and what it finds
    closes the circuit or opens it again. Only silence trips it: a server that refuses or
    errs answers quickly and holds no thread.
    """

    def __init__(
        self,
        name: str,
        slots: DatabaseSlots,
        *,
        retry_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A guard called ``name`` (for messages) drawing on ``slots``."""
        self.name, self.retry_s = name, retry_s
        self._slots, self._clock = slots, clock
        self._lock = threading.Lock()
        self._open_until: float | None = None  # None: closed, calls go through
        self._trial_until = 0.0

    def refusing_for(self) -> float:
        """Seconds until the database is tried again (0: it may be tried now)."""
        with self._lock:
            if self._open_until is None:
                return 0.0
            return max(0.0, self._open_until - self._clock())

    def enter(self) -> bool:
        """Take a slot, or raise at once; True when this call is the circuit's trial."""
        trial = False
        with self._lock:
            now = self._clock()
            if self._open_until is not None:
                wait = max(self._open_until - now, self._trial_until - now)
                if wait > 0:
                    raise DatabaseUnresponsive(
                        f"the {self.name} is not answering; trying it again in {math.ceil(wait)} s"
                    )
                self._trial_until, trial = now + TRIAL_MAX_S, True
        if not self._slots.take():
            if trial:
                with self._lock:
                    self._trial_until = 0.0
            raise DatabaseBusy("every database slot of this worker is waiting on a server")
        return trial

    def leave(self) -> None:
        """Give the slot back."""
        self._slots.give()

    def answered(self) -> None:
        """The database answered a trial or a probe: close the circuit."""
        with self._lock:
            if self._open_until is None:
                return
            self._open_until, self._trial_until = None, 0.0
        log.warning("the %s answers again", self.name)

    def not_answering(self) -> None:
        """A wait on the server ran out: fail fast for ``retry_s``."""
        with self._lock:
            was_closed = self._open_until is None
            self._open_until, self._trial_until = self._clock() + self.retry_s, 0.0
        if was_closed:
            log.warning(
                "the %s is not answering: calls to it fail at once for %g s, then it is tried"
                " again",
                self.name,
                self.retry_s,
            )


def _anonymous() -> Identity:
    """The user when nothing says otherwise (outside a request)."""
    return Identity(ANONYMOUS)


@dataclass
class Deps:
    """Shared resources handed to every ``callbacks.<page>.register``; engines open lazily."""

    settings: Settings
    # Who the request being served is from; the factory sets the web layer's accessor.
    current_user: Callable[[], Identity] = _anonymous
    render_slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(RENDERS_AT_ONCE)
    )
    upload_slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(UPLOADS_AT_ONCE)
    )
    lost_jobs: LostJobWatch = field(default_factory=LostJobWatch)
    browse_guard: DatabaseGuard = field(init=False, repr=False)
    state_guard: DatabaseGuard = field(init=False, repr=False)
    # The per-process thread that fails lost jobs and starts orphaned ones (start_job_sweeper).
    job_sweeper: JobSweeper | None = None
    _browse: Engine | None = field(default=None, repr=False)
    _catalog: Catalog | None = field(default=None, repr=False)
    _jobs: JobStore | None = field(default=None, repr=False)
    _uploads: UploadStore | None = field(default=None, repr=False)
    _probes: dict[str, Engine] = field(default_factory=dict, repr=False)
    _views: SavedViewStore | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        """One guard per database, sharing the process's database slots."""
        slots = DatabaseSlots(self.settings.threads - 1)
        retry = self.settings.db_retry_s
        self.browse_guard = DatabaseGuard("database", slots, retry_s=retry)
        self.state_guard = DatabaseGuard("state database", slots, retry_s=retry)

    @property
    def browse_engine(self) -> Engine:
        """Engine of the browsed database, with the statement time limit applied."""
        with self._lock:
            if self._browse is None:
                self._browse = make_engine(
                    self.settings.database_url,
                    statement_timeout_s=self.settings.statement_timeout_s,
                    read_only=True,
                    guard=self.browse_guard,
                )
            return self._browse

    @property
    def catalog(self) -> Catalog:
        """What the browsed database holds (reflected lazily, cached per process)."""
        engine = self.browse_engine
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog(
                    engine, allow=self.settings.data_allow, deny=self.settings.data_deny
                )
            return self._catalog

    @property
    def upload_store(self) -> UploadStore:
        """The Compositor's images: in the data directory, or in the state database."""
        if self._uploads is not None:
            return self._uploads
        settings = self.settings
        root = settings.data_dir / "uploads"  # the files, or this node's preview cache
        storage: Storage = (
            DatabaseStorage(self.job_store.engine)
            if settings.compositor_in_database
            else LocalStorage(root)
        )
        give_back_freed_images()  # peaks of past decodes must not stay held
        with self._lock:
            if self._uploads is None:
                self._uploads = UploadStore(
                    root,
                    limits=Limits(
                        max_bytes=int(settings.upload_max_mb * 1024 * 1024),
                        max_pixels=int(settings.upload_max_megapixels * 1_000_000),
                    ),
                    preview_px=settings.preview_max_px,
                    idle_s=settings.upload_idle_hours * 3600,
                    storage=storage,
                    session_bytes=int(settings.upload_session_mb * 1024 * 1024),
                    slots=self.upload_slots,
                )
            return self._uploads

    @property
    def job_store(self) -> JobStore:
        """The training jobs in the app's state database."""
        with self._lock:
            if self._jobs is None:
                self._jobs = JobStore(
                    make_engine(
                        self.settings.state_url,
                        wait_limit_s=self.settings.statement_timeout_s + WAIT_MARGIN_S,
                        guard=self.state_guard,
                    )
                )
            return self._jobs

    def probe(self, which: str) -> tuple[Engine, DatabaseGuard]:
        """The health probe's engine of ``database`` or ``state``, and that database's guard.

        A connection of its own for each probe (no pool, nothing shared with the requests
        waiting on a frozen server) that gives up after ``HEALTH_PROBE_S`` in all.
        """
        url, guard = (
            (self.settings.database_url, self.browse_guard)
            if which == "database"
            else (self.settings.state_url, self.state_guard)
        )
        with self._lock:
            if which not in self._probes:
                self._probes[which] = make_engine(
                    url,
                    read_only=True,
                    poolclass=NullPool,
                    wait_limit_s=HEALTH_PROBE_S,
                    deadline_s=HEALTH_PROBE_S,
                )
            return self._probes[which], guard

    def start_job_sweeper(self, dispatch: Callable[[str], None] | None = None) -> JobSweeper:
        """Start this process's job sweeper (once); ``dispatch`` hands a job to Celery."""
        with self._lock:
            if self.job_sweeper is None:
                s = self.settings
                args = RunnerArgs(s.state_url, s.data_dir, s.database_url, s.max_jobs)
                self.job_sweeper = JobSweeper(
                    lambda: self.job_store,
                    Launcher(args, dispatch),
                    retention_days=s.job_retention_days,
                )
                self.job_sweeper.start()
            return self.job_sweeper

    @property
    def saved_views(self) -> SavedViewStore:
        """The Data page's saved views in the app's state database."""
        engine = self.job_store.engine  # the state database's engine, with its limits
        with self._lock:
            if self._views is None:
                self._views = SavedViewStore(engine)
            return self._views

    def dispose(self) -> None:
        """Stop the job sweeper, close pooled connections (tests, shutdown)."""
        if self.job_sweeper is not None:
            self.job_sweeper.stop()
        with self._lock:
            if self._browse is not None:
                self._browse.dispose()
                self._browse = None
                self._catalog = None
            if self._jobs is not None:
                self._jobs.engine.dispose()
                self._jobs = None
                self._uploads = None  # it may hold the state engine
            for engine in self._probes.values():
                engine.dispose()
            self._probes.clear()
            self._views = None  # it held the state engine, disposed with the job store
