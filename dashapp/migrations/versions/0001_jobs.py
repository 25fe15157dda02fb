"""The job tables as dashapp 0.1 left them (and adopts a database it created).

Before migrations the app created its tables "if missing" and added new nullable columns
with ad-hoc ALTERs; a database made that way is recognised here: its tables and rows are
kept, the tables and columns it lacks are added. A new database gets the whole schema.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def tables() -> list[sa.Table]:
    """The schema of this revision (frozen here: later changes are later revisions)."""
    meta = sa.MetaData()
    return [
        sa.Table(
            "jobs",
            meta,
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("trainer", sa.String(80), nullable=False),
            sa.Column("params", sa.Text, nullable=False),
            sa.Column("user", sa.String(120), nullable=False),
            sa.Column("status", sa.String(12), nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("started_at", sa.DateTime),
            sa.Column("finished_at", sa.DateTime),
            sa.Column("heartbeat_at", sa.DateTime),
            sa.Column("device", sa.String(40)),
            sa.Column("pid", sa.Integer),
            sa.Column("host", sa.String(255)),
            sa.Column("progress", sa.Text),
            sa.Column("error", sa.Text),
            sa.Column("traceback", sa.Text),
            sa.Column("cancel_requested", sa.Boolean, nullable=False),
            sa.Column("weights_path", sa.Text),
            sa.Column("revision", sa.Integer, nullable=False),
            sa.Index("ix_jobs_created_at", "created_at"),
        ),
        sa.Table(
            "job_metrics",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "job_id", sa.String(32), sa.ForeignKey("jobs.id"), nullable=False, index=True
            ),
            sa.Column("step", sa.Integer, nullable=False),
            sa.Column("name", sa.String(80), nullable=False),
            sa.Column("value", sa.Float, nullable=False),
        ),
        sa.Table(
            "job_logs",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "job_id", sa.String(32), sa.ForeignKey("jobs.id"), nullable=False, index=True
            ),
            sa.Column("at", sa.DateTime, nullable=False),
            sa.Column("line", sa.Text, nullable=False),
        ),
        sa.Table(
            "job_artifacts",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "job_id", sa.String(32), sa.ForeignKey("jobs.id"), nullable=False, index=True
            ),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("path", sa.Text, nullable=False),
            sa.Column("step", sa.Integer, nullable=False),
            sa.Column("at", sa.DateTime, nullable=False),
        ),
        sa.Table(
            "job_files",
            meta,
            sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id"), primary_key=True),
            sa.Column("name", sa.String(200), primary_key=True),
            sa.Column("data", sa.LargeBinary, nullable=False),
        ),
    ]


def upgrade() -> None:
    """Create the job tables, or complete those a pre-migration release created."""
    bind = op.get_bind()
    existing = sa.inspect(bind)
    for table in tables():
        if not existing.has_table(table.name):
            table.create(bind)
            continue
        have = {c["name"] for c in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have and column.nullable:  # the old ad-hoc ALTERs
                op.add_column(table.name, sa.Column(column.name, column.type))
