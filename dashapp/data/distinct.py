"""A column's distinct values with their counts in the current view, for the set filter.

The view's other filters apply (not the column's own set filter: the list offers what one
may pick). Top values first; a search narrows in SQL, so a column with millions of values
is never read whole. Every query runs under the browsed database's statement time limit.
On a large PostgreSQL table with no filter the counts come from the planner's statistics
(``pg_stats``) when they cover every value: exact counts would read every row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, select, text, type_coerce

from dashapp.data.catalog import BOOL, ESTIMATE_ABOVE, NUMBER, TEXT, Catalog, TableInfo
from dashapp.data.filters import MAX_TEXT, FilterBuilder, escape_like
from dashapp.data.grid_query import GridView, parse_view
from dashapp.data.grid_service import run_read
from dashapp.data.json_values import SAFE_INT, to_json_value
from dashapp.data.request_values import GridRequestError
from dashapp.data.set_filter import SET_KINDS, value_expr

DEFAULT_LISTED = 50
MAX_LISTED = 500
_PG_STATS = text(
    "SELECT c.reltuples::bigint, s.null_frac, s.n_distinct,"
    " s.most_common_vals::text::text[], s.most_common_freqs"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname"
    " WHERE n.nspname = :schema AND c.relname = :table AND s.attname = :column"
    " AND NOT s.inherited"
)


@dataclass(frozen=True)
class DistinctValues:
    """Values of one column in a view, commonest first."""

    column: str
    values: list[tuple[Any, int]]  # (value as JSON, rows), NULL as None
    more: bool  # the column has more values than listed (search to narrow)
    estimated: bool  # counts from the database's statistics, not counted
    search: str = ""


def without_own_set(filter_model: Any, column: str) -> Any:
    """The filter model less ``column``'s set filter (its other filter stays)."""
    if not isinstance(filter_model, Mapping) or column not in filter_model:
        return filter_model
    rest = dict(filter_model)
    entry = rest.pop(column)
    if isinstance(entry, Mapping) and entry.get("filterType") == "set":
        return rest
    conditions = entry.get("conditions") if isinstance(entry, Mapping) else None
    if isinstance(conditions, list) and len(conditions) == 2:
        last = conditions[1]
        if isinstance(last, Mapping) and last.get("filterType") == "set":
            rest[column] = conditions[0]
            return rest
    rest[column] = entry
    return rest


def check_column(info: TableInfo, column: Any, *, purpose: str) -> str:
    """A column name of ``info`` that can be listed (GridRequestError otherwise)."""
    col = info.column(column) if isinstance(column, str) else None
    if col is None:
        raise GridRequestError(f"cannot {purpose} {column!r}: no such column")
    if col.kind not in SET_KINDS:
        raise GridRequestError(f"cannot {purpose} {column!r}: a {col.kind} column")
    return col.name


def check_search(search: Any) -> str:
    """The search text of a value list, checked."""
    if search is None:
        return ""
    if not isinstance(search, str) or len(search) > MAX_TEXT:
        raise GridRequestError(f"the search must be text of at most {MAX_TEXT} characters")
    if "\x00" in search:
        raise GridRequestError("the search cannot contain the NUL character")
    return search.strip()


def distinct_values(
    catalog: Catalog,
    key: str,
    column: Any,
    request: Mapping[str, Any],
    *,
    search: Any = "",
    limit: int = DEFAULT_LISTED,
    keep_own_filter: bool = False,
) -> DistinctValues:
    """The commonest values of ``column`` in the view ``request`` describes (filters, quick).

    The column's own set filter is left out unless ``keep_own_filter`` (a profile of the
    view as it is shown).

    Raises GridRequestError for a bad request (before any SQL), DataUnavailable when the
    database fails or the time limit stops the query.
    """
    if not isinstance(request, Mapping):
        raise GridRequestError("the view must be an object")
    info = catalog.table(key)
    name = check_column(info, column, purpose="list the values of")
    search = check_search(search)
    limit = max(1, min(int(limit), MAX_LISTED))
    others = dict(request)
    if not keep_own_filter:
        others["filterModel"] = without_own_set(request.get("filterModel"), name)
    view = parse_view(info, {**others, "sortModel": None}, catalog.dialect)
    if not search and not view.filter_model and not view.quick:
        estimate = pg_estimate(catalog, info, name, limit)
        if estimate is not None:
            return estimate
    return _counted(catalog, info, name, view, search, limit)


def _counted(
    catalog: Catalog, info: TableInfo, name: str, view: GridView, search: str, limit: int
) -> DistinctValues:
    """Distinct values counted by GROUP BY over the view."""
    where = FilterBuilder(info, catalog.dialect).where(view.filter_model, view.quick)
    expr = value_expr(info, name, catalog.dialect)
    n = func.count()
    stmt = select(expr.label("v"), n.label("n")).select_from(info.table).where(where)
    if search:
        stmt = stmt.where(
            searchable(info, name, catalog.dialect).ilike(f"%{escape_like(search)}%", escape="\\")
        )
    stmt = stmt.group_by(expr).order_by(n.desc(), expr.asc()).limit(limit + 1)
    rows = run_read(catalog, lambda conn: conn.execute(stmt).all())
    values = [(to_json_value(v, truncate=None), int(c)) for v, c in rows[:limit]]
    return DistinctValues(name, values, len(rows) > limit, False, search)


def searchable(info: TableInfo, name: str, dialect: str) -> Any:
    """The column as text, for a case-insensitive search of its values."""
    col = info.table.c[name]
    kind = info.column(name)
    if kind is not None and kind.kind == TEXT:
        return col
    return type_coerce(col, String) if dialect == "sqlite" else cast(col, String)


def pg_statistics(catalog: Catalog, info: TableInfo, name: str) -> Any:
    """PostgreSQL's statistics row of one column (None: not analysed, or not PostgreSQL)."""
    if catalog.dialect != "postgresql" or info.is_view:
        return None
    params = {"schema": info.schema, "table": info.name, "column": name}
    return run_read(catalog, lambda conn: conn.execute(_PG_STATS, params).first())


def pg_estimate(catalog: Catalog, info: TableInfo, name: str, limit: int) -> DistinctValues | None:
    """Counts from ``pg_stats`` when the table is large and its statistics cover every value."""
    stats = pg_statistics(catalog, info, name)
    if stats is None:
        return None
    rows, null_frac, _n_distinct, common, freqs = stats
    if rows is None or rows <= ESTIMATE_ABOVE or not common or not freqs:
        return None
    if abs(sum(freqs) + (null_frac or 0.0) - 1.0) > 1e-3:
        return None  # values beyond the most common ones: count them instead
    kind = info.column(name)
    assert kind is not None
    values = [
        (from_pg_text(kind.kind, v), round(f * rows)) for v, f in zip(common, freqs, strict=False)
    ]
    if null_frac:
        values.append((None, round(null_frac * rows)))
    values.sort(key=lambda vc: -vc[1])
    return DistinctValues(name, values[:limit], len(values) > limit, True)


_INT_TEXT = re.compile(r"[+-]?\d+")


def from_pg_text(kind: str, value: str) -> Any:
    """A value of ``pg_stats`` (text) as the counted path returns it (``to_json_value``)."""
    if kind == BOOL:
        return value in ("t", "true")
    if kind == NUMBER:
        if _INT_TEXT.fullmatch(value):
            number = int(value)
            return number if -SAFE_INT < number < SAFE_INT else value
        digits = len(re.sub(r"[^0-9]", "", value.split("e")[0].split("E")[0]).lstrip("0"))
        try:
            return float(value) if digits <= 15 else value
        except ValueError:
            return value  # NaN, infinity
    return value
