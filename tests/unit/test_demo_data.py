"""Demo database: deterministic, related, mixed types, safe to build concurrently."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
from pathlib import Path

from dashapp.data.demo_data import (
    GENERATOR_VERSION,
    DemoSizes,
    ensure_sqlite,
    sqlite_is_current,
    table_names,
)

SIZES = DemoSizes(events=3_000)


def _digest(path: Path) -> str:
    """Hash of every row of every demo table."""
    h = hashlib.sha256()
    con = sqlite3.connect(path)
    for name in table_names():
        for row in con.execute(f'SELECT * FROM "{name}" ORDER BY 1'):
            h.update(repr(row).encode())
    con.close()
    return h.hexdigest()


def test_dd001_builds_all_tables_deterministically(tmp_path: Path) -> None:
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    assert ensure_sqlite(a, SIZES) is True
    assert ensure_sqlite(b, SIZES) is True
    assert _digest(a) == _digest(b)
    con = sqlite3.connect(a)
    names = {
        r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view')")
    }
    assert set(table_names()) <= names
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 3_000


def test_dd002_foreign_keys_hold_and_nulls_and_types_are_mixed(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    ensure_sqlite(path, SIZES)
    con = sqlite3.connect(path)
    con.execute("PRAGMA foreign_keys=ON")
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    # NULLs where a real dataset has them.
    assert con.execute("SELECT count(*) FROM events WHERE experiment_id IS NULL").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM users WHERE last_login_at IS NULL").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM experiments WHERE accuracy IS NULL").fetchone()[0] > 0
    # Dates and timestamps in ISO form, booleans as 0/1, decimals with cents.
    row = con.execute("SELECT occurred_at, success, cost_usd FROM events WHERE id = 10").fetchone()
    assert len(row[0]) == 19
    assert (row[0][4], row[0][10]) == ("-", " ")
    assert row[1] in (0, 1)
    assert isinstance(row[2], float)
    decl = {r[1]: r[2] for r in con.execute("PRAGMA table_info(events)")}
    assert decl["occurred_at"] == "DATETIME"
    assert decl["cost_usd"].startswith("NUMERIC")
    assert {r[0] for r in con.execute("SELECT DISTINCT success FROM events")} == {0, 1}
    # The view aggregates the experiments table.
    assert con.execute("SELECT sum(runs) FROM experiment_summary").fetchone()[0] == 5_000


def test_dd003_rebuilds_only_when_stale(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    assert ensure_sqlite(path, SIZES) is True
    assert ensure_sqlite(path, SIZES) is False
    assert sqlite_is_current(path, SIZES)
    assert not sqlite_is_current(path, DemoSizes(events=4_000))
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={GENERATOR_VERSION - 1}")
    con.commit()
    con.close()
    assert not sqlite_is_current(path, SIZES)
    assert ensure_sqlite(path, SIZES) is True


def _build(path: str) -> bool:
    return ensure_sqlite(Path(path), SIZES)


def test_dd004_concurrent_first_start_builds_once(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        built = pool.map(_build, [str(path)] * 3)
    assert sorted(built) == [False, False, True]
    assert sqlite_is_current(path, SIZES)
    assert not list(tmp_path.glob("*.tmp-*"))
