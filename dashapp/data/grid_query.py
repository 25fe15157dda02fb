"""AG Grid requests to SQL: validate sort and filter models, build one SELECT.

Identifiers only ever come from reflected metadata (``TableInfo``); every value the browser
sends travels as a bound parameter. Anything unexpected raises ``GridRequestError`` with a
message fit to show the user, before any SQL runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    func,
    or_,
    select,
)

from dashapp.data.catalog import BINARY, JSONISH, TableInfo
from dashapp.data.filters import FilterBuilder, GridRequestError

MAX_BLOCK = 1000


@dataclass(frozen=True)
class GridView:
    """What defines the rows of a view: filters, quick search and sort (no paging)."""

    filter_model: Mapping[str, Any]
    sort_model: tuple[tuple[str, str], ...]
    quick: str = ""

    def count_key(self) -> str:
        """A canonical string for caching the count of this view's rows."""
        return json.dumps([self.filter_model, self.quick], sort_keys=True, default=str)


@dataclass(frozen=True)
class Block:
    """One block of rows for the infinite row model."""

    rows: list[dict[str, Any]]
    row_count: int


def parse_sort(info: TableInfo, sort_model: Any) -> tuple[tuple[str, str], ...]:
    """Validate an AG Grid sort model into ``((column, 'asc'|'desc'), ...)``."""
    if sort_model is None:
        return ()
    if not isinstance(sort_model, list) or len(sort_model) > len(info.columns):
        raise GridRequestError("the sort model must be a list of columns")
    out: list[tuple[str, str]] = []
    for item in sort_model:
        if not isinstance(item, Mapping):
            raise GridRequestError("each sort entry must be an object")
        name, direction = item.get("colId"), item.get("sort")
        col = info.column(name) if isinstance(name, str) else None
        if col is None:
            raise GridRequestError(f"cannot sort by {name!r}: no such column")
        if direction not in ("asc", "desc"):
            raise GridRequestError(f"cannot sort {name!r} in direction {direction!r}")
        if col.kind in (JSONISH, BINARY):
            raise GridRequestError(f"cannot sort by {name!r}: {col.kind} columns do not sort")
        out.append((str(name), str(direction)))
    return tuple(out)


def sort_terms(info: TableInfo, sort: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """The full ordering: the user's sort, then a tiebreak that makes the order total.

    The tiebreak is the primary key (or, without one, the remaining columns) in the
    direction of the first sort column, so an index on that column still serves the sort.
    """
    direction = sort[0][1] if sort else "asc"
    chosen = {name for name, _ in sort}
    tiebreak = info.primary_key or tuple(
        c.name for c in info.columns if c.kind not in (JSONISH, BINARY)
    )
    return list(sort) + [(name, direction) for name in tiebreak if name not in chosen]


def order_by(info: TableInfo, sort: tuple[tuple[str, str], ...]) -> list[Any]:
    """ORDER BY clauses for ``sort_terms``."""
    cols = info.table.c
    return [cols[n].asc() if d == "asc" else cols[n].desc() for n, d in sort_terms(info, sort)]


def keyset_capable(info: TableInfo, terms: list[tuple[str, str]]) -> bool:
    """Whether rows after a known row can be found by comparing sort keys.

    Only when every sort column is NOT NULL: a comparison never matches NULL, so rows
    with a NULL key would be skipped.
    """
    cols = {c.name: c for c in info.columns}
    return all(not cols[name].nullable for name, _ in terms)


def after_row(info: TableInfo, terms: list[tuple[str, str]], values: tuple[Any, ...]) -> Any:
    """Rows strictly after the row whose sort-key values are ``values``, in ``terms`` order.

    Written as ``k1 >= v1 AND (k1 > v1 OR (k2 > v2 ...))`` rather than a plain OR of cases:
    the leading range on the first key lets an index on that column alone serve the seek.
    """
    cols = info.table.c

    def strictly(i: int) -> Any:
        name, direction = terms[i]
        col = cols[name]
        step = col > values[i] if direction == "asc" else col < values[i]
        if i == len(terms) - 1:
            return step
        return or_(step, and_(col == values[i], strictly(i + 1)))

    first, direction = terms[0]
    col = cols[first]
    bound = col >= values[0] if direction == "asc" else col <= values[0]
    return and_(bound, strictly(0))


def parse_view(info: TableInfo, request: Mapping[str, Any], dialect: str) -> GridView:
    """Validate the view part of a request (filters, sort, quick search)."""
    quick = request.get("quick") or ""
    if not isinstance(quick, str):
        raise GridRequestError("the quick search must be text")
    view = GridView(
        filter_model=request.get("filterModel") or {},
        sort_model=parse_sort(info, request.get("sortModel")),
        quick=quick.strip(),
    )
    FilterBuilder(info, dialect).where(view.filter_model, view.quick)  # validates
    return view


def parse_range(request: Mapping[str, Any]) -> tuple[int, int]:
    """Validate ``startRow``/``endRow`` of a block request."""
    start, end = request.get("startRow"), request.get("endRow")
    if isinstance(start, bool) or isinstance(end, bool):
        raise GridRequestError("startRow and endRow must be whole numbers")
    if not isinstance(start, int) or not isinstance(end, int):
        raise GridRequestError("startRow and endRow must be whole numbers")
    if start < 0 or end <= start or end - start > MAX_BLOCK:
        raise GridRequestError(f"a block must be 1 to {MAX_BLOCK} rows from row 0 on")
    return start, end


def select_view(info: TableInfo, view: GridView, dialect: str) -> Select[Any]:
    """The SELECT of every row of a view, sorted (no paging)."""
    where = FilterBuilder(info, dialect).where(view.filter_model, view.quick)
    return select(info.table).where(where).order_by(*order_by(info, view.sort_model))


def count_view(info: TableInfo, view: GridView, dialect: str) -> Select[Any]:
    """The SELECT counting a view's rows."""
    where = FilterBuilder(info, dialect).where(view.filter_model, view.quick)
    return select(func.count()).select_from(info.table).where(where)
