"""AG Grid filter models to SQL conditions: every operator the filter menus offer.

Values the browser sends are checked and travel as bound parameters; anything unexpected
raises ``GridRequestError`` with a message fit to show the user, before any SQL runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    true,
    type_coerce,
)

from dashapp.data.catalog import BINARY, BOOL, DATE, DATETIME, JSONISH, NUMBER, TEXT, TableInfo
from dashapp.data.request_values import GridRequestError, sql_number
from dashapp.data.set_filter import set_condition

__all__ = ["FilterBuilder", "GridRequestError", "sql_number"]

MAX_CONDITIONS = 10
MAX_TEXT = 1000
# The operators the server applies, in the order the filter menus offer them.
TEXT_OPERATORS = ("contains", "notContains", "equals", "notEqual", "startsWith", "endsWith")
NUMBER_OPERATORS = (
    "equals",
    "notEqual",
    "lessThan",
    "lessThanOrEqual",
    "greaterThan",
    "greaterThanOrEqual",
    "inRange",
)
DATE_OPERATORS = ("equals", "notEqual", "lessThan", "greaterThan", "inRange")
BLANK_OPERATORS = ("blank", "notBlank")
TEXT_OPS, NUMBER_OPS = set(TEXT_OPERATORS), set(NUMBER_OPERATORS)
DATE_OPS, BLANK_OPS = set(DATE_OPERATORS), set(BLANK_OPERATORS)
BOOL_OPS = {"true", "false"}
FILTER_TYPE = {
    TEXT: {"text"},
    JSONISH: {"text"},
    NUMBER: {"number"},
    DATE: {"date"},
    DATETIME: {"date"},
    BOOL: {"text", "boolean"},
    BINARY: {"text"},
}


def _escape_like(value: str) -> str:
    """Escape LIKE wildcards so the user's text matches literally."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


escape_like = _escape_like  # for the other modules that search text


def _need(model: Mapping[str, Any], key: str, col: str) -> Any:
    """A required key of a filter condition."""
    if key not in model or model[key] is None:
        raise GridRequestError(f"filter on {col!r}: missing value {key!r}")
    return model[key]


def _text_value(model: Mapping[str, Any], col: str) -> str:
    """The text a text filter compares with."""
    value = _need(model, "filter", col)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise GridRequestError(f"filter on {col!r}: expected text, got {type(value).__name__}")
    value = str(value)
    if len(value) > MAX_TEXT:
        raise GridRequestError(f"filter on {col!r}: text longer than {MAX_TEXT} characters")
    if "\x00" in value:
        raise GridRequestError(f"filter on {col!r}: text cannot contain the NUL character")
    return value


def _number_value(model: Mapping[str, Any], key: str, col: str) -> int | float:
    """A finite number from a number filter."""
    value = _need(model, key, col)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GridRequestError(f"filter on {col!r}: {value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise GridRequestError(f"filter on {col!r}: {value!r} is not a finite number")
    return value


# A year of up to six digits is read, so that one past 9999 gets its own message.
_DATE_RE = re.compile(r"(\d{4,6})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?")


def _date_value(model: Mapping[str, Any], key: str, col: str) -> date:
    """The day of a date filter (AG Grid sends ``YYYY-MM-DD HH:MM:SS``)."""
    value = _need(model, key, col)
    match = _DATE_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise GridRequestError(f"filter on {col!r}: {value!r} is not a date (YYYY-MM-DD)")
    if not date.min.year <= int(match[1]) <= date.max.year:
        raise GridRequestError(
            f"filter on {col!r}: {value!r} is outside the dates a filter can take"
            " (0001-01-01 to 9999-12-31)"
        )
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise GridRequestError(f"filter on {col!r}: {value!r} is not a valid date") from None


class FilterBuilder:
    """Turns a validated AG Grid filter model into a SQLAlchemy condition for one table."""

    def __init__(self, info: TableInfo, dialect: str) -> None:
        """Build conditions for ``info`` on the ``dialect`` database."""
        self.info, self.dialect = info, dialect

    def _col(self, name: str) -> Any:
        """The table's column object, by reflected name only."""
        return self.info.table.c[name]

    def where(self, filter_model: Any, quick: str = "") -> ColumnElement[bool]:
        """The WHERE condition for a whole filter model plus quick search."""
        if filter_model is None:
            filter_model = {}
        if not isinstance(filter_model, Mapping):
            raise GridRequestError("the filter model must be an object")
        parts: list[ColumnElement[bool]] = []
        for name, model in filter_model.items():
            col = self.info.column(name) if isinstance(name, str) else None
            if col is None:
                raise GridRequestError(f"cannot filter on {name!r}: no such column")
            parts.append(self.column_filter(name, col.kind, model))
        if quick:
            parts.append(self.quick_search(quick))
        return and_(true(), *parts)

    def quick_search(self, quick: Any) -> ColumnElement[bool]:
        """Rows where any text column contains ``quick`` (case-insensitive)."""
        if not isinstance(quick, str) or len(quick) > MAX_TEXT:
            raise GridRequestError("the quick search must be text of at most 1000 characters")
        if "\x00" in quick:
            raise GridRequestError("the quick search cannot contain the NUL character")
        pattern = f"%{_escape_like(quick)}%"
        cols = [self._col(c.name) for c in self.info.columns if c.kind == TEXT]
        if not cols:
            return false()
        return or_(*(c.ilike(pattern, escape="\\") for c in cols))

    def column_filter(
        self, name: str, kind: str, model: Any, *, nested: bool = True
    ) -> ColumnElement[bool]:
        """The condition for one column's model, simple or combined with AND/OR.

        ``nested``: a condition may itself be a combined model, one level deep (a column's
        own filter ANDed with its set filter, see ``links.merge_filters``).
        """
        if not isinstance(model, Mapping):
            raise GridRequestError(f"filter on {name!r} must be an object")
        if "conditions" in model or "operator" in model:
            operator = model.get("operator")
            conditions = model.get("conditions")
            if operator not in ("AND", "OR"):
                raise GridRequestError(f"filter on {name!r}: operator must be AND or OR")
            if not isinstance(conditions, list) or not 1 <= len(conditions) <= MAX_CONDITIONS:
                raise GridRequestError(
                    f"filter on {name!r}: expected 1 to {MAX_CONDITIONS} conditions"
                )
            parts = [
                self.column_filter(name, kind, c, nested=False)
                if nested and isinstance(c, Mapping) and "conditions" in c
                else self._condition(name, kind, c)
                for c in conditions
            ]
            return and_(*parts) if operator == "AND" else or_(*parts)
        return self._condition(name, kind, model)

    def _condition(self, name: str, kind: str, model: Any) -> ColumnElement[bool]:
        """One simple condition, checked against the column's kind."""
        if not isinstance(model, Mapping):
            raise GridRequestError(f"filter on {name!r}: a condition must be an object")
        ftype, op = model.get("filterType"), model.get("type")
        if ftype == "set":
            return set_condition(self.info, self.dialect, name, kind, model)
        if ftype not in FILTER_TYPE[kind]:
            raise GridRequestError(
                f"filter on {name!r}: a {kind} column cannot take a {ftype!r} filter"
            )
        if not isinstance(op, str):
            raise GridRequestError(f"filter on {name!r}: missing operator")
        col = self._col(name)
        if op in BLANK_OPS:
            blank: ColumnElement[bool] = col.is_(None)
            if kind == TEXT:
                blank = or_(blank, col == "")
            return blank if op == "blank" else not_(blank)
        if kind in (TEXT, JSONISH) and op in TEXT_OPS:
            expr = col if kind == TEXT else cast(col, String)
            return self._text(expr, op, _text_value(model, name))
        if kind == NUMBER and op in NUMBER_OPS:
            return self._number(col, op, model, name)
        if kind in (DATE, DATETIME) and op in DATE_OPS:
            return self._date(col, kind, op, model, name)
        if kind == BOOL and op in BOOL_OPS:
            is_value: ColumnElement[bool] = col.is_(op == "true")
            return is_value
        raise GridRequestError(f"filter on {name!r}: unknown operator {op!r} for a {kind} column")

    @staticmethod
    def _text(expr: Any, op: str, value: str) -> ColumnElement[bool]:
        """Case-insensitive text comparisons, as AG Grid's text filter does them."""
        esc = _escape_like(value)
        if op == "contains":
            return expr.ilike(f"%{esc}%", escape="\\")  # type: ignore[no-any-return]
        if op == "notContains":
            return or_(expr.is_(None), not_(expr.ilike(f"%{esc}%", escape="\\")))
        if op == "startsWith":
            return expr.ilike(f"{esc}%", escape="\\")  # type: ignore[no-any-return]
        if op == "endsWith":
            return expr.ilike(f"%{esc}", escape="\\")  # type: ignore[no-any-return]
        same = func.lower(expr) == func.lower(literal(value, String))
        return same if op == "equals" else or_(expr.is_(None), not_(same))

    def _number(
        self, col: Any, op: str, model: Mapping[str, Any], name: str
    ) -> ColumnElement[bool]:
        """Numeric comparisons; ``inRange`` includes both ends."""
        v = sql_number(_number_value(model, "filter", name), self.dialect, name)
        if op == "inRange":
            hi = sql_number(_number_value(model, "filterTo", name), self.dialect, name)
            return and_(col >= min(v, hi), col <= max(v, hi))
        ops = {
            "equals": col == v,
            "notEqual": col != v,
            "lessThan": col < v,
            "lessThanOrEqual": col <= v,
            "greaterThan": col > v,
            "greaterThanOrEqual": col >= v,
        }
        return ops[op]  # type: ignore[no-any-return]

    def _bound(self, col: Any, kind: str, day: date) -> tuple[Any, Any]:
        """Column and bind value comparing with the start of ``day``.

        SQLite keeps timestamps as text; comparing as text with the same layout keeps
        a value at exactly midnight on the right side of the bound.
        """
        if self.dialect == "sqlite":
            text_col = type_coerce(col, String)
            if kind == DATE:
                return text_col, day.isoformat()
            return text_col, f"{day.isoformat()} 00:00:00"
        if kind == DATE:
            return col, day
        return col, datetime.combine(day, time())

    def _day_after(self, col: Any, kind: str, day: date) -> Any:
        """The bound value for the start of the day after ``day`` (see ``_bound``).

        Python has no day after 9999-12-31. SQLite compares text, and ``9999-12-32``
        sorts after every value of that last day; PostgreSQL counts past 9999 itself.
        """
        if day < date.max:
            return self._bound(col, kind, day + timedelta(days=1))[1]
        if self.dialect == "sqlite":
            return "9999-12-32"
        return cast(literal("10000-01-01"), col.type)

    def _date(
        self, col: Any, kind: str, op: str, model: Mapping[str, Any], name: str
    ) -> ColumnElement[bool]:
        """Day-based comparisons; on timestamps a day means the whole day."""
        day = _date_value(model, "dateFrom", name)
        c, start = self._bound(col, kind, day)
        next_day = self._day_after(col, kind, day)
        if op == "equals":
            return and_(c >= start, c < next_day)
        if op == "notEqual":
            return or_(c < start, c >= next_day)
        if op == "lessThan":
            return c < start  # type: ignore[no-any-return]
        if op == "greaterThan":
            return c >= next_day  # type: ignore[no-any-return]
        last = _date_value(model, "dateTo", name)
        first, last = min(day, last), max(day, last)
        _, lo = self._bound(col, kind, first)
        return and_(c >= lo, c < self._day_after(col, kind, last))
