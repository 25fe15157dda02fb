"""The Compositor's images in the state database: sessions, files and their chunks.

Every node of a deployment reads them (with DASHAPP_COMPOSITOR_STORAGE=database, or auto
on PostgreSQL); with local storage the tables stay empty.

Revision ID: 0002_compositor
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_compositor"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three tables (frozen here: later changes are later revisions)."""
    op.create_table(
        "compositor_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("touched_at", sa.Float, nullable=False),
    )
    op.create_index("ix_compositor_sessions_touched_at", "compositor_sessions", ["touched_at"])
    op.create_table(
        "compositor_files",
        sa.Column("session", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("mime", sa.String(40), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("meta", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.ForeignKeyConstraint(["session"], ["compositor_sessions.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "compositor_chunks",
        sa.Column("session", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(
            ["session", "kind", "id"],
            ["compositor_files.session", "compositor_files.kind", "compositor_files.id"],
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    """Drop them (the images go with them)."""
    op.drop_table("compositor_chunks")
    op.drop_table("compositor_files")
    op.drop_index("ix_compositor_sessions_touched_at", "compositor_sessions")
    op.drop_table("compositor_sessions")
