"""What pages read to follow jobs: the log backwards, the jobs that ended lately, who ran jobs.

The log forwards, a page at a time, is ``jobs.query.log_lines``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from jobs.query import LogLine, log_lines
from jobs.schema import job_logs, jobs
from jobs.store import FINAL, JobStore


def _lines(store: JobStore, stmt: Select[Any]) -> list[LogLine]:
    """Run a select of (id, at, line) rows."""
    with store.engine.connect() as conn:
        return [LogLine(r[0], r[1], r[2]) for r in conn.execute(stmt)]


def _base(job_id: str) -> Select[Any]:
    """The lines of one job (id, time, text)."""
    return select(job_logs.c.id, job_logs.c.at, job_logs.c.line).where(job_logs.c.job_id == job_id)


def log_tail(store: JobStore, job_id: str, limit: int) -> list[LogLine]:
    """The newest ``limit`` lines, oldest first."""
    stmt = _base(job_id).order_by(job_logs.c.id.desc()).limit(limit)
    return _lines(store, stmt)[::-1]


def log_before(store: JobStore, job_id: str, before_id: int, limit: int) -> list[LogLine]:
    """The ``limit`` lines written just before line ``before_id``, oldest first."""
    stmt = (
        _base(job_id).where(job_logs.c.id < before_id).order_by(job_logs.c.id.desc()).limit(limit)
    )
    return _lines(store, stmt)[::-1]


def log_text(store: JobStore, job_id: str, batch: int = 5000) -> Iterator[str]:
    """The whole log as text, a line at a time with its UTC time; read in batches."""
    last = 0
    while True:
        lines = log_lines(store, job_id, last, batch)
        for item in lines:
            yield f"{item.at:%Y-%m-%d %H:%M:%S}Z {item.line}\n"
        if len(lines) < batch:
            return
        last = lines[-1].id


@dataclass(frozen=True)
class Ended:
    """A job that reached a final status."""

    id: str
    trainer: str
    status: str
    finished_at: datetime


def ended_since(store: JobStore, user: str, since: datetime, limit: int = 20) -> list[Ended]:
    """``user``'s jobs that ended at or after ``since``, in the order they ended."""
    stmt = (
        select(jobs.c.id, jobs.c.trainer, jobs.c.status, jobs.c.finished_at)
        .where(
            jobs.c.user == user,
            jobs.c.status.in_(FINAL),
            jobs.c.finished_at >= since,
        )
        .order_by(jobs.c.finished_at, jobs.c.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [Ended(*r) for r in conn.execute(stmt)]


def job_users(store: JobStore, search: str = "", limit: int = 50) -> list[str]:
    """The users who started jobs (those whose name contains ``search``), sorted."""
    stmt = select(jobs.c.user).distinct().order_by(jobs.c.user).limit(limit)
    if search:
        escaped = search[:120].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(jobs.c.user.ilike(f"%{escaped}%", escape="\\"))
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(stmt)]
