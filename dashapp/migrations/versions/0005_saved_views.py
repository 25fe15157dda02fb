"""Saved views of the Data page: a named view, private or shared, opened by a short link.

Revision ID: 0005_saved_views
Revises: 0004_jobs_launch
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_saved_views"
down_revision = "0004_jobs_launch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the saved views table (frozen here: later changes are later revisions)."""
    op.create_table(
        "saved_views",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False),
        sa.Column("table_key", sa.String(400), nullable=False),
        sa.Column("view", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_saved_views_owner", "saved_views", ["owner"])
    op.create_index("ix_saved_views_created_at", "saved_views", ["created_at"])
