"""Who takes charge of starting each queued job (``jobs.launcher``, ``jobs.launched_at``).

A queued job is taken by exactly one launcher (atomically): the page's background callback,
the server's own launcher, Celery (handed over, no worker yet) or a Celery worker. A job
nobody took is an orphan; one taken whose process never beat was lost on its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update

from jobs.schema import jobs
from jobs.store import CELERY, QUEUED, WORKER, JobStore, now


@dataclass(frozen=True)
class Launch:
    """A queued job a launcher took whose process has not beaten yet."""

    job_id: str
    launcher: str
    launched_at: datetime
    pid: int | None
    host: str | None


def take_launch(store: JobStore, job_id: str, launcher: str) -> bool:
    """Make ``launcher`` the one that starts a queued job, unless another already is.

    Atomic, so of a page, the servers and the Celery workers only one starts a job; a
    Celery worker may also take a job that was handed to Celery.
    """
    free: ColumnElement[bool] = jobs.c.launched_at.is_(None)
    if launcher == WORKER:
        free = or_(free, jobs.c.launcher == CELERY)
    stmt = (
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == QUEUED, jobs.c.heartbeat_at.is_(None))
        .where(free)
        .values(launcher=launcher, launched_at=now())
    )
    with store.engine.begin() as conn:
        return bool(conn.execute(stmt).rowcount)


def release_launch(store: JobStore, job_id: str, launcher: str) -> None:
    """Give a queued job back (it could not be handed over): it is an orphan again."""
    stmt = (
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == QUEUED, jobs.c.launcher == launcher)
        .values(launcher=None, launched_at=None)
    )
    with store.engine.begin() as conn:
        conn.execute(stmt)


def launcher_of(store: JobStore, job_id: str) -> str | None:
    """Who took charge of a job (None: nobody, or no such job)."""
    with store.engine.connect() as conn:
        return conn.execute(select(jobs.c.launcher).where(jobs.c.id == job_id)).scalar()


def orphans(store: JobStore, older_than_s: float, limit: int = 20) -> list[str]:
    """Queued jobs nobody took charge of for ``older_than_s`` seconds, oldest first."""
    stmt = (
        select(jobs.c.id)
        .where(
            jobs.c.status == QUEUED,
            jobs.c.launched_at.is_(None),
            jobs.c.heartbeat_at.is_(None),
            jobs.c.created_at < now() - timedelta(seconds=older_than_s),
        )
        .order_by(jobs.c.created_at, jobs.c.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(stmt)]


def launching(store: JobStore) -> list[Launch]:
    """Queued jobs a launcher took whose process has not beaten yet (Celery's excepted)."""
    stmt = select(jobs.c.id, jobs.c.launcher, jobs.c.launched_at, jobs.c.pid, jobs.c.host).where(
        jobs.c.status == QUEUED,
        jobs.c.launched_at.is_not(None),
        jobs.c.heartbeat_at.is_(None),
        jobs.c.launcher != CELERY,  # waiting in the broker for a free worker is no fault
    )
    with store.engine.connect() as conn:
        return [Launch(*row) for row in conn.execute(stmt.limit(1000))]
