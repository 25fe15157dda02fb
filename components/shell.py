"""The frame around every page: navigation bar, theme switch and the page container."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from components.common import aria, icon
from components.ids import Shell
from components.pages import TOOL_PAGES
from dashapp.identity import ANONYMOUS, Identity
from jobs.store import CANCELLED, FAILED, SUCCEEDED

ANONYMOUS_USER = Identity(ANONYMOUS)


def navbar(who: Identity = ANONYMOUS_USER, sign_out_token: str | None = None) -> dbc.Navbar:
    """Top navigation: brand, one link per tool page, the user and the light/dark switch.

    ``sign_out_token``: the CSRF token of a sign-in session, which can be ended here.
    """
    links = [
        dbc.NavItem(
            dbc.NavLink(
                [icon(page.icon, class_name="me-1"), page.name],
                href=get_relative_path(page.path),
                active="partial",
            )
        )
        for page in TOOL_PAGES
    ]
    theme = html.Div(
        [
            icon("sun", class_name="me-2"),
            dbc.Switch(
                id=Shell.THEME_SWITCH,
                value=False,
                # Named for screen readers; the sun and moon say it to the eye.
                label="Dark theme",
                label_class_name="visually-hidden",
                className="mb-0 d-inline-block",
            ),
            icon("moon-stars"),
        ],
        className="d-flex align-items-center theme-toggle",
        title="Light or dark theme",
    )
    badge: list[Any] = (
        [dbc.Badge("admin", color="secondary", className="ms-1")] if who.admin else []
    )
    user: html.Span | html.Div = html.Span(
        [icon("person-circle", class_name="me-1"), who.name, *badge],
        id=Shell.USER,
        className="navbar-text small me-3 text-nowrap",
        title="Signed in through the portal"
        if who.via == "header"
        else ("No sign-in is configured" if who.via == "open" else "Signed in"),
    )
    if sign_out_token is not None:  # signed in on our sign-in page: they can sign out here
        user = html.Div(
            [user, sign_out(sign_out_token)], className="d-flex align-items-center me-2"
        )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [icon("grid-1x2-fill", class_name="me-2 text-primary"), "dashapp"],
                    href=get_relative_path("/"),
                    className="fw-semibold",
                ),
                dbc.NavbarToggler(
                    [
                        html.Span(className="navbar-toggler-icon"),
                        html.Span("Menu", className="visually-hidden"),
                    ],
                    id=Shell.NAV_TOGGLER,
                    n_clicks=0,
                ),
                dbc.Collapse(
                    [dbc.Nav(links, className="me-auto", navbar=True), user, theme],
                    id=Shell.NAV_COLLAPSE,
                    is_open=False,
                    navbar=True,
                ),
            ],
            fluid=True,
        ),
        id=Shell.NAVBAR,
        # Neutral bar from Bootstrap's body colours, so it follows the light/dark mode.
        color="body",
        dark=False,
        expand="md",
        className="border-bottom app-navbar shadow-sm",
        sticky="top",
    )


def sign_out(token: str) -> html.Form:
    """A small form that ends the sign-in session (a POST with this session's token)."""
    return html.Form(
        [
            dcc.Input(type="hidden", name="csrf", value=token),
            html.Button(
                [icon("box-arrow-right", class_name="me-1"), "Sign out"],
                type="submit",
                className="btn btn-link btn-sm text-nowrap text-decoration-none p-0",
            ),
        ],
        action=get_relative_path("/logout"),
        method="post",
        className="me-3 mb-0",
    )


# How often a page asks whether one of the user's jobs ended (one small query).
JOBS_POLL_MS = 5000
TOAST_COLOR = {SUCCEEDED: "success", FAILED: "danger", CANCELLED: "warning"}
TOAST_ICON = {SUCCEEDED: "check-circle-fill", FAILED: "x-octagon-fill", CANCELLED: "slash-circle"}


def job_watch() -> list[Any]:
    """Where the toasts go, and what the poll of the user's ended jobs keeps.

    ``since``: when the page was opened (UTC, as the job store keeps times); jobs that
    ended before are not announced.
    """
    since = datetime.now(UTC).replace(tzinfo=None).isoformat()
    return [
        html.Div([], id=Shell.TOASTS, className="toast-stack", **aria(live="polite")),
        dcc.Store(id=Shell.JOBS_SINCE, data=since),
        dcc.Store(id=Shell.JOBS_SEEN, data=[]),
        dcc.Interval(id=Shell.JOBS_TICK, interval=JOBS_POLL_MS),
    ]


def job_toast(job_id: str, trainer: str, status: str) -> dbc.Toast:
    """A toast saying that a job ended, with a link to it."""
    return dbc.Toast(
        [
            html.Div(f"{trainer} · {status}", className="small mb-1"),
            dcc.Link(
                [icon("box-arrow-up-right", class_name="me-1"), "Open the job"],
                href=get_relative_path(f"/training/{job_id}"),
                className="small job-toast-link",
            ),
        ],
        header=[
            icon(
                TOAST_ICON.get(status, "info-circle"),
                class_name=f"me-2 text-{TOAST_COLOR.get(status, 'secondary')}",
            ),
            f"Job {job_id[:8]} {status}",
        ],
        dismissable=True,
        class_name=f"job-toast job-toast-{status}",
    )


def layout(
    who: Identity = ANONYMOUS_USER, sign_out_token: str | None = None, page: Any = None
) -> html.Div:
    """Build the app shell for ``who`` (called on every page load).

    Landmarks: the navigation bar and the page's ``main``; a skip link (shown on focus)
    leads keyboard users past the navigation. ``page``: a page container with the page
    already in it (``components.first_page``).
    """
    return html.Div(
        [
            html.A(
                "Skip to content",
                href=f"#{Shell.MAIN}",
                className="skip-link visually-hidden-focusable",
            ),
            navbar(who, sign_out_token),
            html.Main(
                dbc.Container(
                    page or dash.page_container,
                    id=Shell.PAGE,
                    fluid=True,
                    className="py-4 px-3 app-page",
                ),
                id=Shell.MAIN,
                tabIndex="-1",
            ),
            dcc.Store(id=Shell.ME, data=who.name),
            dcc.Store(id=Shell.RECENT_TABLES, storage_type="local"),
            *job_watch(),
        ]
    )
