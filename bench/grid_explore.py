"""Exploring figures of the Data page on the 10M-row table (issue 15): run by ``grid.py --explore``.

5. the set filter's value list of a column with <= 50 values (indexed): p50, unfiltered and
   filtered, against the bare GROUP BY that counts them exactly; then applying it
6. group by one indexed column with count: p50 of the grouped block, against its bare SQL
7. a grouping slower than the statement time limit: block requests meanwhile (p50 against
   none running), and the time until it ends with its message
"""

from __future__ import annotations

import threading
import time
from typing import Any

from grid import SORTED, p50

from dashapp.db import make_engine


def explore_catalog(url: str, timeout_s: float = 10) -> Any:
    """A catalog of the bench database as the app builds it (read-only, with a time limit)."""
    from dashapp.data.catalog import Catalog

    return Catalog(make_engine(url, read_only=True, statement_timeout_s=timeout_s))


def timed_runs(fn: Any, repeat: int, warm: int = 1) -> list[float]:
    """Milliseconds of ``repeat`` runs of ``fn()`` after ``warm`` unmeasured ones."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def bare_sql(url: str, stmt: Any, dialect: Any) -> Any:
    """A callable running ``stmt`` on a plain psycopg2 cursor (the baseline: no app code)."""
    compiled = stmt.compile(dialect=dialect)
    sql_text, params = str(compiled), compiled.params
    raw = make_engine(url).raw_connection()

    def call() -> None:
        cur = raw.cursor()
        cur.execute(sql_text, params)
        cur.fetchall()
        cur.close()

    return call


def set_filter_figures(url: str, repeat: int) -> None:
    """Figure 5: the set filter's list of ``event_type`` (8 values, indexed) on 10M rows."""
    from sqlalchemy import func, select

    from dashapp.data.distinct import distinct_values

    catalog = explore_catalog(url)
    info = catalog.table("public.events")
    col = info.table.c.event_type
    exact = (
        select(col, func.count())
        .select_from(info.table)
        .group_by(col)
        .order_by(func.count().desc())
    )
    indexed = {"duration_ms": {"filterType": "number", "type": "greaterThan", "filter": 3000}}
    other = {"country": {"filterType": "set", "values": ["DE"]}}
    print("\n5. set filter: values of events.event_type (8 values, indexed) with their counts")
    print("   baseline: the bare GROUP BY that counts every row (psycopg2, no app code)")
    base = p50(timed_runs(bare_sql(url, exact, catalog.engine.dialect), max(3, repeat // 10)))
    print(f"   bare exact GROUP BY over 10M rows     p50 {base:8.1f} ms (baseline)")
    for label, model, runs in (
        ("no filter (planner's statistics)  ", {}, repeat),
        ("duration_ms > 3000 (indexed), exact", indexed, repeat),
        ("country = DE (not indexed), exact  ", other, max(3, repeat // 10)),
    ):
        found = distinct_values(catalog, "public.events", "event_type", {"filterModel": model})
        took = p50(
            timed_runs(
                lambda m=model: distinct_values(
                    catalog, "public.events", "event_type", {"filterModel": m}
                ),
                runs,
            )
        )
        target = "  (target < 300 ms)" if not model else ""
        kind = "estimated" if found.estimated else "counted"
        print(
            f"   {label}  p50 {took:8.1f} ms  ratio to baseline {took / base:.3f};"
            f" {len(found.values)} values, {kind}{target}"
        )
    # Applying it: blocks of the filtered view, sorted by occurred_at (indexed).
    from dashapp.data.grid_service import fetch_block

    picked = {"event_type": {"filterType": "set", "values": ["login", "error"]}}
    block = {"startRow": 0, "endRow": 100, "sortModel": SORTED, "filterModel": picked}
    t0 = time.perf_counter()
    fetch_block(catalog, "public.events", block)
    first = (time.perf_counter() - t0) * 1000
    later = p50(timed_runs(lambda: fetch_block(catalog, "public.events", block), repeat))
    print(
        f"   applied (login, error): first block {first:.1f} ms (counts the view once),"
        f" later blocks p50 {later:.1f} ms"
    )
    catalog.engine.dispose()


def group_figures(url: str, repeat: int) -> None:
    """Figure 6: group by event_type with count, the grouped block against its bare SQL."""
    from dashapp.data.grid_query import parse_view
    from dashapp.data.grouping import fetch_groups, grouped_select, parse_grouping

    catalog = explore_catalog(url)
    info = catalog.table("public.events")
    spec = {"by": ["event_type"], "aggs": [{"fn": "count"}]}
    request = {"startRow": 0, "endRow": 100, "sortModel": []}
    view = parse_view(info, {}, "postgresql")
    stmt = grouped_select(info, parse_grouping(info, spec), view, "postgresql")
    runs = max(3, repeat // 10)
    base = p50(timed_runs(bare_sql(url, stmt.limit(100), catalog.engine.dialect), runs))
    took = p50(timed_runs(lambda: fetch_groups(catalog, "public.events", spec, request), runs))
    print("\n6. group by events.event_type (indexed) with count, first block of groups")
    print(f"   bare GROUP BY (psycopg2)        p50 {base:8.1f} ms (baseline)")
    print(f"   grouped block (fetch_groups)    p50 {took:8.1f} ms  ratio {took / base:.2f}")
    catalog.engine.dispose()


def slow_group_figures(url: str, repeat: int) -> None:
    """Figure 7: a grouping past a 3 s time limit, and block requests while it runs."""
    from dashapp.data.catalog import DataUnavailable
    from dashapp.data.grid_service import fetch_block
    from dashapp.data.grouping import fetch_groups

    timeout_s = 3.0
    catalog = explore_catalog(url, timeout_s)
    block = {"startRow": 0, "endRow": 100, "sortModel": SORTED, "filterModel": {}}
    fetch_block(catalog, "public.events", block)
    alone = timed_runs(lambda: fetch_block(catalog, "public.events", block), repeat)
    outcome: dict[str, Any] = {}

    def slow() -> None:
        t0 = time.perf_counter()
        try:
            first = {"startRow": 0, "endRow": 100}
            fetch_groups(catalog, "public.events", {"by": ["occurred_at", "message"]}, first)
            outcome["message"] = "finished (no time limit reached)"
        except DataUnavailable as exc:
            outcome["message"] = str(exc)
        outcome["s"] = time.perf_counter() - t0

    thread = threading.Thread(target=slow)
    thread.start()
    during = []
    while thread.is_alive():
        t0 = time.perf_counter()
        fetch_block(catalog, "public.events", block)
        during.append((time.perf_counter() - t0) * 1000)
    thread.join()
    print(f"\n7. a grouping past the {timeout_s:g} s statement time limit (occurred_at, message)")
    print(f"   block requests alone            p50 {p50(alone):7.1f} ms (baseline)")
    print(
        f"   block requests while it ran     p50 {p50(during):7.1f} ms  ratio"
        f" {p50(during) / p50(alone):.2f}; {len(during)} answered meanwhile"
    )
    print(f"   the grouping ended after {outcome['s']:.1f} s: {outcome['message']}")
    catalog.engine.dispose()


def explore_figures(url: str, repeat: int) -> None:
    """Figures 5 to 7."""
    set_filter_figures(url, repeat)
    group_figures(url, repeat)
    slow_group_figures(url, repeat)
