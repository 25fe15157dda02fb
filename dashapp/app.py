"""The app factory, and the one place that puts the packages together (the composition root).

Only the entry points (``wsgi``, ``worker``, ``cli``, ``gunicorn_conf``) import this module.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs

import dash
import dash_ag_grid
import diskcache
from dash import CeleryManager, Dash, DiskcacheManager
from dash.exceptions import DependencyException, UnsupportedRelativePath
from dash.fingerprint import build_fingerprint
from flask import request

from callbacks import compositor as compositor_callbacks
from callbacks import data as data_callbacks
from callbacks import home as home_callbacks
from callbacks import shell as shell_callbacks
from callbacks import training as training_callbacks
from callbacks.data_views import page_layouts
from components import shell
from components.first_page import page_container
from components.pages import ALL_PAGES, NOT_FOUND, Page, import_page_modules, is_known_path
from dashapp.data.demo_data import DemoSizes, ensure_sqlite
from dashapp.db import make_engine
from dashapp.deps import Deps
from dashapp.migrations import require_head, upgrade
from dashapp.settings import Settings, SettingsError
from dashapp.web import server, signin
from dashapp.web.first_page import layout_page_address
from jobs.registry import load as load_trainers
from jobs.runner import supervise
from jobs.store import WORKER

log = logging.getLogger(__name__)
DEPS_KEY = "DASHAPP_DEPS"
# Dash's page frame with the document's language declared (screen readers pick their voice
# by it; Dash's own frame has none) and its scripts at the end of the body.
INDEX_STRING = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        {%config%}
        {%scripts%}
        {%renderer%}
    </body>
</html>"""
# Pages that come inside the first layout response when the browser names them (not through
# Dash's pages callback, one round trip later): the Data page, whose first rows wait on it.
FIRST_RESPONSE_PAGES = ("data",)
# AG Grid's code arrives in a second script that the grid fetches once it is drawn; the Data
# page names it in its HTML instead, so it loads with the other scripts (``DashApp``).
GRID_CHUNK = "async-community.js"


def assets_dir() -> Path:
    """The assets folder: inside the installed package, or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "assets"
    return installed if installed.is_dir() else here.parent / "assets"


def require_shared_secret(settings: Settings) -> None:
    """Refuse a per-node secret key (generated into the data folder) when nodes share state."""
    if settings.secret_key:
        return
    if settings.celery_broker or settings.state_url.startswith("postgresql"):
        why = (
            "DASHAPP_CELERY_BROKER" if settings.celery_broker else "a PostgreSQL DASHAPP_STATE_URL"
        )
        raise SettingsError(
            f"DASHAPP_SECRET_KEY is not set, but {why} means several nodes may serve this app "
            "and each would generate its own key: set the same DASHAPP_SECRET_KEY on every "
            "node (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )


def prepare_data(settings: Settings) -> None:
    """Create the data directory, the demo database when it is browsed, the state schema.

    Raises ``dashapp.migrations.SchemaError`` (a one-line message) when the state database
    does not fit this code and may not be upgraded here, and ``SettingsError`` when nodes
    share state but not a secret key.
    """
    require_shared_secret(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.uses_demo_db and settings.demo_autocreate:
        ensure_sqlite(settings.demo_db_path, DemoSizes(events=settings.demo_rows))
    engine = make_engine(settings.state_url)
    try:
        (upgrade if settings.auto_migrate else require_head)(engine)
    finally:
        engine.dispose()


def background_manager(settings: Settings) -> tuple[Any, Any]:
    """Celery on Redis when a broker is configured, else a diskcache shared by all workers."""
    if settings.celery_broker:
        from celery import Celery

        celery_app = Celery(
            "dashapp", broker=settings.celery_broker, backend=settings.celery_broker
        )
        # Jobs are long and few: one at a time per worker process, acknowledged when done.
        celery_app.conf.update(
            worker_prefetch_multiplier=1,
            task_acks_late=True,
            broker_connection_retry_on_startup=True,
        )
        return CeleryManager(celery_app), celery_app
    if settings.state_url.startswith("postgresql"):
        # Shared state says "several nodes", but a diskcache lives in one node's folder: a
        # background callback's result polled through another node would never be found.
        log.warning(
            "background callbacks use this node's diskcache (no DASHAPP_CELERY_BROKER): "
            "run one web node only, or set DASHAPP_CELERY_BROKER for several"
        )
    cache = diskcache.Cache(str(settings.data_dir / "cache"))
    return DiskcacheManager(cache), None


def job_task(celery_app: Any, settings: Settings) -> Callable[[str], None]:
    """Register the Celery task that runs a job the server launches; returns its sender.

    The server hands orphaned jobs (queued, never launched by their page) to the workers
    with it; registered by the web nodes and the workers alike (both build the app).
    """

    @celery_app.task(name="dashapp.launch_job", ignore_result=True)  # type: ignore[untyped-decorator]
    def launch_job(job_id: str) -> None:
        """Run a job the server launched, on this worker, until it ends."""
        s = settings
        supervise(s.state_url, s.data_dir, job_id, s.database_url, s.max_jobs, launcher=WORKER)

    def send(job_id: str) -> None:
        """Queue the task for ``job_id`` (raises when the broker is away)."""
        # No retrying inside the send: with the broker away the job stays an orphan and
        # the next sweep tries again.
        launch_job.apply_async((job_id,), retry=False)

    return send


class DashApp(Dash):
    """Dash, with AG Grid's code among the Data page's scripts.

    The chunk registers itself with the grid's loader when it runs (webpack), so the grid
    finds it there instead of fetching it after it is drawn; ``defer`` runs it while the
    layout is being fetched, not before.
    """

    def interpolate_index(self, **kwargs: Any) -> str:  # type: ignore[override]
        """The page's HTML, with the grid's chunk on the Data page."""
        prefix = self.config.requests_pathname_prefix
        if request.path.rstrip("/") == f"{prefix}data":
            path = os.path.join(os.path.dirname(dash_ag_grid.__file__), GRID_CHUNK)
            name = build_fingerprint(
                GRID_CHUNK, dash_ag_grid.__version__, int(os.stat(path).st_mtime)
            )
            src = f"{prefix}_dash-component-suites/dash_ag_grid/{name}"
            kwargs["scripts"] += f'\n<script src="{src}" defer></script>'
        return str(super().interpolate_index(**kwargs))  # type: ignore[no-untyped-call]


def first_page(layouts: dict[str, Callable[..., Any]], prefix: str) -> Any:
    """The page container with the requesting page in it, or None (Dash's callback fills it)."""
    address = layout_page_address(prefix)
    if address is None:
        return None
    path, pathname, search = address
    page: Page | None = next((p for p in ALL_PAGES if p.matches(path)), None)
    if page is None or page.key not in FIRST_RESPONSE_PAGES:
        return None
    # The query as Dash's pages callback hands it to a layout.
    query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(search[1:], True).items()}
    build: Callable[..., Any] = layouts.get(page.key, page.layout)
    content = build(**query)
    return page_container(pathname, search, content, page_title(page))


def page_title(page: Page) -> str:
    """The browser tab's title on ``page``."""
    return f"{page.name} · dashapp" if page.key != "home" else "dashapp"


@dataclass(frozen=True)
class Built:
    """An app and what was built with it."""

    app: Dash
    deps: Deps
    celery: Any  # the Celery app when a broker is configured, else None


def build(settings: Settings | None = None) -> Built:
    """Build the app, its dependencies and (with a broker) its Celery app."""
    settings = settings or Settings.from_env()
    prepare_data(settings)
    load_trainers()  # every trainer (and plugin) imported before threads serve requests
    manager, celery_app = background_manager(settings)
    app = DashApp(
        "dashapp",
        title="dashapp",
        # None: the tab title stays put while callbacks run (Dash's stubs say str only).
        update_title=cast(str, None),
        assets_folder=str(assets_dir()),
        url_base_pathname=settings.url_prefix,
        use_pages=True,
        pages_folder="",
        suppress_callback_exceptions=True,
        serve_locally=True,
        background_callback_manager=manager,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        index_string=INDEX_STRING,
    )
    import_page_modules()
    deps = Deps(settings, current_user=server.current_identity)
    # Layouts drawn with server data: the home page's saved views; the Data page opens a
    # linked table or saved view itself (its grid comes with the page).
    layouts = page_layouts(deps)
    home_layout = layouts["home"]
    # The home page takes no query parameters: one named like its own arguments
    # (``/?saved_views=1``) would otherwise reach them.
    layouts["home"] = lambda **_query: home_layout()
    # Pages are registered after Dash() (before it Dash raises PageError).
    for order, page in enumerate(ALL_PAGES):
        dash.register_page(
            page.key,
            path=page.path,
            path_template=page.path_template,
            name=page.name,
            title=page_title(page),
            layout=layouts.get(page.key, page.layout),
            order=order,
        )
    dash.register_page(NOT_FOUND.key, layout=NOT_FOUND.layout, title="Not found · dashapp")

    def shell_layout() -> Any:
        who = deps.current_user()
        token = signin.csrf_token() if who.via == "session" else None
        return shell.layout(who, token, first_page(layouts, settings.url_prefix))

    app.layout = shell_layout
    for page_callbacks in (
        shell_callbacks,
        home_callbacks,
        data_callbacks,
        training_callbacks,
        compositor_callbacks,
    ):
        page_callbacks.register(app, deps)
    front = server.Frontend(
        catchall_endpoint=settings.url_prefix + "<path:path>",
        is_known_path=is_known_path,
        script_hashes=app.csp_hashes,
        not_found_errors=(DependencyException,),  # a script path Dash does not serve
        malformed_errors=(UnsupportedRelativePath,),  # a forged page path
    )
    server.install(app.server, deps, front)
    app.server.config[DEPS_KEY] = deps  # for tests and benches: deps_of(app)
    # Every process that serves the app (and every Celery worker) sweeps the jobs: lost ones
    # are failed and orphaned ones started, at start-up and on a timer, not only when a job
    # page is open.
    deps.start_job_sweeper(job_task(celery_app, settings) if celery_app is not None else None)
    # Dash does its own setup on the first request: it prepares its script registry
    # (flagging it done before it is: under threaded gunicorn a concurrent first request
    # for a script then failed with "not a registered library") and registers the pages'
    # callbacks (one with an inline script the CSP must list by hash). Run those hooks
    # now, before serving, without a real request (Flask would then refuse the error
    # handler `dashapp dev` adds for its dev tools).
    with app.server.test_request_context(f"{settings.url_prefix}healthz"):
        for hook in app.server.before_request_funcs.get(None, []):
            hook()
    return Built(app, deps, celery_app)


def create_app(settings: Settings | None = None) -> Dash:
    """Build the dashapp Dash app; settings default to the environment."""
    return build(settings).app


def deps_of(app: Dash) -> Deps:
    """The dependencies an app was built with (tests, benches)."""
    deps = app.server.config[DEPS_KEY]
    assert isinstance(deps, Deps)
    return deps
