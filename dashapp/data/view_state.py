"""The Data page's view as one plain dict, and what the page's actions do to it.

``{"table", "filter", "sets", "sort", "quick", "columns", "group", "chart"}``: ``filter``
is AG Grid's own column filters, ``sets`` the set filters ``{column: [values]}``, ``group``
a grouping spec (``grouping.parse_grouping``) or None, ``columns`` the visible columns (None:
all). Each action returns a new dict; nothing here touches a database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dashapp.data.grouping import group_filters

EMPTY: dict[str, Any] = {
    "table": None,
    "filter": {},
    "sets": {},
    "sort": [],
    "quick": "",
    "columns": None,
    "group": None,
    "chart": None,
}
CHIP_TEXT = 60  # characters of a value shown on a chip


def as_view(data: Any) -> dict[str, Any]:
    """A view dict with every key, of the expected type (anything else dropped)."""
    view = dict(EMPTY)
    if not isinstance(data, Mapping):
        return view
    for key, empty in EMPTY.items():
        value = data.get(key)
        kind = type(empty) if empty is not None else None
        if key in ("table", "chart"):
            view[key] = value if isinstance(value, str) and value else None
        elif key == "columns":
            ok = isinstance(value, list) and all(isinstance(c, str) for c in value)
            view[key] = value if ok else None
        elif key == "group":
            view[key] = value if isinstance(value, Mapping) and value else None
        elif kind is not None and isinstance(value, kind):
            view[key] = value
    return view


def from_link(state: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The view a link's state (``links.parse_query``) asks for, if it is of table ``key``."""
    if state.get("table") != key:
        return {**EMPTY, "table": key}
    return as_view(
        {
            "table": key,
            "filter": state.get("grid_filter"),
            "sets": state.get("sets"),
            "sort": state.get("sort"),
            "quick": state.get("quick"),
            "columns": state.get("columns"),
            "group": state.get("group"),
            "chart": state.get("chart"),
        }
    )


def with_set(view: dict[str, Any], column: str, values: list[Any] | None) -> dict[str, Any]:
    """The view with ``column``'s set filter replaced (None or []: removed)."""
    sets = {k: v for k, v in view["sets"].items() if k != column}
    if values:
        sets[column] = values
    return {**view, "sets": sets}


def with_group(view: dict[str, Any], spec: dict[str, Any] | None) -> dict[str, Any]:
    """The view grouped by ``spec`` (None: not grouped)."""
    return {**view, "group": spec or None}


def open_group(view: dict[str, Any], row: Any) -> dict[str, Any]:
    """The rows behind one group: its keys become set filters, the grouping goes."""
    sets = {**view["sets"], **group_filters(view["group"], row)}
    return {**view, "sets": sets, "group": None}


def clear_all(view: dict[str, Any]) -> dict[str, Any]:
    """No filters, no search, no grouping (columns, sort and chart stay)."""
    return {**view, "filter": {}, "sets": {}, "quick": "", "group": None}


def without_chip(view: dict[str, Any], chip: str) -> dict[str, Any]:
    """The view less what one chip stands for (``filter:<col>``, ``set:<col>``, quick, group)."""
    kind, _, column = chip.partition(":")
    if kind == "filter":
        return {**view, "filter": {k: v for k, v in view["filter"].items() if k != column}}
    if kind == "set":
        return with_set(view, column, None)
    if kind == "quick":
        return {**view, "quick": ""}
    if kind == "group":
        return with_group(view, None)
    return view


def chips(view: dict[str, Any]) -> list[tuple[str, str]]:
    """The active filters, search and grouping as ``(chip key, label)``, in reading order."""
    out = [(f"filter:{col}", f"{col} {describe(model)}") for col, model in view["filter"].items()]
    out += [(f"set:{col}", f"{col} {describe_set(values)}") for col, values in view["sets"].items()]
    if view["quick"]:
        out.append(("quick", f"search “{short(view['quick'])}”"))
    group = view["group"]
    if isinstance(group, Mapping) and isinstance(group.get("by"), list):
        out.append(("group", "grouped by " + ", ".join(str(c) for c in group["by"])))
    return out


OPERATOR_WORDS = {
    "contains": "contains",
    "notContains": "does not contain",
    "equals": "=",
    "notEqual": "≠",
    "startsWith": "starts with",
    "endsWith": "ends with",
    "lessThan": "<",
    "lessThanOrEqual": "≤",
    "greaterThan": ">",
    "greaterThanOrEqual": "≥",
    "inRange": "between",
    "blank": "is blank",
    "notBlank": "is not blank",
    "true": "is true",
    "false": "is false",
}


def describe(model: Any) -> str:
    """One AG Grid filter model as words: ``contains “log”``, ``between 1 and 5``."""
    if not isinstance(model, Mapping):
        return "(unreadable filter)"
    conditions = model.get("conditions")
    if isinstance(conditions, list):
        joiner = " or " if model.get("operator") == "OR" else " and "
        return joiner.join(describe(c) for c in conditions[:10])
    if model.get("filterType") == "set":
        return describe_set(model.get("values"))
    op = model.get("type")
    words = OPERATOR_WORDS.get(op, str(op)[:20]) if isinstance(op, str) else "?"
    if model.get("filterType") == "date":
        first, last = model.get("dateFrom"), model.get("dateTo")
    else:
        first, last = model.get("filter"), model.get("filterTo")
    if op in ("blank", "notBlank", "true", "false"):
        return words
    text = f"{words} {value_text(first, dated=model.get('filterType') == 'date')}"
    if op == "inRange":
        text += f" and {value_text(last, dated=model.get('filterType') == 'date')}"
    return text


def describe_set(values: Any) -> str:
    """A set filter as words: ``is “a”``, ``in “a”, “b” +3``."""
    if not isinstance(values, list):
        return "(unreadable values)"
    if not values:
        return "matches nothing"
    shown = ", ".join(value_text(v) for v in values[:3])
    more = f" +{len(values) - 3}" if len(values) > 3 else ""
    return ("is " if len(values) == 1 else "in ") + shown + more


def value_text(value: Any, *, dated: bool = False) -> str:
    """A filter value as shown on a chip: text quoted and shortened, NULL as a word."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if dated:
            return value[:10] if value.endswith("00:00:00") else value[:19]
        return f"“{short(value)}”"
    if isinstance(value, (int, float)):
        return f"{value:,}" if isinstance(value, int) else f"{value:g}"
    return short(json.dumps(value, default=str))


def short(text: str) -> str:
    """Text cut to fit on a chip."""
    return text if len(text) <= CHIP_TEXT else text[: CHIP_TEXT - 1] + "…"
