"""The job store: every job, its metrics, log and artifacts, in the app's state database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Engine,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from jobs.schema import (
    job_artifacts,
    job_files,
    job_final_metrics,
    job_logs,
    job_metrics,
    jobs,
)

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
FINAL = (SUCCEEDED, FAILED, CANCELLED)
# Who takes charge of starting a queued job (``jobs.launcher``): the page's background
# callback on a web host, the web server's own launcher, handed to Celery (no worker has
# it yet), or a Celery worker.
PAGE, SERVER, CELERY, WORKER = "page", "server", "celery", "worker"
# A queued job's runner beats every few seconds; one silent this long is not waited for.
LIVE_S = 30.0
# The page launches a job within a second of Start; one nobody took this long after is an
# orphan, which the server launches (long enough for a slow browser, short for the queue).
ORPHAN_AFTER_S = 10.0


def now() -> datetime:
    """The current time in UTC, without tzinfo (both databases store it as given)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Job:
    """One job as stored."""

    id: str
    trainer: str
    params: dict[str, Any]
    user: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    device: str | None
    pid: int | None
    host: str | None
    progress: dict[str, Any]
    error: str | None
    traceback: str | None
    cancel_requested: bool
    weights_path: str | None
    revision: int

    @property
    def done(self) -> bool:
        """Whether the job has ended, one way or another."""
        return self.status in FINAL


# A Job reads its own columns only: the launch bookkeeping is the launcher's business, and
# names and tags are read by ``jobs.query`` (a Job can be read before the schema is upgraded).
JOB_COLUMNS = [jobs.c[f.name] for f in fields(Job)]


def encode_tags(tags: Sequence[str]) -> str:
    """Tags as stored: ``,a,b,`` (``""`` for none), so one tag is matched by ``%,a,%``."""
    return "," + ",".join(tags) + "," if tags else ""


def decode_tags(stored: str | None) -> tuple[str, ...]:
    """Tags from their stored form."""
    return tuple(t for t in (stored or "").split(",") if t)


JobT = TypeVar("JobT", bound=Job)


def job_of_row(row: Any, kind: type[JobT]) -> JobT:
    """A Job (or a subclass: ``jobs.query.Run``) from a row of its columns."""
    data = dict(row._mapping)
    data["params"] = json.loads(data["params"])
    data["progress"] = json.loads(data["progress"]) if data["progress"] else {}
    data["cancel_requested"] = bool(data["cancel_requested"])
    if "tags" in data:
        data["name"] = data["name"] or ""
        data["tags"] = decode_tags(data["tags"])
    return kind(**data)


class JobStore:
    """Reads and writes jobs; safe to use from the web process and from job processes."""

    def __init__(self, engine: Engine) -> None:
        """Read and write jobs through ``engine`` (the schema is ensured at start-up)."""
        self.engine = engine

    def create(
        self,
        trainer: str,
        params: dict[str, Any],
        user: str,
        *,
        name: str = "",
        tags: Sequence[str] = (),
    ) -> str:
        """Store a new queued job and return its id (name and tags already checked)."""
        job_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                insert(jobs).values(
                    id=job_id,
                    trainer=trainer,
                    params=json.dumps(params),
                    user=user,
                    status=QUEUED,
                    created_at=now(),
                    cancel_requested=False,
                    revision=0,
                    name=name,
                    tags=encode_tags(tags),
                )
            )
        return job_id

    def get(self, job_id: str) -> Job | None:
        """One job, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*JOB_COLUMNS).where(jobs.c.id == job_id)).first()
        return job_of_row(row, Job) if row else None

    def list_jobs(
        self, *, status: str | None = None, trainer: str | None = None, limit: int = 200
    ) -> list[Job]:
        """Newest jobs first, optionally of one status and trainer."""
        stmt = select(*JOB_COLUMNS).order_by(jobs.c.created_at.desc()).limit(limit)
        if status:
            stmt = stmt.where(jobs.c.status == status)
        if trainer:
            stmt = stmt.where(jobs.c.trainer == trainer)
        with self.engine.connect() as conn:
            return [job_of_row(r, Job) for r in conn.execute(stmt)]

    def update(self, job_id: str, **values: Any) -> None:
        """Change columns of one job (``progress`` may be given as a dict)."""
        if "progress" in values and not isinstance(values["progress"], str):
            values["progress"] = json.dumps(values["progress"])
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def update_if(self, job_id: str, status: str, **values: Any) -> bool:
        """Change columns of one job only while it has ``status`` (no lost update)."""
        stmt = update(jobs).where(jobs.c.id == job_id, jobs.c.status == status).values(**values)
        with self.engine.begin() as conn:
            return bool(conn.execute(stmt).rowcount)

    def finish(self, job_id: str, status: str, **values: Any) -> bool:
        """Move a job to a final status unless it already has one; True if this call did."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status.not_in(FINAL))
                .values(status=status, finished_at=now(), **values)
            )
        return bool(done.rowcount)

    def claim(self, job_id: str, max_running: int, pid: int, host: str | None = None) -> bool:
        """Start ``job_id`` if a slot is free and no older queued job waits (atomically).

        Only queued jobs that are being run count: their process waits (it beat lately),
        is starting, or may yet be launched (just created). A job nobody runs never holds
        the queue up for longer than that (the server then launches it, or fails it), and
        neither does one waiting in Celery's queue for a free worker.
        """
        running = select(func.count()).select_from(jobs).where(jobs.c.status == RUNNING)
        t = now()
        beating = jobs.c.heartbeat_at >= t - timedelta(seconds=LIVE_S)
        new = and_(
            jobs.c.launched_at.is_(None), jobs.c.created_at >= t - timedelta(seconds=ORPHAN_AFTER_S)
        )
        starting = and_(
            jobs.c.launcher != CELERY, jobs.c.launched_at >= t - timedelta(seconds=LIVE_S)
        )
        live = or_(beating, and_(jobs.c.heartbeat_at.is_(None), or_(new, starting)))
        oldest = (
            select(jobs.c.id)
            .where(jobs.c.status == QUEUED, or_(live, jobs.c.id == job_id))
            .order_by(jobs.c.created_at, jobs.c.id)
            .limit(1)
        )
        stmt = (
            update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.status == QUEUED,
                running.scalar_subquery() < max_running,
                jobs.c.id == oldest.scalar_subquery(),
            )
            .values(status=RUNNING, started_at=now(), heartbeat_at=now(), pid=pid, host=host)
        )
        with self.engine.begin() as conn:
            return bool(conn.execute(stmt).rowcount)

    def cancel_requested(self, job_id: str) -> bool:
        """Whether someone asked this job to stop (one column of one row: polled often)."""
        stmt = select(jobs.c.cancel_requested).where(jobs.c.id == job_id)
        with self.engine.connect() as conn:
            return bool(conn.execute(stmt).scalar())

    def request_cancel(self, job_id: str) -> bool:
        """Ask a job to stop; a queued job is cancelled at once. True if the job was live."""
        with self.engine.begin() as conn:
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status.not_in(FINAL))
                .values(cancel_requested=True)
            )
            queued = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == QUEUED)
                .values(status=CANCELLED, finished_at=now())
            )
        job = self.get(job_id)
        return bool(queued.rowcount) or (job is not None and job.status == RUNNING)

    @staticmethod
    def _bump(conn: Any, job_id: str) -> None:
        """Note that a job's metrics, log or artifacts changed."""
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(revision=jobs.c.revision + 1))

    def add_metric(self, job_id: str, step: int, name: str, value: float) -> None:
        """Record one metric value."""
        self.add_metrics(job_id, [(step, name, value)])

    def add_metrics(self, job_id: str, values: Sequence[tuple[int, str, float]]) -> None:
        """Record several metric values ``(step, name, value)`` in one transaction."""
        if not values:
            return
        rows = [{"job_id": job_id, "step": s, "name": n, "value": v} for s, n, v in values]
        last = {n: (s, v) for s, n, v in values}  # the batch's last value of each metric
        finals = [
            {"job_id": job_id, "name": n, "step": s, "value": v} for n, (s, v) in last.items()
        ]
        fm = job_final_metrics
        with self.engine.begin() as conn:
            conn.execute(insert(job_metrics), rows)
            # Only the job's own process writes its metrics: delete and insert cannot race.
            conn.execute(delete(fm).where(fm.c.job_id == job_id, fm.c.name.in_(list(last))))
            conn.execute(insert(fm), finals)
            self._bump(conn, job_id)

    def metrics(self, job_id: str) -> dict[str, list[tuple[int, float]]]:
        """Every metric of a job as ``name -> [(step, value), ...]``."""
        stmt = (
            select(job_metrics.c.name, job_metrics.c.step, job_metrics.c.value)
            .where(job_metrics.c.job_id == job_id)
            .order_by(job_metrics.c.id)
        )
        out: dict[str, list[tuple[int, float]]] = {}
        with self.engine.connect() as conn:
            for name, step, value in conn.execute(stmt):
                out.setdefault(name, []).append((step, value))
        return out

    def add_log(self, job_id: str, line: str) -> None:
        """Append a log line (long lines are cut)."""
        with self.engine.begin() as conn:
            conn.execute(insert(job_logs).values(job_id=job_id, at=now(), line=line[:2000]))
            self._bump(conn, job_id)

    def logs(self, job_id: str, last: int = 50) -> list[str]:
        """The last ``last`` log lines, oldest first."""
        stmt = (
            select(job_logs.c.line)
            .where(job_logs.c.job_id == job_id)
            .order_by(job_logs.c.id.desc())
            .limit(last)
        )
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(stmt)][::-1]

    def add_artifact(
        self, job_id: str, name: str, path: str, step: int, data: bytes | None = None
    ) -> None:
        """Record an artifact file (and keep its bytes, in the same transaction)."""
        with self.engine.begin() as conn:
            if data is not None:
                conn.execute(
                    insert(job_files).values(job_id=job_id, name=Path(path).name, data=data)
                )
            conn.execute(
                insert(job_artifacts).values(
                    job_id=job_id, name=name, path=path, step=step, at=now()
                )
            )
            self._bump(conn, job_id)

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        """A job's artifacts, oldest first."""
        stmt = select(job_artifacts).where(job_artifacts.c.job_id == job_id)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(job_artifacts.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def put_file(self, job_id: str, name: str, data: bytes) -> None:
        """Keep a file's bytes (an artifact or the weights) in the database."""
        with self.engine.begin() as conn:
            conn.execute(
                job_files.delete().where(job_files.c.job_id == job_id, job_files.c.name == name)
            )
            conn.execute(insert(job_files).values(job_id=job_id, name=name, data=data))

    def file(self, job_id: str, name: str) -> bytes | None:
        """A file's bytes kept by ``put_file``, or None."""
        stmt = select(job_files.c.data).where(
            job_files.c.job_id == job_id, job_files.c.name == name
        )
        with self.engine.connect() as conn:
            data = conn.execute(stmt).scalar()
        return bytes(data) if data is not None else None

    def artifact_bytes(self, art: dict[str, Any]) -> bytes | None:
        """The PNG bytes of an artifact row (from ``artifacts`` or ``artifact``)."""
        return self.file(art["job_id"], Path(art["path"]).name)

    def artifact(self, art_id: int) -> dict[str, Any] | None:
        """One artifact with its job's trainer and status, or None."""
        stmt = (
            select(job_artifacts, jobs.c.trainer, jobs.c.status)
            .join(jobs, jobs.c.id == job_artifacts.c.job_id)
            .where(job_artifacts.c.id == art_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return dict(row) if row else None

    def finished_artifacts(self, limit: int = 200) -> list[dict[str, Any]]:
        """Image artifacts of finished jobs, newest first, with each job's trainer."""
        stmt = (
            select(job_artifacts, jobs.c.trainer, jobs.c.status)
            .join(jobs, jobs.c.id == job_artifacts.c.job_id)
            .where(jobs.c.status.in_(FINAL))
            .order_by(job_artifacts.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def counts(self, statuses: Sequence[str] = (QUEUED, RUNNING)) -> int:
        """How many jobs have one of ``statuses``."""
        stmt = select(func.count()).select_from(jobs).where(jobs.c.status.in_(statuses))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())
