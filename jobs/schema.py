"""The job tables of the app's state database (their history is in dashapp's migrations)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("trainer", String(80), nullable=False),
    Column("params", Text, nullable=False),
    Column("user", String(120), nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Column("heartbeat_at", DateTime),
    Column("device", String(40)),
    Column("pid", Integer),
    Column("host", String(255)),  # where the job's process runs (pids mean nothing elsewhere)
    Column("progress", Text),
    Column("error", Text),
    Column("traceback", Text),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("weights_path", Text),
    # Bumped with every metric, log line and artifact: a poll reads one row to know
    # whether anything beyond the progress changed.
    Column("revision", Integer, nullable=False, default=0),
    # Who took charge of starting a queued job (``jobs.store.PAGE``, ``SERVER``, ``CELERY``,
    # ``WORKER``) and when: a queued job nobody took is an orphan the server launches itself.
    Column("launcher", String(20)),
    Column("launched_at", DateTime),
    Index("ix_jobs_created_at", "created_at"),
)
job_metrics = Table(
    "job_metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id"), nullable=False, index=True),
    Column("step", Integer, nullable=False),
    Column("name", String(80), nullable=False),
    Column("value", Float, nullable=False),
)
job_logs = Table(
    "job_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id"), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("line", Text, nullable=False),
)
job_artifacts = Table(
    "job_artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("path", Text, nullable=False),
    Column("step", Integer, nullable=False),
    Column("at", DateTime, nullable=False),
)


# The bytes of each artifact and of the weights, so that any web or worker node serves
# them from the shared database (the files under the data directory are a local copy).
job_files = Table(
    "job_files",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
