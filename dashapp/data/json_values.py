"""Database values as JSON the grid can show: per value, and fast per column for whole blocks.

``to_json_value`` handles anything a driver returns. A block of rows is shaped column by
column instead: each column gets a shaper chosen once from its reflected SQL type, and
columns whose values are JSON-safe as they come (PostgreSQL integers, booleans, short
strings) are not touched at all; shaping value by value took a third of a block's server
time. A value of an unexpected Python type (SQLite stores whatever it is given) still goes
through ``to_json_value``, so the fast path never changes what the grid shows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Integer, Numeric, String
from sqlalchemy.types import TypeEngine

MAX_CELL_CHARS = 500
SAFE_INT = 2**53  # integers beyond this lose digits in JavaScript: sent as text


def to_json_value(value: Any, *, truncate: int | None = MAX_CELL_CHARS) -> Any:
    """A database value as something JSON can carry and the grid can show."""
    kind = type(value)
    if kind is str:
        return value if truncate is None or len(value) <= truncate else value[:truncate] + "…"
    if value is None or kind is bool:
        return value
    if kind is int:
        return value if -SAFE_INT < value < SAFE_INT else str(value)
    if kind is float:
        return value if math.isfinite(value) else str(value)
    if kind is datetime:
        return value.isoformat(sep=" ")
    if kind is Decimal:
        return _decimal(value)
    return _convert_other(value, truncate)


def _decimal(value: Decimal) -> Any:
    """A Decimal as a float when that is exact to 15 digits, else as text."""
    as_float = float(value)
    exact = math.isfinite(as_float) and len(value.as_tuple().digits) <= 15
    return as_float if exact else str(value)


def _convert_other(value: Any, truncate: int | None) -> Any:
    """``to_json_value`` for the less common types (kept out of the hot path)."""
    for base in (bool, str, int, float):  # subclasses, e.g. enum members
        if isinstance(value, base):
            return to_json_value(base(value), truncate=truncate)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return f"⟨binary, {len(bytes(value)):,} bytes⟩"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


# Column shapers: each turns one column of a block (a list of values) into JSON-ready values.
# The "typed" ones rely on the driver returning the declared type (PostgreSQL) and do their
# work in one comprehension with no Python call per value; the "checked" ones handle the
# expected type quickly and anything else through ``to_json_value`` (SQLite).
ColumnShaper = Callable[[Sequence[Any]], list[Any]]


def _typed_stamps(col: Sequence[Any]) -> list[Any]:
    return [None if v is None else str(v) for v in col]  # str(datetime) = isoformat(" ")


def _typed_texts(col: Sequence[Any]) -> list[Any]:
    n = MAX_CELL_CHARS
    return [v if v is None or len(v) <= n else v[:n] + "…" for v in col]


def _typed_short_decimals(col: Sequence[Any]) -> list[Any]:
    """Numeric with at most 15 digits of precision: exact as a float (NaN as text)."""
    return [None if v is None else float(v) if v.is_finite() else str(v) for v in col]


def _all_values(col: Sequence[Any]) -> list[Any]:
    return [None if v is None else to_json_value(v) for v in col]


def _checked(convert: Callable[[Any], Any]) -> ColumnShaper:
    def shape(col: Sequence[Any]) -> list[Any]:
        return [None if v is None else convert(v) for v in col]

    shape.__name__ = f"checked{convert.__name__}"
    return shape


def _int(v: Any) -> Any:
    return v if type(v) is int and -SAFE_INT < v < SAFE_INT else to_json_value(v)


def _text(v: Any) -> Any:
    return v if type(v) is str and len(v) <= MAX_CELL_CHARS else to_json_value(v)


def _float(v: Any) -> Any:
    return v if type(v) is float and math.isfinite(v) else to_json_value(v)


def _stamp(v: Any) -> Any:
    return v.isoformat(sep=" ") if type(v) is datetime else to_json_value(v)


def _short_decimal(v: Any) -> Any:
    return float(v) if type(v) is Decimal and v.is_finite() else to_json_value(v)


def _bool(v: Any) -> Any:
    return v if type(v) is bool else to_json_value(v)


_INTS, _TEXTS, _FLOATS = _checked(_int), _checked(_text), _checked(_float)
_STAMPS, _SHORT_DECIMALS, _BOOLS = _checked(_stamp), _checked(_short_decimal), _checked(_bool)


def column_shaper(sql_type: TypeEngine[Any], *, typed: bool) -> ColumnShaper | None:
    """How to shape one column's values; None when they are JSON-safe as they come.

    ``typed``: the driver returns exactly the declared type (PostgreSQL). Without it
    (SQLite keeps any value in any column) every column gets a checking shaper.
    """
    if isinstance(sql_type, Boolean):
        return None if typed else _BOOLS
    if isinstance(sql_type, BigInteger):
        return _INTS
    if isinstance(sql_type, Integer):
        return None if typed else _INTS
    if isinstance(sql_type, Float):
        return _FLOATS
    if isinstance(sql_type, Numeric):
        precision = getattr(sql_type, "precision", None)
        if precision is not None and precision <= 15 and getattr(sql_type, "asdecimal", True):
            return _typed_short_decimals if typed else _SHORT_DECIMALS
        return _all_values
    if isinstance(sql_type, DateTime):
        return _typed_stamps if typed else _STAMPS
    if isinstance(sql_type, String):
        length = getattr(sql_type, "length", None)
        if typed:
            return None if length is not None and length <= MAX_CELL_CHARS else _typed_texts
        return _TEXTS
    return _all_values


def shape_rows(
    keys: Sequence[str], rows: Sequence[Sequence[Any]], shapers: Sequence[ColumnShaper | None]
) -> list[dict[str, Any]]:
    """Result rows as JSON-ready dicts for the grid, shaping column by column."""
    if not rows:
        return []
    if not any(shapers):
        return [dict(zip(keys, row, strict=True)) for row in rows]
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for i, shape in enumerate(shapers):
        if shape is not None:
            columns[i] = shape(columns[i])
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]
