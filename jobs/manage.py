"""Changing jobs after the fact: names and tags, deleting a job whole, the retention sweep.

Plain functions over the store; who may do what is decided by ``jobs.service``.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from jobs.files import artifact_dir
from jobs.schema import (
    job_artifacts,
    job_files,
    job_final_metrics,
    job_logs,
    job_metrics,
    jobs,
)
from jobs.store import FINAL, JobStore, encode_tags, now

log = logging.getLogger("dashapp.jobs")

NAME_MAX = 200
TAG_MAX = 40
TAGS_MAX = 20
# Letters (any script), digits, spaces and a few marks; no commas (the stored separator).
TAG_RE = re.compile(r"[\w .:/+=@#-]+")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Labels:
    """A job's name and tags as checked (None: leave as it is), or what is wrong."""

    name: str | None
    tags: tuple[str, ...] | None
    errors: dict[str, str]


def check_labels(name: Any = None, tags: Any = None) -> Labels:
    """Check a name and tags from untrusted input (None: not given).

    A name is at most 200 characters of text without control characters (trimmed; empty
    clears it). Tags are a list of up to 20, or one comma-separated string; each at most 40
    letters, digits, spaces or ``. : / + = @ # - _``; case is kept, duplicates dropped.
    """
    errors: dict[str, str] = {}
    clean_name: str | None = None
    if name is not None:
        if not isinstance(name, str):
            errors["name"] = "must be text"
        elif CONTROL_RE.search(name):
            errors["name"] = "must not contain control characters"
        elif len(name.strip()) > NAME_MAX:
            errors["name"] = f"must be at most {NAME_MAX} characters"
        else:
            clean_name = name.strip()
    clean_tags: tuple[str, ...] | None = None
    if tags is not None:
        items = tags.split(",") if isinstance(tags, str) else tags
        if not isinstance(items, list | tuple) or not all(isinstance(t, str) for t in items):
            errors["tags"] = "must be a list of texts"
        else:
            found = tuple(dict.fromkeys(t.strip() for t in items if t.strip()))
            bad = next((t for t in found if len(t) > TAG_MAX or not TAG_RE.fullmatch(t)), None)
            if len(found) > TAGS_MAX:
                errors["tags"] = f"at most {TAGS_MAX} tags"
            elif bad is not None:
                errors["tags"] = (
                    f"tag {bad[:50]!r} must be at most {TAG_MAX} letters, digits, spaces or"
                    " . : / + = @ # - _"
                )
            else:
                clean_tags = found
    return Labels(clean_name, clean_tags, errors)


def set_labels(
    store: JobStore, job_id: str, *, name: str | None = None, tags: Sequence[str] | None = None
) -> bool:
    """Rename and/or retag a job (values already checked); False if there is no such job."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if tags is not None:
        values["tags"] = encode_tags(tags)
    stmt = update(jobs).where(jobs.c.id == job_id)
    with store.engine.begin() as conn:
        if not values:
            return conn.execute(select(jobs.c.id).where(jobs.c.id == job_id)).first() is not None
        return bool(conn.execute(stmt.values(**values)).rowcount)


def delete_job(store: JobStore, job_id: str, data_dir: Path | None = None) -> bool:
    """Remove an ended job whole: its row, metrics, log, artifacts, kept files and folder.

    Returns False (and removes nothing) when the job does not exist or has not ended: a
    running job's process would go on writing to a job that is gone. ``data_dir``: where
    this node keeps job folders (a folder on another node is left to that node's sweep).
    """
    with store.engine.begin() as conn:
        status = conn.execute(select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
        if status not in FINAL:
            return False
        for table in (job_metrics, job_final_metrics, job_logs, job_artifacts, job_files):
            conn.execute(delete(table).where(table.c.job_id == job_id))
        gone = conn.execute(delete(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(FINAL)))
    if data_dir is not None and re.fullmatch(r"[0-9a-f]{32}", job_id):
        shutil.rmtree(artifact_dir(data_dir, job_id), ignore_errors=True)
    return bool(gone.rowcount)


def expired(store: JobStore, days: float, limit: int = 100) -> list[str]:
    """Ended jobs that finished more than ``days`` days ago, oldest first."""
    stmt = (
        select(jobs.c.id)
        .where(jobs.c.status.in_(FINAL), jobs.c.finished_at < now() - timedelta(days=days))
        .order_by(jobs.c.finished_at)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(stmt)]


def sweep_expired(
    store: JobStore, days: float, data_dir: Path | None, limit: int = 100
) -> list[str]:
    """Delete up to ``limit`` jobs past the retention (``days`` <= 0: keep every job)."""
    if days <= 0:
        return []
    gone = [job_id for job_id in expired(store, days, limit) if delete_job(store, job_id, data_dir)]
    if gone:
        log.info("deleted %d jobs that ended over %g days ago (retention)", len(gone), days)
    return gone
