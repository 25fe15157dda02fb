"""Saved views on the Data page: the card listing them, the save dialog, their short links."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from components.common import icon, message, small_button
from components.ids import Data
from dashapp.data.views import MAX_NAME, SavedView


def view_href(view_id: str) -> str:
    """The short link of a saved view (under the app's URL prefix)."""
    return f"{get_relative_path('/data')}?view={view_id}"


def saved_card() -> dbc.Card:
    """The Data page's card of saved views, with the button that saves the current one."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.Span("Saved views", className="fw-semibold small"),
                        small_button(
                            "bookmark-plus",
                            "Save view…",
                            id=Data.SAVE_OPEN,
                            color="primary",
                            title="Name this view (table, filters, sort, search, columns,"
                            " grouping, chart) and keep it",
                        ),
                    ],
                    className="d-flex justify-content-between align-items-center mb-2",
                ),
                html.Div(id=Data.SAVED_LIST, className="saved-list"),
            ]
        ),
        className="shadow-sm mb-3",
    )


def save_modal() -> dbc.Modal:
    """The dialog that names the current view and saves it."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Save this view")),
            dbc.ModalBody(
                [
                    dbc.Label("Name", html_for=Data.SAVE_NAME, className="small"),
                    dbc.Input(
                        id=Data.SAVE_NAME, maxLength=MAX_NAME, placeholder="e.g. Failed logins"
                    ),
                    dbc.Switch(
                        id=Data.SAVE_SHARED,
                        label="Share with everyone (otherwise only you see it)",
                        value=False,
                        className="mt-3",
                    ),
                    html.Div(id=Data.SAVE_MESSAGE, className="mt-3"),
                ]
            ),
            dbc.ModalFooter(dbc.Button("Save", id=Data.SAVE_CONFIRM, color="primary")),
        ],
        id=Data.SAVE_MODAL,
        is_open=False,
    )


def saved_items(views: list[SavedView], user: str) -> Any:
    """The list of views one may open: theirs and the shared ones; theirs can be deleted."""
    if not views:
        return html.Div("No saved views yet.", className="small text-body-secondary")
    items = []
    for view in views:
        mine = view.owner == user
        badge = (
            dbc.Badge("shared", color="info", className="ms-1")
            if view.shared
            else dbc.Badge("private", color="secondary", className="ms-1")
        )
        who = "" if mine else f" · {view.owner}"
        items.append(
            html.Li(
                [
                    html.Div(
                        [
                            dcc.Link(view.name, href=view_href(view.id), className="saved-link"),
                            badge,
                            html.Div(f"{view.table}{who}", className="small text-body-secondary"),
                        ],
                        className="min-w-0",
                    ),
                    html.Button(
                        icon("trash"),
                        id=Data.saved_delete(view.id),
                        className="btn btn-sm btn-link text-danger p-0 ms-2",
                        title=f"Delete the saved view {view.name}",
                    )
                    if mine
                    else None,
                ],
                className="d-flex justify-content-between align-items-start mb-2",
            )
        )
    return html.Ul(items, className="list-unstyled mb-0")


def saved_message(view: SavedView) -> html.Div:
    """Saved: its short link."""
    href = view_href(view.id)
    return message(["Saved. Its link: ", dcc.Link(href, href=href)], "success", box=True)


def home_card(views: list[SavedView] | None) -> dbc.Card:
    """The home page's small card of saved views (the newest few; None: unavailable)."""
    body: list[Any] = [
        html.H2([icon("bookmark", class_name="me-2 text-primary"), "Saved views"], className="h6"),
    ]
    if views is None:
        body.append(
            html.P(
                "Saved views are unavailable right now.", className="small text-body-secondary mb-0"
            )
        )
    elif views:
        body.append(
            html.Ul(
                [
                    html.Li(
                        [
                            dcc.Link(v.name, href=view_href(v.id)),
                            html.Span(f" · {v.table}", className="small text-body-secondary"),
                        ],
                        className="mb-1",
                    )
                    for v in views
                ],
                className="list-unstyled mb-0 small",
            )
        )
    else:
        body.append(
            html.P(
                "Views you save on the Data page (or that others share) show here.",
                className="small text-body-secondary mb-0",
            )
        )
    return dbc.Card(dbc.CardBody(body), className="shadow-sm mb-3")
