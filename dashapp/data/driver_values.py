"""Values the browsed database holds but Python cannot represent come back as their text.

PostgreSQL keeps dates past the year 9999, before year 1 and ``±infinity``; psycopg2 raises
``ValueError`` for the first two and turns infinity into 9999-12-31. SQLite keeps any value
in any column (``'10000-01-01'`` or ``'n/a'`` in a DATE column, text that is not UTF-8), and
SQLAlchemy's SQLite types raise when they parse it. One such value would fail every block,
export and chart that reads its row; read as text, it is shown as it is stored.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.types import NullType, TypeEngine

_READ_LENIENTLY = "dashapp_read_leniently"
# C-level, so a block of text costs no Python call per value.
_lenient_text = functools.partial(str, encoding="utf-8", errors="replace")


def read_leniently(engine: Engine) -> None:
    """Make every connection of ``engine`` read unrepresentable values as text."""
    if not event.contains(engine, "checkout", _on_checkout):
        event.listen(engine, "checkout", _on_checkout)


def _on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
    """Set the connection up once (checkout also reaches connections opened before)."""
    if record.info.get(_READ_LENIENTLY):
        return
    if isinstance(dbapi_conn, sqlite3.Connection):
        dbapi_conn.text_factory = _lenient_text
    elif _is_psycopg2(dbapi_conn):
        import psycopg2.extensions as ext

        for caster in _pg_casters():
            ext.register_type(caster, dbapi_conn)
    record.info[_READ_LENIENTLY] = True


def _is_psycopg2(dbapi_conn: Any) -> bool:
    """Whether a DBAPI connection is psycopg2's (or a subclass: dashapp.db makes one)."""
    try:
        import psycopg2.extensions as ext
    except ImportError:
        return False
    return isinstance(dbapi_conn, ext.connection)


@functools.cache
def _pg_casters() -> tuple[Any, ...]:
    """psycopg2 typecasters for dates and timestamps (and their arrays) that never raise."""
    import psycopg2.extensions as ext

    def lenient(base: Any) -> Any:
        def cast(value: str | None, cur: Any) -> Any:
            if value is None or value.endswith("infinity"):
                return value
            try:
                return base(value, cur)
            except ValueError:  # a year Python's datetime cannot hold
                return value

        return cast

    bases = (ext.PYDATE, ext.PYDATETIME, ext.PYDATETIMETZ)
    arrays = (ext.PYDATEARRAY, ext.PYDATETIMEARRAY, ext.PYDATETIMETZARRAY)
    scalars = [ext.new_type(b.values, f"DASHAPP_{b.name}", lenient(b)) for b in bases]
    lists = [
        ext.new_array_type(a.values, f"DASHAPP_{a.name}", s)
        for a, s in zip(arrays, scalars, strict=True)
    ]
    return (*scalars, *lists)


class _Lenient:
    """Mixin for a SQLAlchemy type: a value its result processor cannot parse stays raw."""

    def _gen_dialect_impl(self, dialect: Any) -> Any:
        """The dialect's own variant of the type (pysqlite has its own DATE), made lenient."""
        return lenient_type(super()._gen_dialect_impl(dialect))  # type: ignore[misc]

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """The type's own processor, giving back the raw value where it fails."""
        parse = super().result_processor(dialect, coltype)  # type: ignore[misc]
        if parse is None:
            return None

        def process(value: Any) -> Any:
            try:
                return parse(value)
            except (ValueError, TypeError, ArithmeticError):
                return value

        return process


_LENIENT_CLASSES: dict[type[Any], type[Any]] = {}


def _lenient_class(base: type[Any]) -> type[Any]:
    """The lenient subclass of one type class (still an instance of the original)."""
    found = _LENIENT_CLASSES.get(base)
    if found is None:
        made = type(f"Lenient{base.__name__}", (_Lenient, base), {})
        found = _LENIENT_CLASSES.setdefault(base, made)
    return found


def lenient_type(sql_type: TypeEngine[Any]) -> TypeEngine[Any]:
    """A copy of a reflected type whose result values never fail to parse."""
    if isinstance(sql_type, (NullType, _Lenient)):
        return sql_type
    copy: TypeEngine[Any] = object.__new__(_lenient_class(type(sql_type)))
    copy.__dict__.update(sql_type.__dict__)
    return copy
