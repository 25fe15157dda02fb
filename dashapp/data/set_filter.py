"""Set filters: rows whose value is one of those picked from the column's distinct values.

The model is ``{"filterType": "set", "values": [...]}`` (``null`` picks NULL), kept in the
filter model beside AG Grid's own filters (``links.merge_filters``). Values are checked
against the column's kind and bound as parameters, like every other filter value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, String, cast, false, or_, type_coerce

from dashapp.data.catalog import BOOL, DATE, DATETIME, NUMBER, TEXT, TableInfo
from dashapp.data.request_values import GridRequestError, sql_number

# How many values one may pick, and how long one text value may be (values are whole
# cell contents picked from a list, not typed).
MAX_SET_VALUES = 1000
MAX_SET_TEXT = 4000
SET_KINDS = (TEXT, NUMBER, DATE, DATETIME, BOOL)
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?")


def value_expr(info: TableInfo, name: str, dialect: str) -> Any:
    """The expression whose values set filters list and match and groups are keyed by.

    Dates and timestamps as the database writes them as text: what the list shows is then
    exactly what the filter compares with (a SQLite file keeps them as text anyway).
    """
    col = info.table.c[name]
    column = info.column(name)
    if column is not None and column.kind in (DATE, DATETIME):
        return type_coerce(col, String) if dialect == "sqlite" else cast(col, String)
    return col


def set_condition(
    info: TableInfo, dialect: str, name: str, kind: str, model: Mapping[str, Any]
) -> ColumnElement[bool]:
    """Rows whose value is one of the picked ones (``None`` picks NULL)."""
    if kind not in SET_KINDS:
        raise GridRequestError(f"filter on {name!r}: a {kind} column cannot take a set filter")
    values = model.get("values")
    if not isinstance(values, list):
        raise GridRequestError(f"set filter on {name!r}: 'values' must be a list")
    if len(values) > MAX_SET_VALUES:
        raise GridRequestError(
            f"set filter on {name!r}: at most {MAX_SET_VALUES:,} values can be picked"
        )
    picked = [set_value(kind, v, name, dialect) for v in values]
    known = [v for v in picked if v is not None]
    parts: list[ColumnElement[bool]] = []
    if known:
        parts.append(value_expr(info, name, dialect).in_(known))
    if len(known) < len(picked):
        parts.append(info.table.c[name].is_(None))
    return or_(*parts) if parts else false()


def set_value(kind: str, value: Any, col: str, dialect: str) -> Any:
    """One picked value of a set filter, checked against the column's kind (None: NULL)."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) > MAX_SET_TEXT:
            raise GridRequestError(
                f"set filter on {col!r}: a value is longer than {MAX_SET_TEXT:,} characters"
            )
        if "\x00" in value:
            raise GridRequestError(
                f"set filter on {col!r}: a value cannot contain the NUL character"
            )
    elif isinstance(value, bool):
        if kind != BOOL:
            raise GridRequestError(f"set filter on {col!r}: {value!r} is not a {kind} value")
        return value
    elif not isinstance(value, (int, float)):
        raise GridRequestError(
            f"set filter on {col!r}: values must be text, numbers, true/false or null"
        )
    elif not math.isfinite(value):
        raise GridRequestError(f"set filter on {col!r}: {value!r} is not a finite number")
    if kind == BOOL:
        raise GridRequestError(f"set filter on {col!r}: {value!r} is not true or false")
    if kind == NUMBER:
        return _number(value, col, dialect)
    if kind in (DATE, DATETIME):
        if not isinstance(value, str):
            raise GridRequestError(f"set filter on {col!r}: {value!r} is not a date as text")
        return value
    # A number in a text column: SQLite may keep one there; PostgreSQL compares text.
    return value if isinstance(value, str) or dialect == "sqlite" else str(value)


def _number(value: str | int | float, col: str, dialect: str) -> Any:
    """A number of a set filter, as JSON carries it or as text (too long for JSON)."""
    if not isinstance(value, str):
        return sql_number(value, dialect, col)
    text = value.strip()
    # Integers beyond 2**53 and long decimals travel as text (json_values).
    if not _NUMBER_TEXT.fullmatch(text):
        raise GridRequestError(f"set filter on {col!r}: {value!r} is not a number")
    if re.fullmatch(r"[+-]?\d+", text):
        return sql_number(int(text), dialect, col)
    return float(text) if dialect == "sqlite" else Decimal(text)
