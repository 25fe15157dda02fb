"""Saved views: a named view of the Data page in the state database, opened by a short link.

A view is table, filters (set filters apart), sort, quick search, visible columns,
grouping and chart column: the dict the page publishes (``links.view_query`` makes its
link). Private views are seen by their owner only; shared ones by everyone. A view is
checked against its table when saved, and again when opened: a table or columns that have
gone since give a message, and the view opens without what is missing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError

from dashapp.data.catalog import Catalog, CatalogError, DataUnavailable, TableInfo
from dashapp.data.grid_query import parse_view
from dashapp.data.grouping import parse_grouping
from dashapp.data.links import VIEW_ID, merge_filters, view_query
from dashapp.data.request_values import GridRequestError
from dashapp.data.views_schema import saved_views

MAX_NAME = 120
MAX_VIEW_JSON = 64_000
VIEW_KEYS = ("table", "filter", "sets", "sort", "quick", "columns", "group", "chart")
LISTED = 50


class ViewError(ValueError):
    """A view that cannot be saved or opened; the message is shown to the user as is."""


@dataclass(frozen=True)
class SavedView:
    """One saved view."""

    id: str
    name: str
    owner: str
    shared: bool
    table: str
    view: dict[str, Any]
    created_at: datetime


def check_name(name: Any) -> str:
    """A view's name: 1 to 120 printable characters."""
    if not isinstance(name, str) or not name.strip():
        raise ViewError("Give the view a name.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ViewError(f"A view's name can be at most {MAX_NAME} characters.")
    if any(not ch.isprintable() for ch in name):
        raise ViewError("A view's name cannot contain control characters.")
    return str(name)


def normalize_view(view: Any) -> dict[str, Any]:
    """The view's parts, each of the expected type (ViewError otherwise)."""
    if not isinstance(view, Mapping):
        raise ViewError("There is no view to save.")
    table = view.get("table")
    if not isinstance(table, str) or not table:
        raise ViewError("Choose a table first.")
    out: dict[str, Any] = {"table": table}
    for key, kind, empty in (
        ("filter", dict, {}),
        ("sets", dict, {}),
        ("sort", list, []),
        ("quick", str, ""),
        ("columns", list, None),
        ("group", dict, None),
        ("chart", str, None),
    ):
        value = view.get(key)
        if value is None or value == empty:
            out[key] = empty
        elif isinstance(value, kind):
            out[key] = value
        else:
            raise ViewError(f"The view's {key} is not readable.")
    if out["columns"] is not None and not all(isinstance(c, str) for c in out["columns"]):
        raise ViewError("The view's columns are not readable.")
    if len(json.dumps(out)) > MAX_VIEW_JSON:
        raise ViewError("This view is too large to save (filters with very many values).")
    return out


def validate_view(catalog: Catalog, view: Any) -> dict[str, Any]:
    """A view checked against its table: every filter, sort and grouping as the grid takes it.

    Raises ViewError (unreadable parts), GridRequestError (refused by the grid's checks) or
    CatalogError (no such table).
    """
    norm = normalize_view(view)
    info = catalog.table(norm["table"])
    request = {
        "filterModel": merge_filters(norm["filter"], norm["sets"]),
        "sortModel": norm["sort"],
        "quick": norm["quick"],
    }
    parse_view(info, request, catalog.dialect)
    if norm["group"]:
        parse_grouping(info, norm["group"])
    names = {c.name for c in info.columns}
    if norm["columns"] is not None and not set(norm["columns"]) <= names:
        raise GridRequestError("it shows columns the table does not have")
    if norm["chart"] is not None and norm["chart"] not in names:
        raise GridRequestError("its chart column is not in the table")
    return norm


def check_view(catalog: Catalog, view: Any) -> dict[str, Any]:
    """``validate_view`` for saving: every refusal as a ViewError."""
    try:
        return validate_view(catalog, view)
    except (GridRequestError, CatalogError) as exc:
        raise ViewError(f"This view cannot be saved: {exc}") from exc


def _now() -> datetime:
    """The current time in UTC, without tzinfo (both databases store it as given)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _saved(row: Any) -> SavedView:
    """A SavedView from a ``saved_views`` row."""
    return SavedView(
        id=row.id,
        name=row.name,
        owner=row.owner,
        shared=bool(row.shared),
        table=row.table_key,
        view=json.loads(row.view),
        created_at=row.created_at,
    )


class SavedViewStore:
    """Reads and writes saved views in the state database (its schema is migrated at start)."""

    def __init__(self, engine: Engine) -> None:
        """Keep views through ``engine``."""
        self.engine = engine

    def save(self, *, owner: str, name: Any, view: dict[str, Any], shared: bool) -> SavedView:
        """Store a checked view under a new short id."""
        row = {
            "name": check_name(name),
            "owner": owner,
            "shared": bool(shared),
            "table_key": view["table"],
            "view": json.dumps(view, sort_keys=True),
            "created_at": _now(),
        }
        for _ in range(5):
            row["id"] = secrets.token_urlsafe(6)  # 8 characters, 48 random bits
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(saved_views).values(**row))
            except IntegrityError:
                continue  # the same id drawn twice: draw again
            return SavedView(
                row["id"], row["name"], owner, row["shared"], view["table"], view, row["created_at"]
            )
        raise ViewError("The view could not be saved; try again.")

    def get(self, view_id: Any, user: str) -> SavedView | None:
        """The view ``view_id`` if ``user`` may open it (theirs, or shared)."""
        if not isinstance(view_id, str) or not VIEW_ID.fullmatch(view_id):
            return None
        stmt = select(saved_views).where(
            saved_views.c.id == view_id,
            or_(saved_views.c.owner == user, saved_views.c.shared.is_(True)),
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _saved(row)

    def visible(self, user: str, *, limit: int = LISTED) -> list[SavedView]:
        """The user's own views and the shared ones, newest first."""
        stmt = (
            select(saved_views)
            .where(or_(saved_views.c.owner == user, saved_views.c.shared.is_(True)))
            .order_by(saved_views.c.created_at.desc(), saved_views.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_saved(r) for r in conn.execute(stmt)]

    def delete(self, view_id: Any, user: str) -> bool:
        """Delete one of ``user``'s own views; False if there is none of theirs by that id."""
        if not isinstance(view_id, str) or not VIEW_ID.fullmatch(view_id):
            return False
        stmt = delete(saved_views).where(saved_views.c.id == view_id, saved_views.c.owner == user)
        with self.engine.begin() as conn:
            return bool(conn.execute(stmt).rowcount)


def open_view(
    store: SavedViewStore,
    locate: Callable[[str], tuple[Catalog, str]],
    view_id: str,
    user: str,
) -> tuple[dict[str, str], list[str]]:
    """The link query of a saved view as its table is now, and what to tell the user.

    ``locate``: the catalog and ``schema.table`` of a table key (``Deps.locate``).
    """
    saved = store.get(view_id, user)
    if saved is None:
        return {}, [f"There is no saved view {view_id!r} (deleted, or private to someone else)."]
    try:
        catalog, local = locate(saved.table)
        info = catalog.table(local)
    except CatalogError:
        return {}, [
            f"The saved view {saved.name!r} shows the table {saved.table}, which is no longer"
            " there."
        ]
    except DataUnavailable as exc:
        return {}, [f"The saved view {saved.name!r} cannot be opened now: {exc}"]
    view, gone = without_missing_columns(info, saved.view)
    notes = []
    if gone:
        listed = ", ".join(repr(c) for c in gone[:10])
        notes.append(
            f"The saved view {saved.name!r} refers to columns that are no longer in"
            f" {saved.table}: {listed}. It is shown without them."
        )
    return view_query(view), notes


def without_missing_columns(
    info: TableInfo, view: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The view less every reference to a column ``info`` no longer has, and those columns."""
    names = {c.name for c in info.columns}
    gone: list[str] = []

    def keep(name: Any) -> bool:
        if isinstance(name, str) and name in names:
            return True
        if str(name) not in gone:
            gone.append(str(name))
        return False

    out = dict(view)
    out["filter"] = {k: v for k, v in (view.get("filter") or {}).items() if keep(k)}
    out["sets"] = {k: v for k, v in (view.get("sets") or {}).items() if keep(k)}
    out["sort"] = [
        s for s in view.get("sort") or [] if isinstance(s, dict) and keep(s.get("colId"))
    ]
    if view.get("columns") is not None:
        out["columns"] = [c for c in view["columns"] if keep(c)]
    if view.get("chart") and not keep(view["chart"]):
        out["chart"] = None
    group = view.get("group")
    if group:
        by = [c for c in group.get("by") or [] if keep(c)]
        aggs = [a for a in group.get("aggs") or [] if a.get("col") is None or keep(a["col"])]
        out["group"] = {"by": by, "aggs": aggs} if by else None
    return out, gone
