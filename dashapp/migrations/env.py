"""Alembic environment: migrations run on the connection ``dashapp.migrations`` hands in."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through dashapp (`dashapp db upgrade`), not alembic's CLI")
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
