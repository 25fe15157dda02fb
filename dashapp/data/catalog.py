"""What the browsed database holds: schemas, tables, views, columns and row counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.types import ARRAY, NullType, TypeEngine

from dashapp.data.caches import Anchors, Statements
from dashapp.data.db_errors import explain_db_error
from dashapp.data.driver_values import lenient_type, read_leniently
from dashapp.data.json_values import ColumnShaper, column_shaper
from dashapp.data.sources import is_visible, split_key

# Column kinds: how a column is filtered, sorted and shown.
TEXT, NUMBER, DATE, DATETIME, BOOL, JSONISH, BINARY = (
    "text",
    "number",
    "date",
    "datetime",
    "bool",
    "json",
    "binary",
)
ESTIMATE_ABOVE = 200_000  # PostgreSQL: use the planner's estimate above this many rows


class DataUnavailable(RuntimeError):
    """The database could not answer (down, timed out, refused); the message says which."""


class CatalogError(LookupError):
    """A table that does not exist, is not visible, or cannot be read."""


@dataclass(frozen=True)
class ColumnInfo:
    """One column as the grid sees it."""

    name: str
    kind: str
    sql_type: str
    nullable: bool
    primary_key: bool


@dataclass(frozen=True)
class TableInfo:
    """One table or view, reflected."""

    schema: str
    name: str
    is_view: bool
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...]
    table: Table
    # How each column's values are shaped for the grid (see ``json_values``), in table order.
    shapers: tuple[ColumnShaper | None, ...] = field(default=(), compare=False, repr=False)

    @property
    def key(self) -> str:
        """The ``schema.table`` form used in URLs."""
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> ColumnInfo | None:
        """The column called ``name``, or None."""
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class TableEntry:
    """A line of the table picker."""

    schema: str
    name: str
    is_view: bool
    rows: int | None
    estimated: bool

    @property
    def key(self) -> str:
        """The ``schema.table`` form used in URLs."""
        return f"{self.schema}.{self.name}"


def kind_of(sql_type: TypeEngine[Any]) -> str:
    """Map a reflected SQL type to a column kind."""
    if isinstance(sql_type, Boolean):
        return BOOL
    if isinstance(sql_type, (Integer, Numeric, Float)):
        return NUMBER
    if isinstance(sql_type, DateTime):
        return DATETIME
    if isinstance(sql_type, Date):
        return DATE
    if isinstance(sql_type, (JSON, ARRAY)):
        return JSONISH
    if isinstance(sql_type, LargeBinary):
        return BINARY
    return TEXT


def _kind_of_value(value: Any) -> str:
    """Guess a kind from a sample value (for untyped view columns in SQLite)."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, bytes):
        return BINARY
    return TEXT


def parse_key(key: str) -> tuple[str, str]:
    """Split ``schema.table``; the table part may itself contain dots."""
    schema, sep, name = key.partition(".")
    if not sep or not schema or not name:
        raise CatalogError(f"{key!r} is not a table name of the form schema.table")
    return schema, name


class Catalog:
    """Reflects the browsed database once and answers what the pages ask of it."""

    def __init__(
        self,
        engine: Engine,
        *,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
        count_ttl_s: float = 60.0,
        source: str = "default",
        sources: Sequence[str] = (),
    ) -> None:
        """Wrap ``engine``; ``allow``/``deny`` are glob patterns on ``schema.table``.

        ``source`` is this database's name among ``sources`` (all configured ones): a
        pattern ``name:schema.table`` applies to that source only (``dashapp.data.sources``).
        """
        self.engine = engine
        read_leniently(engine)
        self.allow, self.deny = tuple(allow), tuple(deny)
        self.source, self.sources = source, tuple(sources)
        self.count_ttl_s = count_ttl_s
        self._tables: dict[str, tuple[float, TableInfo]] = {}
        self._counts: dict[tuple[str, str], tuple[float, int]] = {}
        self.anchors = Anchors()
        self.statements = Statements()
        self._listed: tuple[float, list[TableEntry]] | None = None
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def visible(self, key: str) -> bool:
        """Whether settings allow browsing ``schema.table``."""
        return is_visible(self.source, key, self.allow, self.deny)

    def local_key(self, key: str) -> str:
        """``schema.table`` of a key of this source (its ``source:`` prefix, if any, dropped).

        A key of another source is refused (the tabular trainer, for one, reads the default
        source only).
        """
        source, local = split_key(key, self.sources)
        if source is not None and source != self.source:
            raise CatalogError(
                f"{key} is a table of the data source {source!r}; only {self.source!r} is read here"
            )
        return local

    def _schemas(self) -> list[str]:
        """Schemas the connected user may see (system schemas left out)."""
        insp = inspect(self.engine)
        hidden = {"information_schema", "pg_catalog", "pg_toast"}
        return [s for s in insp.get_schema_names() if s not in hidden and not s.startswith("pg_")]

    def list_tables(self) -> list[TableEntry]:
        """Every visible table and view with its row count (estimated where that is cheaper)."""
        now = time.monotonic()
        with self._lock:
            listed = self._listed
        if listed is not None and now - listed[0] < self.count_ttl_s / 2:
            return listed[1]
        try:
            entries = self._list_tables()
        except (DBAPIError, SQLAlchemyError) as exc:
            raise DataUnavailable(explain_db_error(exc)) from exc
        with self._lock:
            self._listed = (now, entries)
        return entries

    def _list_tables(self) -> list[TableEntry]:
        """``list_tables`` without the error mapping."""
        insp = inspect(self.engine)
        entries: list[TableEntry] = []
        estimates = self._pg_estimates() if self.dialect == "postgresql" else {}
        for schema in self._schemas():
            names = [(n, False) for n in insp.get_table_names(schema=schema)]
            names += [(n, True) for n in insp.get_view_names(schema=schema)]
            for name, is_view in sorted(names):
                key = f"{schema}.{name}"
                if not self.visible(key):
                    continue
                rows, estimated = None, False
                if not is_view:
                    est = estimates.get((schema, name))
                    if est is not None and est > ESTIMATE_ABOVE:
                        rows, estimated = est, True
                    else:
                        rows = self._exact_count(schema, name)
                entries.append(TableEntry(schema, name, is_view, rows, estimated))
        return entries

    def _pg_estimates(self) -> dict[tuple[str, str], int]:
        """The planner's row estimates of every PostgreSQL table."""
        sql = text(
            "SELECT n.nspname, c.relname, c.reltuples::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
        )
        with self.engine.connect() as conn:
            return {(s, t): int(r) for s, t, r in conn.execute(sql) if r is not None and r >= 0}

    def _exact_count(self, schema: str, name: str) -> int | None:
        """``count(*)`` of a table, or None if it cannot be read."""
        try:
            info = self.table(f"{schema}.{name}")
            with self.engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(info.table)).scalar_one())
        except (SQLAlchemyError, CatalogError, DataUnavailable):
            return None

    def table(
        self, key: str, *, max_age_s: float | None = None, refresh_after_s: float | None = None
    ) -> TableInfo:
        """Reflect ``schema.table`` (cached); CatalogError if unknown or not visible.

        ``max_age_s``: read the table again if it was reflected longer ago than this.
        ``refresh_after_s``: answer from the cache at once, and read the table again in the
        background when the cached copy is older than this (a page that opens a table: a
        column added since shows up, without the page waiting on the database's catalog).
        """
        key = self.local_key(key)
        schema, name = parse_key(key)
        if not self.visible(key):
            raise CatalogError(f"table {key} is not available")
        with self._lock:
            cached = self._tables.get(key)
        now = time.monotonic()
        if cached is not None and (max_age_s is None or now - cached[0] <= max_age_s):
            if refresh_after_s is not None and now - cached[0] > refresh_after_s:
                self._refresh_soon(key, schema, name)
            return cached[1]
        return self._reflect_cached(key, schema, name)

    def _reflect_cached(self, key: str, schema: str, name: str) -> TableInfo:
        """Reflect a table and keep it (``table`` without the cache lookup)."""
        now = time.monotonic()
        try:
            info = self._reflect(schema, name)
        except (DBAPIError, SQLAlchemyError) as exc:
            raise DataUnavailable(explain_db_error(exc)) from exc
        with self._lock:
            self._tables[key] = (now, info)
        return info

    def _refresh_soon(self, key: str, schema: str, name: str) -> None:
        """Reflect a table again in a background thread (one at a time per table)."""
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def refresh() -> None:
            try:
                self._reflect_cached(key, schema, name)
            except (CatalogError, DataUnavailable):
                pass  # the cached copy stays; the next use tries again
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=refresh, name=f"reflect {key}", daemon=True).start()

    def forget(self) -> None:
        """Drop what was read of the tables (after a query found one changed under it)."""
        with self._lock:
            self._tables.clear()
            self._counts.clear()
            self._listed = None
        self.anchors.clear()

    def _reflect(self, schema: str, name: str) -> TableInfo:
        """Read a table's columns and key from the database."""
        insp = inspect(self.engine)
        if schema not in self._schemas():
            raise CatalogError(f"there is no schema {schema!r}")
        is_view = name in insp.get_view_names(schema=schema)
        if not is_view and name not in insp.get_table_names(schema=schema):
            raise CatalogError(f"there is no table {schema}.{name}")
        meta = MetaData()
        schema_arg = None if (self.dialect == "sqlite" and schema == "main") else schema
        try:
            table = Table(name, meta, schema=schema_arg, autoload_with=self.engine)
        except NoSuchTableError:
            raise CatalogError(f"there is no table {schema}.{name}") from None
        if self.dialect == "sqlite":  # any column may hold text its type cannot parse
            for col in table.columns:
                col.type = lenient_type(col.type)
        sample: dict[str, Any] = {}
        if any(isinstance(c.type, NullType) for c in table.columns):
            with self.engine.connect() as conn:
                row = conn.execute(select(table).limit(1)).mappings().first()
            sample = dict(row) if row else {}
        pk = tuple(c.name for c in table.primary_key.columns)
        columns = tuple(
            ColumnInfo(
                name=c.name,
                kind=(
                    _kind_of_value(sample.get(c.name))
                    if isinstance(c.type, NullType)
                    else kind_of(c.type)
                ),
                sql_type=str(c.type) if not isinstance(c.type, NullType) else "(untyped)",
                nullable=bool(c.nullable),
                primary_key=c.name in pk,
            )
            for c in table.columns
        )
        typed = self.dialect == "postgresql"  # SQLite keeps any value in any column
        shapers = tuple(column_shaper(c.type, typed=typed) for c in table.columns)
        return TableInfo(schema, name, is_view, columns, pk, table, shapers)

    def cached_count(self, cache_key: tuple[str, str], compute: Any) -> int:
        """Row count for ``cache_key`` (table, filter), recomputed after ``count_ttl_s``."""
        now = time.monotonic()
        with self._lock:
            hit = self._counts.get(cache_key)
        if hit is not None and now - hit[0] < self.count_ttl_s:
            return hit[1]
        value = int(compute())
        with self._lock:
            if len(self._counts) > 512:
                self._counts.clear()
            self._counts[cache_key] = (now, value)
        return value
