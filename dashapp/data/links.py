"""Shareable links of the Data page: the view a URL's query string carries, and back.

A view is table, filters, sort, quick search, visible columns, grouping and chart column.
In a link, set filters travel inside ``filter`` beside the grid's own column filters
(``merge_filters``), so every consumer of ``filter`` (CSV export, the trainer's link)
applies them; the page splits them apart again (``split_filters``): AG Grid only knows its
own filter types.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dashapp.data.request_values import GridRequestError

MAX_LINK_VALUE = 100_000  # characters of one JSON value in a link
VIEW_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def merge_filters(grid: Any, sets: Any) -> Any:
    """One filter model from AG Grid's column filters and the set filters ``{col: values}``.

    A column with both gets ``{"operator": "AND", "conditions": [its filter, its set]}``.
    A malformed grid model is passed on as it is, for the filter checks to refuse.
    """
    if sets is None:
        sets = {}
    if not isinstance(sets, dict):
        raise GridRequestError("the set filters must be an object of column: values")
    if not isinstance(grid, dict):
        return grid if grid or not sets else dict(_set_models(sets))
    merged = dict(grid)
    for col, set_model in _set_models(sets):
        if col in merged:
            own = merged[col]
            ftype = own.get("filterType") if isinstance(own, dict) else None
            merged[col] = {"filterType": ftype, "operator": "AND", "conditions": [own, set_model]}
        else:
            merged[col] = set_model
    return merged


def _set_models(sets: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each set filter as a filter model entry."""
    return [(col, {"filterType": "set", "values": values}) for col, values in sets.items()]


def split_filters(model: Any) -> tuple[Any, dict[str, Any]]:
    """``merge_filters`` undone: (AG Grid's column filters, the set filters)."""
    if not isinstance(model, dict):
        return model, {}
    grid: dict[str, Any] = {}
    sets: dict[str, Any] = {}
    for col, entry in model.items():
        if _is_set(entry):
            sets[col] = entry["values"]
            continue
        conditions = entry.get("conditions") if isinstance(entry, dict) else None
        if (
            isinstance(conditions, list)
            and len(conditions) == 2
            and entry.get("operator") == "AND"
            and _is_set(conditions[1])
            and not _is_set(conditions[0])
        ):
            grid[col], sets[col] = conditions[0], conditions[1]["values"]
        else:
            grid[col] = entry
    return grid, sets


def _is_set(entry: Any) -> bool:
    """Whether a filter model entry is a set filter."""
    return isinstance(entry, dict) and entry.get("filterType") == "set"


def parse_query(query: dict[str, str]) -> dict[str, Any]:
    """The view a shared link carries.

    ``filter`` is the whole filter model (set filters included, for exports);
    ``grid_filter`` and ``sets`` are its two parts. ``view_id`` names a saved view.
    """
    state: dict[str, Any] = {"table": query.get("table") or None, "sort": [], "filter": {}}
    state["quick"] = (query.get("q") or "")[:1000]
    state["columns"], state["group"] = None, None
    chart = query.get("chart")
    state["chart"] = chart[:1000] if isinstance(chart, str) and chart else None
    view_id = query.get("view")
    if isinstance(view_id, str) and view_id:
        if VIEW_ID.fullmatch(view_id):
            state["view_id"] = view_id
        else:
            _warn(state, "ignored an unreadable saved view id in the link")
    for key, target, kind in (
        ("sort", "sort", list),
        ("filter", "filter", dict),
        ("cols", "columns", list),
        ("group", "group", dict),
    ):
        raw = query.get(key)
        if not raw:
            continue
        try:
            value = json.loads(raw) if len(raw) <= MAX_LINK_VALUE else None
        except ValueError:
            value = None
        if isinstance(value, kind):
            state[target] = value
        else:
            _warn(state, f"ignored an unreadable {key} in the link")
    if state["columns"] is not None and not all(isinstance(c, str) for c in state["columns"]):
        state["columns"] = None
        _warn(state, "ignored an unreadable cols in the link")
    state["grid_filter"], state["sets"] = split_filters(state["filter"])
    return state


def _warn(state: dict[str, Any], text: str) -> None:
    """Note something of the link that was left out."""
    state.setdefault("warnings", []).append(text)


def view_query(view: dict[str, Any]) -> dict[str, str]:
    """The query string of a link to ``view`` (the inverse of ``parse_query``)."""
    query: dict[str, str] = {}
    if view.get("table"):
        query["table"] = str(view["table"])
    if view.get("sort"):
        query["sort"] = json.dumps(view["sort"])
    merged = merge_filters(view.get("filter") or {}, view.get("sets") or {})
    if merged:
        query["filter"] = json.dumps(merged)
    if view.get("quick"):
        query["q"] = str(view["quick"])
    if view.get("columns") is not None:
        query["cols"] = json.dumps(view["columns"])
    if view.get("group"):
        query["group"] = json.dumps(view["group"])
    if view.get("chart"):
        query["chart"] = str(view["chart"])
    return query
