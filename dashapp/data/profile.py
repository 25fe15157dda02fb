"""A column's profile in the current view: nulls, distinct values, range, and its shape.

All SQL under the browsed database's statement time limit. On a large PostgreSQL table
with no filter, nulls and distinct values are the planner's estimates (``pg_stats``),
marked as such: counting them exactly would read every row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from dashapp.data.catalog import (
    BOOL,
    DATE,
    DATETIME,
    ESTIMATE_ABOVE,
    NUMBER,
    TEXT,
    Catalog,
    TableInfo,
)
from dashapp.data.distinct import DistinctValues, distinct_values, pg_statistics
from dashapp.data.filters import FilterBuilder
from dashapp.data.grid_query import GridView, parse_view
from dashapp.data.grid_service import Aggregate, aggregate, run_read, view_count
from dashapp.data.json_values import to_json_value
from dashapp.data.request_values import GridRequestError
from dashapp.data.set_filter import SET_KINDS, value_expr

HISTOGRAM_BINS = 20
TOP_VALUES = 10


@dataclass(frozen=True)
class ColumnProfile:
    """What a column holds in a view."""

    column: str
    kind: str
    sql_type: str
    rows: int
    nulls: int | None
    distinct: int | None
    estimated: bool  # nulls and distinct come from the database's statistics
    minimum: Any = None
    maximum: Any = None
    top: DistinctValues | None = None  # text and booleans
    chart: Aggregate | None = None  # histogram (numbers) or counts over time (dates)


def column_profile(
    catalog: Catalog, key: str, column: Any, request: Mapping[str, Any]
) -> ColumnProfile:
    """Profile ``column`` of the view ``request`` describes (its filters and quick search).

    Raises GridRequestError for a bad request (before any SQL), DataUnavailable when the
    database fails or the time limit stops a query.
    """
    if not isinstance(request, Mapping):
        raise GridRequestError("the view must be an object")
    info = catalog.table(key)
    col = info.column(column) if isinstance(column, str) else None
    if col is None:
        raise GridRequestError(f"cannot profile {column!r}: no such column")
    view = parse_view(info, {**request, "sortModel": None}, catalog.dialect)
    rows = view_count(catalog, info, view)
    nulls, distinct, estimated = _counts(catalog, info, col.name, view, rows)
    low = high = None
    if col.kind in (NUMBER, DATE, DATETIME, TEXT):
        low, high = _range(catalog, info, col.name, view)
    top = chart = None
    if col.kind in (TEXT, BOOL):
        top = distinct_values(
            catalog, key, col.name, request, limit=TOP_VALUES, keep_own_filter=True
        )
    elif col.kind in (NUMBER, DATE, DATETIME) and rows:
        chart = aggregate(catalog, key, col.name, request, bins=HISTOGRAM_BINS)
    return ColumnProfile(
        col.name, col.kind, col.sql_type, rows, nulls, distinct, estimated, low, high, top, chart
    )


def _counts(
    catalog: Catalog, info: TableInfo, name: str, view: GridView, rows: int
) -> tuple[int | None, int | None, bool]:
    """NULLs and distinct values: estimated on a large unfiltered PostgreSQL table, else counted."""
    kind = info.column(name)
    assert kind is not None
    if not view.filter_model and not view.quick:
        stats = pg_statistics(catalog, info, name)
        if stats is not None and stats[0] is not None and stats[0] > ESTIMATE_ABOVE:
            reltuples, null_frac, n_distinct = stats[0], stats[1] or 0.0, stats[2]
            distinct = None
            if n_distinct is not None:
                # Negative: a fraction of the rows (the column grows with the table).
                distinct = round(-n_distinct * reltuples if n_distinct < 0 else n_distinct)
            return round(null_frac * reltuples), distinct, True
    where = FilterBuilder(info, catalog.dialect).where(view.filter_model, view.quick)
    col = info.table.c[name]
    parts = [func.count(col)]
    if kind.kind in SET_KINDS:  # JSON and binary values have no equality to count by
        parts.append(func.count(value_expr(info, name, catalog.dialect).distinct()))
    stmt = select(*parts).select_from(info.table).where(where)
    found = run_read(catalog, lambda conn: conn.execute(stmt).one())
    distinct = int(found[1]) if len(found) > 1 else None
    return rows - int(found[0]), distinct, False


def _range(catalog: Catalog, info: TableInfo, name: str, view: GridView) -> tuple[Any, Any]:
    """Smallest and largest value in the view (an index answers it on an unfiltered table)."""
    where = FilterBuilder(info, catalog.dialect).where(view.filter_model, view.quick)
    col = info.table.c[name]
    stmt = select(func.min(col), func.max(col)).select_from(info.table).where(where)
    low, high = run_read(catalog, lambda conn: conn.execute(stmt).one())
    return to_json_value(low), to_json_value(high)
