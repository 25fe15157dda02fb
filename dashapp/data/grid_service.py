"""Running grid queries: blocks, row detail, CSV export and chart aggregates.

Every function here reads only (SELECT) and turns database trouble into ``DataUnavailable``
with a message fit for a banner, so a caller never has to show a traceback.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, cast, func, literal_column, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.types import Float, String

from dashapp.data.catalog import (
    BOOL,
    DATE,
    DATETIME,
    NUMBER,
    TEXT,
    Catalog,
    DataUnavailable,
    TableInfo,
)
from dashapp.data.db_errors import explain_db_error, is_schema_change
from dashapp.data.filters import FilterBuilder, GridRequestError
from dashapp.data.grid_query import (
    Block,
    GridView,
    after_row,
    count_view,
    keyset_capable,
    parse_range,
    parse_view,
    select_view,
    sort_terms,
)
from dashapp.data.json_values import shape_rows, to_json_value

EXPORT_BATCH = 5_000


def _run(catalog: Catalog, fn: Any) -> Any:
    """Run ``fn(conn)`` on a fresh connection, mapping driver errors to DataUnavailable.

    A table changed under us (a column dropped or renamed) makes the catalog read the
    tables again, so the reload the message asks for shows the table as it is now.
    """
    try:
        with catalog.engine.connect() as conn:
            return fn(conn)
    except (DBAPIError, SQLAlchemyError) as exc:
        if is_schema_change(exc):
            catalog.forget()
        raise DataUnavailable(explain_db_error(exc)) from exc


def run_read(catalog: Catalog, fn: Any) -> Any:
    """``fn(conn)`` on a fresh connection, failures as DataUnavailable (for other query modules)."""
    return _run(catalog, fn)


def view_count(catalog: Catalog, info: TableInfo, view: GridView) -> int:
    """Rows in a view (cached for a minute per table and filter)."""

    def compute() -> int:
        stmt = count_view(info, view, catalog.dialect)
        return int(_run(catalog, lambda conn: conn.execute(stmt).scalar_one()))

    return catalog.cached_count((info.key, view.count_key()), compute)


def fetch_block(catalog: Catalog, key: str, request: Mapping[str, Any]) -> tuple[Block, int]:
    """One block for the grid, plus the table's unfiltered row count.

    Raises GridRequestError for a bad request (before any SQL) and DataUnavailable when
    the database fails.
    """
    if not isinstance(request, Mapping):
        raise GridRequestError("the grid request must be an object")
    info = catalog.table(key)
    start, end = parse_range(request)
    view = parse_view(info, request, catalog.dialect)
    keys = [c.name for c in info.table.columns]
    rows = shape_rows(keys, _block_rows(catalog, info, view, start, end - start), info.shapers)
    count = view_count(catalog, info, view)
    total = count if not (view.filter_model or view.quick) else table_total(catalog, info)
    return Block(rows=rows, row_count=count), total


def _block_rows(
    catalog: Catalog, info: TableInfo, view: GridView, start: int, size: int
) -> list[Any]:
    """Rows ``start`` .. ``start + size`` of a view, seeking from a known row when possible.

    OFFSET makes PostgreSQL walk past every earlier row (seconds, millions of rows deep).
    Each block served leaves anchors (the sort keys of the row before it and of its last
    row), so the next block, or the same block again, starts from an index seek instead.
    Statements are built once per view and run with new bound values.
    """
    terms = sort_terms(info, view.sort_model)
    view_key = f"{info.key}|{view.count_key()}|{terms}"

    def run(kind: str, params: dict[str, Any]) -> list[Any]:
        stmt = catalog.statements.get(
            info.table,
            f"{kind}|{view_key}",
            lambda: _block_statement(info, view, terms, kind, catalog.dialect),
        )
        rows: list[Any] = _run(catalog, lambda conn: conn.execute(stmt, params).all())
        return rows

    seekable = catalog.dialect == "postgresql" and start > 0 and keyset_capable(info, terms)
    if not seekable:
        return run("plain", {"block_offset": start, "block_limit": size})
    anchor = catalog.anchors.nearest(view_key, start)
    if anchor is not None:
        index, values = anchor
        params = {f"anchor_{i}": v for i, v in enumerate(values)}
        rows = run("seek", {**params, "block_offset": start - index - 1, "block_limit": size})
    else:
        # One extra leading row: it becomes the anchor for this very block.
        got = run("plain", {"block_offset": start - 1, "block_limit": size + 1})
        if got:
            catalog.anchors.add(view_key, start - 1, tuple(got[0]._mapping[n] for n, _ in terms))
        rows = got[1:]
    if rows:
        last = rows[-1]._mapping
        catalog.anchors.add(view_key, start + len(rows) - 1, tuple(last[n] for n, _ in terms))
    return rows


def _block_statement(
    info: TableInfo, view: GridView, terms: list[tuple[str, str]], kind: str, dialect: str
) -> Any:
    """A view's SELECT with LIMIT, OFFSET and (``seek``) the anchor keys as bound values."""
    stmt = select_view(info, view, dialect)
    if kind == "seek":
        anchor = tuple(
            bindparam(f"anchor_{i}", type_=info.table.c[name].type)
            for i, (name, _) in enumerate(terms)
        )
        stmt = stmt.where(after_row(info, terms, anchor))
    return stmt.offset(bindparam("block_offset", type_=Integer)).limit(
        bindparam("block_limit", type_=Integer)
    )


def table_total(catalog: Catalog, info: TableInfo) -> int:
    """Unfiltered row count of a table (cached)."""
    return view_count(catalog, info, GridView({}, ()))


def fetch_row(catalog: Catalog, key: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of one row, re-read by primary key (untruncated) when the table has one."""
    info = catalog.table(key)
    if not info.primary_key:
        return dict(row)
    if any(row.get(k) is None for k in info.primary_key):
        raise GridRequestError("this row has no key value to look it up by")
    where = and_(*(info.table.c[k] == row[k] for k in info.primary_key))
    found = _run(
        catalog, lambda conn: conn.execute(select(info.table).where(where)).mappings().first()
    )
    if found is None:
        raise GridRequestError("this row no longer exists")
    return {k: to_json_value(v, truncate=None) for k, v in found.items()}


def iter_csv(catalog: Catalog, key: str, request: Mapping[str, Any]) -> Iterator[str]:
    """The rows of a view as CSV text chunks, streamed from a server-side cursor.

    The query runs, and its first batch is read, before this returns: a bad request
    (GridRequestError, CatalogError) or a database that cannot answer (DataUnavailable)
    is known before anything is sent. A failure later raises DataUnavailable from the
    iterator, after the rows read so far: the caller must then end the download as
    failed, not as a complete file.
    """
    info = catalog.table(key)
    view = parse_view(info, request, catalog.dialect)
    chunks = _csv_chunks(catalog, info, select_view(info, view, catalog.dialect))
    return _resume(next(chunks), chunks)


def _resume(first: str, rest: Iterator[str]) -> Iterator[str]:
    """``first``, then the rest; closing this closes ``rest`` (and its connection)."""
    yield first
    yield from rest


def _csv_chunks(catalog: Catalog, info: TableInfo, stmt: Any) -> Iterator[str]:
    """The header with the first batch, then one chunk per batch of rows."""
    parts = stream_batches(catalog, stmt)
    yield _csv_text([c.name for c in info.columns], next(parts, []))
    for part in parts:
        yield _csv_text(None, part)


def stream_batches(catalog: Catalog, stmt: Any) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt`` in batches from a server-side cursor (DataUnavailable on failure)."""
    try:
        with catalog.engine.connect() as conn:
            # A server-side cursor lives in a transaction (the browse engine autocommits);
            # on PostgreSQL a repeatable-read one also makes the file one consistent snapshot.
            isolation = "REPEATABLE READ" if catalog.dialect == "postgresql" else "SERIALIZABLE"
            result = conn.execution_options(
                isolation_level=isolation, stream_results=True, yield_per=EXPORT_BATCH
            ).execute(stmt)
            yield from result.partitions()
    except (DBAPIError, SQLAlchemyError) as exc:
        if is_schema_change(exc):
            catalog.forget()
        raise DataUnavailable(explain_db_error(exc)) from exc


def _csv_text(header: list[str] | None, rows: Sequence[Any]) -> str:
    """CSV lines for a batch of rows (and the header line first, if given)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else to_json_value(v, truncate=None) for v in row])
    return buf.getvalue()


@dataclass(frozen=True)
class Aggregate:
    """A chart's data: labels and counts, computed in SQL."""

    kind: str  # "histogram", "top", "timeline"
    labels: list[Any]
    counts: list[int]
    column: str


def aggregate(
    catalog: Catalog, key: str, column: str, request: Mapping[str, Any], *, bins: int = 30
) -> Aggregate:
    """Histogram (numbers), top values (text, booleans) or counts over time (dates)."""
    info = catalog.table(key)
    col_info = info.column(column)
    if col_info is None:
        raise GridRequestError(f"no column {column!r} to chart")
    view = parse_view(info, request, catalog.dialect)
    where = FilterBuilder(info, catalog.dialect).where(view.filter_model, view.quick)
    col = info.table.c[column]
    if col_info.kind == NUMBER:
        return _histogram(catalog, info, col, where, column, bins)
    if col_info.kind in (DATE, DATETIME):
        return _timeline(catalog, info, col, where, column)
    if col_info.kind in (TEXT, BOOL):
        stmt = (
            select(col.label("v"), func.count().label("n"))
            .select_from(info.table)
            .where(where)
            .group_by(col)
            .order_by(func.count().desc())
            .limit(20)
        )
        rows = _run(catalog, lambda conn: conn.execute(stmt).all())
        labels = ["NULL" if v is None else to_json_value(v) for v, _ in rows]
        return Aggregate("top", labels, [int(n) for _, n in rows], column)
    raise GridRequestError(f"{column!r} is a {col_info.kind} column; it cannot be charted")


def _histogram(
    catalog: Catalog, info: TableInfo, col: Any, where: Any, column: str, bins: int
) -> Aggregate:
    """Equal-width bins between the filtered minimum and maximum."""
    bounds = select(func.min(col), func.max(col)).select_from(info.table).where(where)
    lo, hi = _run(catalog, lambda conn: conn.execute(bounds).one())
    if lo is None:
        return Aggregate("histogram", [], [], column)
    lo, hi = _finite(lo), _finite(hi)
    if lo is None or hi is None:
        raise GridRequestError(
            f"{column!r} holds values that are not finite numbers (text, NaN or infinity)"
            " in this view; it cannot be charted"
        )
    width = (hi - lo) / bins if hi > lo else 1.0
    idx = func.floor((cast(col, Float) - lo) / width)
    bucket = case((idx >= bins, bins - 1), else_=idx).label("b")
    stmt = (
        select(bucket, func.count())
        .select_from(info.table)
        .where(where, col.is_not(None))
        .group_by(bucket)
        .order_by(bucket)
    )
    rows = _run(catalog, lambda conn: conn.execute(stmt).all())
    counts = dict.fromkeys(range(bins), 0)
    for b, n in rows:
        counts[int(b)] = int(n)
    labels = [round(lo + width * (i + 0.5), 6) for i in range(bins)]
    return Aggregate("histogram", labels, list(counts.values()), column)


def _timeline(catalog: Catalog, info: TableInfo, col: Any, where: Any, column: str) -> Aggregate:
    """Counts per day, or per month when the range is long."""
    bounds = select(func.min(col), func.max(col)).select_from(info.table).where(where)
    lo, hi = _run(catalog, lambda conn: conn.execute(bounds).one())
    if lo is None:
        return Aggregate("timeline", [], [], column)
    first, last = _as_date(lo), _as_date(hi)
    # Values that are no dates (SQLite text, PostgreSQL infinity): assume a long span.
    monthly = first is None or last is None or (last - first).days > 180
    if catalog.dialect == "sqlite":
        fmt: Any = literal_column("'%Y-%m'") if monthly else literal_column("'%Y-%m-%d'")
        period = func.strftime(fmt, cast(col, String))
    else:
        unit: Any = literal_column("'month'") if monthly else literal_column("'day'")
        period = func.to_char(func.date_trunc(unit, col), literal_column("'YYYY-MM-DD'"))
    stmt = (
        select(period.label("p"), func.count())
        .select_from(info.table)
        .where(where, col.is_not(None))
        .group_by(period)
        .order_by(period)
    )
    rows = _run(catalog, lambda conn: conn.execute(stmt).all())
    rows = [(p, n) for p, n in rows if p]  # periods of values that are no dates
    labels = [p if len(p) > 7 else f"{p}-01" for p, _ in rows]
    return Aggregate("timeline", labels, [int(n) for _, n in rows], column)


def _as_date(value: Any) -> date | None:
    """A date from a date, datetime or ISO text (SQLite); None for anything else."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value)[:19]).date()
    except ValueError:
        return None


def _finite(value: Any) -> float | None:
    """A number as a finite float, or None (text in a SQLite column, NaN, infinity)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
