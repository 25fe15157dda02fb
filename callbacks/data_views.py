"""Saved views: save the current view, list and delete them, open one by its short link.

Also the page layouts that need data from the server before they are drawn: the Data page
opened by a saved view's link (``/data?view=<id>``) and the home page's saved views card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy.exc import SQLAlchemyError

from callbacks.data_open import data_page
from components import data_views as view
from components import home
from components.common import message
from components.ids import Data
from dashapp.data.views import ViewError, check_view, open_view
from dashapp.deps import Deps

log = logging.getLogger(__name__)
HOME_LISTED = 6
UNAVAILABLE = "Saved views are unavailable right now (the app's state database did not answer)."


def save_view(deps: Deps, published: Any, name: Any, shared: Any) -> tuple[Any, bool]:
    """Save the published view under ``name``: a message, and whether it was saved."""
    user = deps.current_user().name
    table = published.get("table") if isinstance(published, dict) else None
    try:
        # The view keeps the table as the picker names it ([source:]schema.table).
        catalog = deps.locate(table)[0] if isinstance(table, str) else deps.catalog
        checked = check_view(catalog, published)
        saved = deps.saved_views.save(owner=user, name=name, view=checked, shared=bool(shared))
    except ViewError as exc:
        return message(str(exc), "warning", box=True), False
    except SQLAlchemyError:
        log.exception("saving a view failed")
        return message(UNAVAILABLE, "danger", box=True), False
    return view.saved_message(saved), True


def saved_list(deps: Deps) -> Any:
    """The saved views the current user may open."""
    user = deps.current_user().name
    try:
        return view.saved_items(deps.saved_views.visible(user), user)
    except SQLAlchemyError:
        log.exception("listing saved views failed")
        return message(UNAVAILABLE, "warning")


def delete_view(deps: Deps, view_id: Any) -> bool:
    """Delete one of the current user's views."""
    try:
        return deps.saved_views.delete(view_id, deps.current_user().name)
    except SQLAlchemyError:
        log.exception("deleting a saved view failed")
        return False


def data_layout(deps: Deps, query: dict[str, Any]) -> Any:
    """The Data page; a saved view's short link opens that view (or says why it cannot).

    Either way a linked table's grid comes with the page (``data_open.data_page``).
    """
    view_id = query.get("view")
    if not isinstance(view_id, str) or not view_id:
        return data_page(deps, query)
    try:
        linked, notes = open_view(deps.saved_views, deps.locate, view_id, deps.current_user().name)
    except SQLAlchemyError:
        log.exception("opening a saved view failed")
        linked, notes = {}, [UNAVAILABLE]
    return data_page(deps, linked, notes=notes)


def home_layout(deps: Deps, query: dict[str, Any]) -> Any:
    """The home page, with the saved views the current user may open."""
    try:
        views = deps.saved_views.visible(deps.current_user().name, limit=HOME_LISTED)
    except SQLAlchemyError:
        log.exception("listing saved views failed")
        views = None
    return home.layout(saved_views=views, **query)


def page_layouts(deps: Deps) -> dict[str, Callable[..., Any]]:
    """Layouts of the pages that show server data when drawn, by page key (for the factory)."""

    def data(**query: Any) -> Any:
        return data_layout(deps, query)

    def home_page(**query: Any) -> Any:
        return home_layout(deps, query)

    return {"data": data, "home": home_page}


def register(app: Dash, deps: Deps) -> None:
    """Wire the saved views of the Data page."""

    @app.callback(
        Output(Data.SAVE_MODAL, "is_open"),
        Output(Data.SAVE_MESSAGE, "children"),
        Input(Data.SAVE_OPEN, "n_clicks"),
        prevent_initial_call=True,
    )
    def _open(_n: Any) -> tuple[bool, Any]:
        return True, None

    @app.callback(
        Output(Data.SAVE_MESSAGE, "children", allow_duplicate=True),
        Output(Data.SAVED_TICK, "data"),
        Input(Data.SAVE_CONFIRM, "n_clicks"),
        Input(Data.SAVE_NAME, "n_submit"),
        State(Data.SAVE_NAME, "value"),
        State(Data.SAVE_SHARED, "value"),
        State(Data.VIEW, "data"),
        State(Data.SAVED_TICK, "data"),
        prevent_initial_call=True,
    )
    def _save(_n: Any, _s: Any, name: Any, shared: Any, published: Any, tick: Any) -> Any:
        text, saved = save_view(deps, published, name, shared)
        return text, ((tick if isinstance(tick, int) else 0) + 1) if saved else no_update

    @app.callback(
        Output(Data.SAVED_LIST, "children"),
        Input(Data.SAVED_TICK, "data"),
    )
    def _list(_tick: Any) -> Any:
        return saved_list(deps)

    @app.callback(
        Output(Data.SAVED_TICK, "data", allow_duplicate=True),
        Input(Data.saved_delete_any(), "n_clicks"),
        State(Data.SAVED_TICK, "data"),
        prevent_initial_call=True,
    )
    def _delete(_clicks: Any, tick: Any) -> Any:
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            raise PreventUpdate  # the list was drawn, nothing clicked
        target = ctx.triggered_id
        delete_view(deps, target.get("view") if isinstance(target, dict) else None)
        return (tick if isinstance(tick, int) else 0) + 1
