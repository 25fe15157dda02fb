"""Opening a table on the Data page: by the picker, or with the page when its link names one.

A linked table (``/data?table=…``, or a saved view's ``?view=…``) is opened while the page's
layout is built, so its grid comes with the first response: its first block request needs
no callback before it (no pages callback, no picker, no grid callback).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from callbacks import data_explore
from components import data as view
from components import data_grid
from dashapp.data.catalog import Catalog, CatalogError, DataUnavailable
from dashapp.data.links import parse_query
from dashapp.data.view_state import from_link
from dashapp.deps import Deps

log = logging.getLogger(__name__)
# Opening a table reads its columns again (in the background, the page opens with what was
# read before) unless that was done this recently: a column added since shows up on the next
# visit, one page load reflects once, and the first rows never wait on the catalog.
OPEN_REFLECT_MAX_AGE_S = 10.0
# The page waits this long for the linked table's columns to put its grid in the first
# response; past it (a slow or unreachable database) the page comes without, as before.
LINKED_GRID_WAIT_S = 2.0


def show_table(
    catalog: Catalog,
    key: str,
    state: dict[str, Any],
    *,
    deadline_ms: int = 40_000,
    timeout_s: float = 10.0,
    table_key: str | None = None,
) -> dict[str, Any]:
    """Everything that changes when a table is chosen (with the link's view, if of this table).

    ``key``: ``schema.table`` in ``catalog``; ``table_key``: the table as the picker has it.
    """
    info = catalog.table(key, refresh_after_s=OPEN_REFLECT_MAX_AGE_S)
    names = [c.name for c in info.columns]
    chartable = [
        {"label": f"{c.name} ({c.kind})", "value": c.name}
        for c in info.columns
        if c.kind in ("number", "date", "datetime", "text", "bool")
    ]
    linked = from_link(state, key)
    if linked["columns"] is not None:
        shown = [n for n in names if n in linked["columns"]]
        linked["columns"] = shown if len(shown) < len(names) else None
    grid, explore, note = data_explore.grid_for(info, linked, deadline_ms, table_key or key)
    chart = linked["chart"] if linked["chart"] in {o["value"] for o in chartable} else None
    status = data_explore.progress_text(info, explore, timeout_s) if explore["group"] else None
    return {
        "grid": grid,
        "info": view.table_panel(info),
        "columns": [{"label": n, "value": n} for n in names],
        "visible": linked["columns"] if linked["columns"] is not None else names,
        "chart_options": chartable,
        "chart": chart,
        "explore": explore,
        "note": note,
        "status": status,
    }


def open_table(
    deps: Deps, key: str, state: dict[str, Any], *, deadline_ms: int = 40_000
) -> dict[str, Any]:
    """``show_table`` for a picker or link key (``[source:]schema.table``)."""
    catalog, local = deps.locate(key)
    # The link's view is for the table it names, not for one picked later.
    linked = {**state, "table": local if state.get("table") == key else None}
    return show_table(
        catalog,
        local,
        linked,
        deadline_ms=deadline_ms,
        timeout_s=deps.settings.statement_timeout_s,
        table_key=key,
    )


def linked_table(deps: Deps, state: dict[str, Any], wait_s: float) -> dict[str, Any] | None:
    """``open_table`` of the link's table if it is ready within ``wait_s``, else None.

    What is not ready in time goes on in the background (it fills the catalog's cache), and
    the page then opens the table through the picker as it does without a link.
    """
    key, done = state.get("table"), []
    if not key:
        return None
    deadline = data_grid.block_deadline_ms(deps.settings.statement_timeout_s)

    def work() -> None:
        try:
            done.append(open_table(deps, key, state, deadline_ms=deadline))
        except (CatalogError, DataUnavailable):
            pass  # the picker's callback says what is wrong with the link
        except Exception:
            log.exception("opening the linked table %s failed", key)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(wait_s)
    return done[0] if done else None


def data_page(
    deps: Deps,
    query: dict[str, Any],
    *,
    notes: list[str] | None = None,
    wait_s: float = LINKED_GRID_WAIT_S,
) -> Any:
    """The Data page for a link's ``query``: a linked table's grid comes with the page itself."""
    shown = linked_table(deps, parse_query(query), wait_s)
    return view.layout(shown, notes=notes, **query)


def grid_table(request: Any) -> str:
    """The table a block request is for (the grid's ``context``; "" when it names none)."""
    context = request.get("context") if isinstance(request, dict) else None
    table = context.get("table") if isinstance(context, dict) else None
    return table if isinstance(table, str) else ""


def grid_explore(request: Any) -> dict[str, Any]:
    """The set filters and grouping a block request carries (the grid's ``context``)."""
    context = request.get("context") if isinstance(request, dict) else None
    explore = context.get("explore") if isinstance(context, dict) else None
    return explore if isinstance(explore, dict) else {}
