"""The Compositor's tables in the app's state database (their history is in dashapp's migrations).

Files are stored in chunks of ``CHUNK`` bytes (the last one shorter), so writing or reading
one never holds more than a chunk in memory, whatever the file's size. ``CHUNK`` is part of
the format: readers find a byte's chunk by it, so it never changes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

CHUNK = 1024 * 1024
metadata = MetaData()
sessions = Table(
    "compositor_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("touched_at", Float, nullable=False),  # Unix time of the last use: the idle sweep
    Index("ix_compositor_sessions_touched_at", "touched_at"),
)
files = Table(
    "compositor_files",
    metadata,
    Column("session", String(32), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("id", String(16), primary_key=True),
    Column("mime", String(40), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("meta", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    ForeignKeyConstraint(["session"], ["compositor_sessions.id"], ondelete="CASCADE"),
)
chunks = Table(
    "compositor_chunks",
    metadata,
    Column("session", String(32), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("id", String(16), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
    ForeignKeyConstraint(
        ["session", "kind", "id"],
        ["compositor_files.session", "compositor_files.kind", "compositor_files.id"],
        ondelete="CASCADE",
    ),
)
