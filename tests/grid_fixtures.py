"""A small table with awkward names and every column kind, built in SQLite or PostgreSQL."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    text,
)

from dashapp.db import make_engine

TABLE = 'Mixed "Names" ünï'
WORDS = ["alpha", "Beta", "gamma_1", "50% off", "back\\slash", "", "Zoë", "ALPHA beta", "it's"]


def mixed_rows(n: int = 80) -> list[dict[str, Any]]:
    """Deterministic rows with NULLs, empty text, ties and edge values."""
    rnd = random.Random(42)
    rows = []
    for i in range(1, n + 1):
        rows.append(
            {
                "id": i,
                "Name": None if i % 11 == 0 else rnd.choice(WORDS),
                "select": None if i % 13 == 0 else rnd.randrange(-5, 6),
                "price $": None if i % 7 == 0 else Decimal(rnd.randrange(0, 10000)) / 100,
                "day": None if i % 9 == 0 else date(2024, 1, 1) + timedelta(rnd.randrange(0, 20)),
                "at": None
                if i % 10 == 0
                else datetime(2024, 1, 1) + timedelta(hours=rnd.randrange(0, 24 * 10)),
                "flag": None if i % 8 == 0 else rnd.random() < 0.5,
            }
        )
    return rows


def build_mixed(url: str, schema: str | None = None) -> Table:
    """Create and fill the mixed table (and a view and a composite-key table) at ``url``."""
    meta = MetaData(schema=schema)
    table = Table(
        TABLE,
        meta,
        Column("id", Integer, primary_key=True),
        Column("Name", Text),
        Column("select", Integer),
        Column("price $", Numeric(10, 2)),
        Column("day", Date),
        Column("at", DateTime),
        Column("flag", Boolean),
    )
    pair = Table(
        "pairs",
        meta,
        Column("a", String(10), primary_key=True),
        Column("b", Integer, primary_key=True),
        Column("note", Text),
    )
    nokey = Table("no key", meta, Column("x", Integer), Column("y", Text))
    Table("empty", meta, Column("id", Integer, primary_key=True), Column("v", Text))
    engine = make_engine(url)
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(table.insert(), mixed_rows())
        conn.execute(
            pair.insert(),
            [{"a": f"k{i % 7}", "b": i, "note": "x" * (i % 5)} for i in range(300)],
        )
        conn.execute(nokey.insert(), [{"x": i % 4, "y": f"v{i % 3}"} for i in range(250)])
        prep = engine.dialect.identifier_preparer
        src = prep.format_table(table)
        view = prep.format_table(Table("positive prices", MetaData(schema=schema)))
        conn.execute(text(f'CREATE VIEW {view} AS SELECT * FROM {src} WHERE "price $" > 10'))
    engine.dispose()
    return table
