"""What callbacks need besides the app: settings and database engines, built once per app."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from dashapp.compositor.imaging import Limits
from dashapp.compositor.upload_store import UploadStore
from dashapp.data.catalog import Catalog
from dashapp.db import make_engine
from dashapp.settings import Settings
from jobs.store import JobStore


@dataclass
class Deps:
    """Shared resources handed to every ``callbacks.<page>.register``; engines open lazily."""

    settings: Settings
    _browse: Engine | None = field(default=None, repr=False)
    _catalog: Catalog | None = field(default=None, repr=False)
    _jobs: JobStore | None = field(default=None, repr=False)
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
        settings = self.settings
        return UploadStore(
            settings.data_dir / "uploads",
            limits=Limits(
                max_bytes=int(settings.upload_max_mb * 1024 * 1024),
                max_pixels=int(settings.upload_max_megapixels * 1_000_000),
            ),
            preview_px=settings.preview_max_px,
            idle_s=settings.upload_idle_hours * 3600,
        )

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
            if self._browse is not None:
                self._browse.dispose()
                self._browse = None
                self._catalog = None
            if self._jobs is not None:
                self._jobs.engine.dispose()
                self._jobs = None
