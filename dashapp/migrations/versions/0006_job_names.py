"""Job names and tags, each job's final metrics, and the indexes the runs table and API page by.

Revision ID: 0006_job_names
Revises: 0005_saved_views
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_job_names"
down_revision = "0005_saved_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``jobs.name``/``tags``, ``job_final_metrics`` (filled from the metrics kept), indexes."""
    op.add_column("jobs", sa.Column("name", sa.String(200), nullable=False, server_default=""))
    op.add_column("jobs", sa.Column("tags", sa.Text, nullable=False, server_default=""))
    op.create_index("ix_jobs_status_created_at", "jobs", ["status", "created_at"])
    op.create_index("ix_jobs_trainer_created_at", "jobs", ["trainer", "created_at"])
    op.create_index("ix_jobs_user_created_at", "jobs", ["user", "created_at"])
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"])
    op.create_index("ix_job_logs_job_id_id", "job_logs", ["job_id", "id"])
    op.create_table(
        "job_final_metrics",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id"), primary_key=True),
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index("ix_job_final_metrics_name_value", "job_final_metrics", ["name", "value"])
    # Jobs recorded before this revision: the last value written of each of their metrics.
    op.execute(
        "INSERT INTO job_final_metrics (job_id, name, step, value)"
        " SELECT m.job_id, m.name, m.step, m.value FROM job_metrics m"
        " WHERE m.id IN (SELECT MAX(id) FROM job_metrics GROUP BY job_id, name)"
    )
