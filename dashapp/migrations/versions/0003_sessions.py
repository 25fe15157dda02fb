"""Sign-in sessions kept server-side (revocable, shared by every node).

Revision ID: 0003_sessions
Revises: 0002_compositor
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sessions"
down_revision = "0002_compositor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The table of live sign-ins: a token's hash, the user, the CSRF token, the end."""
    op.create_table(
        "signin_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user", sa.String(120), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_signin_sessions_expires_at", "signin_sessions", ["expires_at"])
