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
    # A person's words for the run ("" until given) and its tags, stored as ",a,b," so that
    # one tag is found with LIKE '%,a,%' on either database (tags never contain commas).
    Column("name", String(200), nullable=False, default="", server_default=""),
    Column("tags", Text, nullable=False, default="", server_default=""),
    Index("ix_jobs_created_at", "created_at"),
    # The runs table and the API filter on these and page newest first.
    Index("ix_jobs_status_created_at", "status", "created_at"),
    Index("ix_jobs_trainer_created_at", "trainer", "created_at"),
    Index("ix_jobs_user_created_at", "user", "created_at"),
    Index("ix_jobs_finished_at", "finished_at"),  # the retention sweep
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
    Index("ix_job_logs_job_id_id", "job_id", "id"),  # the whole log, a page at a time
)
# The last value of each metric of each job (kept by ``JobStore.add_metrics``): the runs
# table's metric columns and sorting by a metric read one indexed row per job.
job_final_metrics = Table(
    "job_final_metrics",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id"), primary_key=True),
    Column("name", String(80), primary_key=True),
    Column("step", Integer, nullable=False),
    Column("value", Float, nullable=False),
    Index("ix_job_final_metrics_name_value", "name", "value"),
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
