"""Opening a table answers from the catalog's cache and reads the table again behind it."""

from __future__ import annotations

import time
from pathlib import Path

from dashapp.data.catalog import Catalog
from dashapp.db import make_engine


def test_cr001_a_stale_table_is_served_at_once_and_refreshed_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    writer = make_engine(url)
    with writer.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
    catalog = Catalog(make_engine(url, read_only=True))
    first = catalog.table("main.t", refresh_after_s=60)
    with writer.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE t ADD COLUMN b INTEGER")
    # Fresh enough: the cached copy, and nothing read again.
    assert catalog.table("main.t", refresh_after_s=60) is first
    # Stale: still the cached copy at once (the page does not wait on the database) ...
    assert catalog.table("main.t", refresh_after_s=0) is first
    # ... and the table read again behind it, for the next visit.
    deadline = time.monotonic() + 10
    while "b" not in [c.name for c in catalog.table("main.t").columns]:
        assert time.monotonic() < deadline, "the table was never read again"
        time.sleep(0.05)
    writer.dispose()
    catalog.engine.dispose()
