"""Group by: up to three columns and aggregates of the filtered view, by SQL GROUP BY.

A grouped view is another "table" for the grid's infinite row model: its columns are the
group keys (``key0``..) and the aggregates (``agg0``..), sortable, paged with LIMIT and
OFFSET. Keys are the same expressions set filters match (``set_filter.value_expr``), so
opening a group is a set filter of one value per key. Every query runs under the browsed
database's statement time limit; a grouping stopped by it says so and what to do.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, func, select

from dashapp.data.catalog import NUMBER, Catalog, DataUnavailable, TableInfo
from dashapp.data.filters import FilterBuilder
from dashapp.data.grid_query import Block, GridView, parse_range, parse_view
from dashapp.data.grid_service import run_read, view_count
from dashapp.data.json_values import to_json_value
from dashapp.data.request_values import GridRequestError
from dashapp.data.set_filter import SET_KINDS, value_expr

MAX_GROUP_BY = 3
MAX_AGGREGATES = 10
AGG_FUNCS = ("count", "sum", "avg", "min", "max")
AGG_NAMES = {"count": "count", "sum": "sum", "avg": "average", "min": "min", "max": "max"}
TIMED_OUT = (
    "Grouping took longer than the statement time limit and was stopped. Narrow the view"
    " with a filter first, or group by fewer columns or by indexed ones."
)


@dataclass(frozen=True)
class Aggregate:
    """One aggregate column: ``count`` of rows, or a function of a number column."""

    fn: str
    column: str | None = None

    @property
    def label(self) -> str:
        """The column header: ``count``, ``sum of price``."""
        return "count" if self.fn == "count" else f"{AGG_NAMES[self.fn]} of {self.column}"


@dataclass(frozen=True)
class Grouping:
    """Validated group-by columns and aggregates."""

    by: tuple[str, ...]
    aggregates: tuple[Aggregate, ...]

    def ids(self) -> list[str]:
        """Column ids of the grouped grid, keys first."""
        return [f"key{i}" for i in range(len(self.by))] + [
            f"agg{i}" for i in range(len(self.aggregates))
        ]

    def spec(self) -> dict[str, Any]:
        """The JSON form (links, saved views)."""
        aggs = [{"fn": a.fn, **({"col": a.column} if a.column else {})} for a in self.aggregates]
        return {"by": list(self.by), "aggs": aggs}


def parse_grouping(info: TableInfo, spec: Any) -> Grouping:
    """Check a grouping ``{"by": [columns], "aggs": [{"fn": .., "col": ..}]}`` against a table."""
    if not isinstance(spec, Mapping):
        raise GridRequestError("the grouping must be an object")
    unknown = sorted(str(k)[:40] for k in spec if k not in ("by", "aggs"))
    if unknown:
        raise GridRequestError(f"grouping: unknown key {unknown[0]!r}")
    by = spec.get("by")
    if not isinstance(by, list) or not 1 <= len(by) <= MAX_GROUP_BY:
        raise GridRequestError(f"grouping: choose 1 to {MAX_GROUP_BY} columns to group by")
    names: list[str] = []
    for name in by:
        col = info.column(name) if isinstance(name, str) else None
        if col is None:
            raise GridRequestError(f"cannot group by {name!r}: no such column")
        if col.kind not in SET_KINDS:
            raise GridRequestError(f"cannot group by {name!r}: a {col.kind} column")
        if name in names:
            raise GridRequestError(f"grouping: {name!r} is chosen twice")
        names.append(name)
    aggs = spec.get("aggs")
    if aggs is None or aggs == []:
        aggs = [{"fn": "count"}]
    if not isinstance(aggs, list) or len(aggs) > MAX_AGGREGATES:
        raise GridRequestError(f"grouping: at most {MAX_AGGREGATES} aggregates")
    parsed = [_aggregate(info, a) for a in aggs]
    if len(set(parsed)) < len(parsed):
        raise GridRequestError("grouping: an aggregate is chosen twice")
    return Grouping(tuple(names), tuple(parsed))


def _aggregate(info: TableInfo, agg: Any) -> Aggregate:
    """One aggregate of a grouping, checked."""
    if not isinstance(agg, Mapping) or not set(agg) <= {"fn", "col"}:
        raise GridRequestError('grouping: each aggregate must be {"fn": ..., "col": ...}')
    fn, name = agg.get("fn"), agg.get("col")
    if fn not in AGG_FUNCS:
        raise GridRequestError(f"grouping: unknown aggregate {str(fn)[:40]!r}")
    if fn == "count":
        if name is not None:
            raise GridRequestError("grouping: count takes no column")
        return Aggregate("count")
    col = info.column(name) if isinstance(name, str) else None
    if col is None:
        raise GridRequestError(f"cannot aggregate {name!r}: no such column")
    if col.kind != NUMBER:
        raise GridRequestError(f"cannot take the {fn} of {name!r}: not a number column")
    return Aggregate(str(fn), col.name)


def parse_group_sort(grouping: Grouping, sort_model: Any) -> list[tuple[str, str]]:
    """The grouped grid's sort model, checked against its column ids."""
    if not sort_model:
        return []
    ids = grouping.ids()
    if not isinstance(sort_model, list) or len(sort_model) > len(ids):
        raise GridRequestError("the sort model must be a list of columns")
    out: list[tuple[str, str]] = []
    for item in sort_model:
        col = item.get("colId") if isinstance(item, Mapping) else None
        direction = item.get("sort") if isinstance(item, Mapping) else None
        if col not in ids:
            raise GridRequestError(f"cannot sort groups by {str(col)[:80]!r}: no such column")
        if direction not in ("asc", "desc"):
            raise GridRequestError(f"cannot sort {col!r} in direction {str(direction)[:20]!r}")
        out.append((str(col), str(direction)))
    return out


def grouped_select(info: TableInfo, grouping: Grouping, view: GridView, dialect: str) -> Any:
    """SELECT keys and aggregates of the view's rows, one row per group (no order, no paging)."""
    where = FilterBuilder(info, dialect).where(view.filter_model, view.quick)
    keys = [value_expr(info, name, dialect) for name in grouping.by]
    cols = info.table.c
    aggs = [
        func.count()
        if a.column is None
        # An average as a float: PostgreSQL's numeric average has 16 or more digits.
        else func.avg(cols[a.column], type_=Float)
        if a.fn == "avg"
        else getattr(func, a.fn)(cols[a.column])
        for a in grouping.aggregates
    ]
    labelled = [k.label(f"key{i}") for i, k in enumerate(keys)]
    labelled += [a.label(f"agg{i}") for i, a in enumerate(aggs)]
    return select(*labelled).select_from(info.table).where(where).group_by(*keys)


@dataclass(frozen=True)
class GroupBlock:
    """One block of groups, how many groups the view has, and its rows."""

    block: Block
    groups: int
    rows: int


def fetch_groups(catalog: Catalog, key: str, spec: Any, request: Mapping[str, Any]) -> GroupBlock:
    """One block of the grouped view for the grid (rows ``startRow``..``endRow`` of groups).

    Raises GridRequestError for a bad request (before any SQL) and DataUnavailable when the
    database fails, with its own message when the time limit stopped the grouping.
    """
    if not isinstance(request, Mapping):
        raise GridRequestError("the grid request must be an object")
    info = catalog.table(key)
    grouping = parse_grouping(info, spec)
    start, end = parse_range(request)
    sort = parse_group_sort(grouping, request.get("sortModel"))
    view = parse_view(info, {**request, "sortModel": None}, catalog.dialect)
    base = grouped_select(info, grouping, view, catalog.dialect)
    chosen = {c for c, _ in sort}
    terms = sort + [(f"key{i}", "asc") for i in range(len(grouping.by)) if f"key{i}" not in chosen]
    labels = {c.name: c for c in base.selected_columns}
    order = [labels[c].asc() if d == "asc" else labels[c].desc() for c, d in terms]
    stmt = base.order_by(*order).offset(start).limit(end - start)
    ids = grouping.ids()
    with timed_out_as_message():
        found = run_read(catalog, lambda conn: conn.execute(stmt).all())
        rows = [
            {i: to_json_value(v, truncate=None) for i, v in zip(ids, row, strict=True)}
            for row in found
        ]
        if len(rows) < end - start and (rows or start == 0):
            groups = start + len(rows)  # the last block: no need to count the groups
        else:
            cache_key = json.dumps(["groups", grouping.spec(), view.count_key()], sort_keys=True)
            count_stmt = select(func.count()).select_from(base.subquery())
            groups = catalog.cached_count(
                (info.key, cache_key),
                lambda: run_read(catalog, lambda conn: conn.execute(count_stmt).scalar_one()),
            )
        total = _rows_behind(
            catalog, info, view, grouping, rows, start == 0 and groups == len(rows)
        )
    return GroupBlock(Block(rows=rows, row_count=groups), groups, total)


def _rows_behind(
    catalog: Catalog,
    info: TableInfo,
    view: GridView,
    grouping: Grouping,
    rows: list[dict[str, Any]],
    every_group: bool,
) -> int:
    """Rows of the view: the sum of the counts when every group is here, else counted (cached)."""
    counts = [i for i, a in enumerate(grouping.aggregates) if a.fn == "count"]
    if every_group and counts:
        return sum(int(r[f"agg{counts[0]}"]) for r in rows)
    return view_count(catalog, info, view)


@contextlib.contextmanager
def timed_out_as_message() -> Iterator[None]:
    """Turn the time limit's DataUnavailable into one that says what to do about it."""
    try:
        yield
    except DataUnavailable as exc:
        if "took too long" in str(exc):
            raise DataUnavailable(TIMED_OUT) from exc
        raise


def group_filters(grouping_spec: Any, row: Any) -> dict[str, list[Any]]:
    """The set filters that select the rows behind one group (a row of the grouped grid)."""
    if not isinstance(grouping_spec, Mapping) or not isinstance(row, Mapping):
        raise GridRequestError("this is not a group to open")
    by = grouping_spec.get("by")
    if not isinstance(by, list) or not by:
        raise GridRequestError("this is not a group to open")
    out: dict[str, list[Any]] = {}
    for i, name in enumerate(by):
        if not isinstance(name, str) or f"key{i}" not in row:
            raise GridRequestError("this is not a group to open")
        out[name] = [row[f"key{i}"]]
    return out
