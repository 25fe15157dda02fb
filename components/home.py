"""The home page: what is going on (your jobs, recent tables, renders, saved views) and the tools.

Every card keeps the same height from the first paint: the jobs, recent tables and renders
fill in a moment later (a poll, and what this browser remembers), and nothing may jump.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html

from components.common import icon, page_header, progress_bar
from components.data_views import home_card
from components.ids import Home
from components.job import status_badge
from components.pages import TOOL_PAGES
from dashapp.data.views import SavedView
from jobs import registry
from jobs.store import QUEUED, RUNNING, Job

JOBS_POLL_MS = 2500
JOBS_LISTED = 6
TABLES_LISTED = 6


def layout(*, saved_views: list[SavedView] | None = None, **_query: str) -> html.Div:
    """Build the home page; ``saved_views``: those the user may open (None: unavailable)."""
    return html.Div(
        [
            page_header(
                "Overview",
                "grid-1x2",
                "Your jobs, tables and renders at a glance; the tools are one click away.",
            ),
            html.Div(
                [tool_tile(page) for page in TOOL_PAGES], id=Home.CARDS, className="home-tools"
            ),
            html.Div(
                [
                    jobs_card(),
                    renders_card(),
                    tables_card(),
                    html.Div(home_card(saved_views), id=Home.SAVED_VIEWS, className="home-saved"),
                ],
                className="home-grid",
            ),
            dcc.Store(id=Home.BROWSER),
            dcc.Store(id=Home.JOBS_SIGNATURE),
            dcc.Interval(id=Home.JOBS_TICK, interval=JOBS_POLL_MS),
        ]
    )


def tool_tile(page: Any) -> dcc.Link:
    """A tool: icon, name and what it is for, the whole tile a link to its page."""
    return dcc.Link(
        [
            html.Span(icon(page.icon), className="home-tool-icon"),
            html.Span(
                [
                    html.Span(page.name, className="home-tool-name"),
                    html.Span(page.summary, className="home-tool-summary"),
                ],
                className="min-w-0",
            ),
            icon("arrow-right", class_name="home-tool-arrow"),
        ],
        href=get_relative_path(page.path),
        className="home-tool card shadow-sm",
    )


def card(title: str, icon_name: str, body_id: str, body: Any, more: Any = None) -> dbc.Card:
    """A home card: heading (with an optional link on the right) over a body of fixed height."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.H2(
                            [icon(icon_name, class_name="me-2 text-primary"), title],
                            className="h6 mb-0",
                        ),
                        more,
                    ],
                    className="d-flex justify-content-between align-items-center mb-2 gap-2",
                ),
                html.Div(body, id=body_id, className="home-panel"),
            ]
        ),
        className="shadow-sm h-100",
    )


def more_link(text: str, path: str) -> dcc.Link:
    """The small link at the right of a card's heading."""
    return dcc.Link(
        [text, icon("arrow-right", class_name="ms-1")],
        href=get_relative_path(path),
        className="small text-nowrap link-underline link-underline-opacity-0"
        " link-underline-opacity-75-hover",
    )


def loading(text: str) -> html.P:
    """What a card shows until its content arrives (same place, so nothing moves)."""
    return html.P(text, className="small text-body-secondary mb-0")


def empty_state(icon_name: str, text: str, action: str, path: str) -> html.Div:
    """An empty card: what would be here, and the one step that starts it."""
    return html.Div(
        [
            html.Span(icon(icon_name), className="home-empty-icon"),
            html.P(text, className="mb-2"),
            dcc.Link(
                [action, icon("arrow-right", class_name="ms-1")],
                href=get_relative_path(path),
                className="btn btn-sm btn-outline-primary",
            ),
        ],
        className="home-empty",
    )


def jobs_card() -> dbc.Card:
    """Your running and recent jobs (filled by the poll)."""
    return card(
        "Your jobs",
        "cpu",
        Home.JOBS,
        loading("Looking for your jobs…"),
        more_link("All jobs", "/training"),
    )


def renders_card() -> dbc.Card:
    """The Compositor's recent renders in this browser (filled from its session)."""
    return card(
        "Recent renders",
        "layers",
        Home.RENDERS,
        loading("Looking for your renders…"),
        more_link("Open Compositor", "/compositor"),
    )


def tables_card() -> dbc.Card:
    """The tables this browser opened lately (filled from what it remembers)."""
    return card(
        "Recent tables",
        "clock-history",
        Home.RECENT_TABLES,
        loading("Looking for your recent tables…"),
        more_link("All tables", "/data"),
    )


def trainer_title(name: str) -> str:
    """A trainer's title, or its name when it is no longer installed."""
    try:
        return registry.get(name).title
    except KeyError:
        return name


def percent(job: Job) -> int:
    """How far a job is, in whole percent."""
    try:
        return max(0, min(100, int(float((job.progress or {}).get("percent") or 0))))
    except (TypeError, ValueError):
        return 0


def jobs_signature(jobs: Sequence[Job]) -> str:
    """What the jobs list shows, in short: it is redrawn only when this changes."""
    return "|".join(f"{j.id}:{j.status}:{percent(j)}" for j in jobs)


def job_item(job: Job) -> dcc.Link:
    """One job: trainer, id and time, its status, and a bar while it runs; a link to its page."""
    active = job.status in (RUNNING, QUEUED)
    title = trainer_title(job.trainer)
    bar: Any = None
    if job.status == RUNNING:
        done = percent(job)
        bar = progress_bar(done, f"Progress of job {job.id[:8]}", class_name="home-job-progress")
    return dcc.Link(
        [
            html.Div(
                [
                    html.Span(title, className="fw-semibold text-truncate"),
                    status_badge(job.status),
                ],
                className="d-flex justify-content-between align-items-center gap-2",
            ),
            html.Div(
                [
                    html.Span(job.id[:8], className="font-monospace"),
                    f" · {job.created_at:%d %b %H:%M} UTC",
                    f" · {percent(job)}%" if active and job.progress else "",
                ],
                className="small text-body-secondary",
            ),
            bar,
        ],
        href=get_relative_path(f"/training/{job.id}"),
        className="list-group-item list-group-item-action home-item",
    )


def jobs_list(jobs: Sequence[Job] | None) -> Any:
    """The jobs card's body: running ones first, then the most recent (None: unavailable)."""
    if jobs is None:
        return loading("Your jobs are unavailable right now (the app's database did not answer).")
    if not jobs:
        return empty_state(
            "cpu", "No jobs yet — start one on the Training page.", "Start a job", "/training"
        )
    ordered = sorted(jobs, key=lambda j: j.status not in (RUNNING, QUEUED))  # stable: newest first
    return html.Div(
        [job_item(job) for job in ordered[:JOBS_LISTED]], className="list-group list-group-flush"
    )


def table_href(key: str) -> str:
    """The Data page opened on one table."""
    return f"{get_relative_path('/data')}?{urlencode({'table': key})}"


def tables_list(tables: Sequence[tuple[str, str]]) -> Any:
    """The recent tables card's body: ``(key, detail)`` pairs, most recent first."""
    if not tables:
        return empty_state(
            "table",
            "No tables opened yet — pick one on the Data page.",
            "Browse the data",
            "/data",
        )
    return html.Div(
        [
            dcc.Link(
                [
                    icon("table", class_name="me-2 text-body-secondary"),
                    html.Span(key, className="text-truncate"),
                    html.Span(detail, className="ms-auto small text-body-secondary text-nowrap"),
                ],
                href=table_href(key),
                className="list-group-item list-group-item-action home-item home-table",
            )
            for key, detail in tables[:TABLES_LISTED]
        ],
        className="list-group list-group-flush",
    )


def render_href(sid: str, render_id: str, *, preview: bool = False) -> str:
    """A render of the Compositor: the file itself, or its small preview."""
    path = get_relative_path(f"/compositor/files/{quote(sid)}/renders/{quote(render_id)}")
    return f"{path}?preview=1" if preview else path


def renders_list(sid: str | None, render_ids: Sequence[str] | None) -> Any:
    """The recent renders card's body: newest first, each opening the full render."""
    if render_ids is None:
        return loading("Renders are unavailable right now (the image store did not answer).")
    if not sid or not render_ids:
        return empty_state(
            "layers",
            "No renders yet — compose one in the Compositor.",
            "Compose an image",
            "/compositor",
        )
    count = len(render_ids)
    return html.Ul(
        [
            html.Li(
                html.A(
                    html.Img(
                        src=render_href(sid, render_id, preview=True),
                        alt=f"Render {n} of {count}" + (" (newest)" if n == 1 else ""),
                        className="home-render-img",
                    ),
                    href=render_href(sid, render_id),
                    target="_blank",
                    rel="noopener",
                    title="Open the full render",
                    className="home-render",
                )
            )
            for n, render_id in enumerate(render_ids, start=1)
        ],
        className="home-renders list-unstyled mb-0",
    )
