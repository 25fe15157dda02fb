"""What callbacks and routes need besides the app: engines, stores and per-process state.

One ``Deps`` per app, built by the factory: the only place such state lives (no module
globals), so two apps in one process (every test) share nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from dashapp.compositor.imaging import Limits
from dashapp.compositor.upload_store import UploadStore
from dashapp.data.catalog import Catalog
from dashapp.data.views import SavedViewStore
from dashapp.db import make_engine
from dashapp.identity import ANONYMOUS, Identity
from dashapp.settings import Settings
from jobs.runner import LostJobWatch
from jobs.store import JobStore

# A full-resolution render holds about twice its output in memory: at most this many
# at once per worker process keeps the server's memory bounded.
RENDERS_AT_ONCE = 2


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
    lost_jobs: LostJobWatch = field(default_factory=LostJobWatch)
    _browse: Engine | None = field(default=None, repr=False)
    _catalog: Catalog | None = field(default=None, repr=False)
    _jobs: JobStore | None = field(default=None, repr=False)
    _uploads: UploadStore | None = field(default=None, repr=False)
    _views: SavedViewStore | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def browse_engine(self) -> Engine:
        """Engine of the browsed database, with the statement time limit applied."""
        with self._lock:
            if self._browse is None:
                self._browse = make_engine(
                    self.settings.database_url,
                    statement_timeout_s=self.settings.statement_timeout_s,
                    read_only=True,
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
        """The Compositor's per-session image files under the data directory."""
        with self._lock:
            if self._uploads is None:
                settings = self.settings
                self._uploads = UploadStore(
                    settings.data_dir / "uploads",
                    limits=Limits(
                        max_bytes=int(settings.upload_max_mb * 1024 * 1024),
                        max_pixels=int(settings.upload_max_megapixels * 1_000_000),
                    ),
                    preview_px=settings.preview_max_px,
                    idle_s=settings.upload_idle_hours * 3600,
                )
            return self._uploads

    @property
    def job_store(self) -> JobStore:
        """The training jobs in the app's state database."""
        with self._lock:
            if self._jobs is None:
                self._jobs = JobStore(make_engine(self.settings.state_url))
            return self._jobs

    @property
    def saved_views(self) -> SavedViewStore:
        """The Data page's saved views in the app's state database."""
        with self._lock:
            if self._views is None:
                self._views = SavedViewStore(make_engine(self.settings.state_url))
            return self._views

    def dispose(self) -> None:
        """Close pooled connections (tests, shutdown)."""
        with self._lock:
            if self._browse is not None:
                self._browse.dispose()
                self._browse = None
                self._catalog = None
            if self._jobs is not None:
                self._jobs.engine.dispose()
                self._jobs = None
            if self._views is not None:
                self._views.engine.dispose()
                self._views = None
