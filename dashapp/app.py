"""The app factory: builds a Dash app from settings, registering pages and callbacks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import dash
import diskcache
from dash import CeleryManager, Dash, DiskcacheManager

from callbacks import compositor as compositor_callbacks
from callbacks import data as data_callbacks
from callbacks import shell as shell_callbacks
from callbacks import training as training_callbacks
from components import shell
from components.pages import ALL_PAGES, NOT_FOUND, import_page_modules
from dashapp.data.demo_data import DemoSizes, ensure_sqlite
from dashapp.db import make_engine
from dashapp.deps import Deps
from dashapp.settings import Settings
from dashapp.web import server
from jobs.store import JobStore

log = logging.getLogger(__name__)
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


def prepare_data(settings: Settings) -> None:
    """Create the data directory, and the demo database when it is the one browsed."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.uses_demo_db and settings.demo_autocreate:
        ensure_sqlite(settings.demo_db_path, DemoSizes(events=settings.demo_rows))
    # The state tables, once, before workers start (they would race to create them).
    engine = make_engine(settings.state_url)
    try:
        JobStore(engine)
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
    cache = diskcache.Cache(str(settings.data_dir / "cache"))
    return DiskcacheManager(cache), None


def create_app(settings: Settings | None = None) -> Dash:
    """Build the dashapp Dash app; settings default to the environment."""
    settings = settings or Settings.from_env()
    prepare_data(settings)
    manager, celery_app = background_manager(settings)
    app = Dash(
        "dashapp",
        title="dashapp",
        update_title=None,
        assets_folder=str(ASSETS_DIR),
        url_base_pathname=settings.url_prefix,
        use_pages=True,
        pages_folder="",
        suppress_callback_exceptions=True,
        serve_locally=True,
        background_callback_manager=manager,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    import_page_modules()
    # Pages are registered after Dash() (before it Dash raises PageError).
    for order, page in enumerate(ALL_PAGES):
        dash.register_page(
            page.key,
            path=page.path,
            path_template=page.path_template,
            name=page.name,
            title=f"{page.name} · dashapp" if page.key != "home" else "dashapp",
            layout=page.layout,
            order=order,
        )
    dash.register_page(NOT_FOUND.key, layout=NOT_FOUND.layout, title="Not found · dashapp")
    app.layout = shell.layout
    deps = Deps(settings)
    shell_callbacks.register(app, deps)
    data_callbacks.register(app, deps)
    training_callbacks.register(app, deps)
    compositor_callbacks.register(app, deps)
    server.install(app.server, deps, catchall_endpoint=settings.url_prefix + "<path:path>")
    app.server.config["DASHAPP_DEPS"] = deps
    app.server.config["DASHAPP_CELERY"] = celery_app
    # Dash does its own setup on the first request: it prepares its script registry
    # (flagging it done before it is: under threaded gunicorn a concurrent first request
    # for a script then failed with "not a registered library") and registers the pages'
    # callbacks (one with an inline script the CSP must list by hash). Run those hooks
    # now, before serving, without a real request (Flask would then refuse the error
    # handler `dashapp dev` adds for its dev tools).
    with app.server.test_request_context(f"{settings.url_prefix}healthz"):
        for hook in app.server.before_request_funcs.get(None, []):
            hook()
    app.server.config["DASHAPP_SCRIPT_HASHES"] = app.csp_hashes()
    app.server.config.pop("DASHAPP_HEADERS", None)
    return app
