"""Who took charge of starting each queued job, and when (orphaned jobs are launched by the server).

Revision ID: 0004_jobs_launch
Revises: 0003_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_jobs_launch"
down_revision = "0003_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``jobs.launcher`` and ``jobs.launched_at`` (NULL: nobody has taken the job yet)."""
    op.add_column("jobs", sa.Column("launcher", sa.String(20)))
    op.add_column("jobs", sa.Column("launched_at", sa.DateTime))
