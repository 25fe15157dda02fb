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
from dashapp.data.catalog import Catalog, CatalogError
from dashapp.data.sources import split_key
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
    # The browsed databases' catalogs (each with its engine) by source name, made on first use.
    _catalogs: dict[str, Catalog] = field(default_factory=dict, repr=False)
    _jobs: JobStore | None = field(default=None, repr=False)
    _uploads: UploadStore | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def source_names(self) -> tuple[str, ...]:
        """The browsed databases' names, the default source first."""
        return tuple(name for name, _ in self.settings.sources)

    @property
    def browse_engine(self) -> Engine:
        """Engine of the default browsed database, with the statement time limit applied."""
        return self.catalog.engine

    @property
    def catalog(self) -> Catalog:
        """What the default browsed database holds (reflected lazily, cached per process)."""
        return self.catalog_of(self.source_names[0])

    def catalog_of(self, source: str) -> Catalog:
        """The catalog of one source, on its own read-only engine with the time limit."""
        urls = dict(self.settings.sources)
        if source not in urls:
            raise CatalogError(f"there is no data source {source!r}")
        with self._lock:
            if source not in self._catalogs:
                engine = make_engine(
                    urls[source],
                    statement_timeout_s=self.settings.statement_timeout_s,
                    read_only=True,
                )
                self._catalogs[source] = Catalog(
                    engine,
                    allow=self.settings.data_allow,
                    deny=self.settings.data_deny,
                    source=source,
                    sources=self.source_names,
                )
            return self._catalogs[source]

    def locate(self, key: str) -> tuple[Catalog, str]:
        """The catalog and ``schema.table`` of a picker or link key (``[source:]schema.table``)."""
        source, local = split_key(key, self.source_names)
        return self.catalog_of(source or self.source_names[0]), local

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

    def dispose(self) -> None:
        """Close pooled connections (tests, shutdown)."""
        with self._lock:
            for catalog in self._catalogs.values():
                catalog.engine.dispose()
            self._catalogs.clear()
            if self._jobs is not None:
                self._jobs.engine.dispose()
                self._jobs = None
