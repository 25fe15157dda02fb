"""Shareable links of the Data page: the grid state a URL's query string carries."""

from __future__ import annotations

import json
from typing import Any


def parse_query(query: dict[str, str]) -> dict[str, Any]:
    """The grid state a shared link carries: table, sort, filters and quick search."""
    state: dict[str, Any] = {"table": query.get("table") or None, "sort": [], "filter": {}}
    state["quick"] = (query.get("q") or "")[:1000]
    for key, target, kind in (("sort", "sort", list), ("filter", "filter", dict)):
        raw = query.get(key)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, kind):
            state[target] = value
        else:
            state.setdefault("warnings", []).append(f"ignored an unreadable {key} in the link")
    return state
