"""The saved views table of the app's state database (its history is in dashapp's migrations)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, MetaData, String, Table, Text

metadata = MetaData()
saved_views = Table(
    "saved_views",
    metadata,
    Column("id", String(16), primary_key=True),  # the short id of its link
    Column("name", String(120), nullable=False),
    Column("owner", String(120), nullable=False),
    Column("shared", Boolean, nullable=False, default=False),
    Column("table_key", String(400), nullable=False),
    Column("view", Text, nullable=False),  # JSON: the view as links.view_query takes it
    Column("created_at", DateTime, nullable=False),
    Index("ix_saved_views_owner", "owner"),
    Index("ix_saved_views_created_at", "created_at"),
)
