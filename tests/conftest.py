"""Shared fixtures: settings -> app -> client, a real gunicorn, PostgreSQL, headless Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dashapp.app import deps_of
from dashapp.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
IN_CI = bool(os.environ.get("CI"))
SMALL_DEMO_ROWS = 5_000
TEST_SECRET_KEY = "the-test-nodes-share-this-secret-key-0123456789"


def skip_or_fail(reason: str) -> None:
    """Skip locally when a real service is missing; in CI a missing service is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


# --- app layer -------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: a private data directory and a small demo database."""
    return Settings(data_dir=tmp_path / "data", demo_rows=SMALL_DEMO_ROWS)


@pytest.fixture
def app(settings: Settings):
    """A fresh app per test (proves nothing leaks between factory calls)."""
    from dashapp.app import create_app

    dash_app = create_app(settings)
    yield dash_app
    deps_of(dash_app).dispose()


@pytest.fixture
def client(app):
    """Flask test client of the app."""
    return app.server.test_client()


# --- PostgreSQL ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the PostgreSQL server the tests may create databases on."""
    from sqlalchemy import text

    from dashapp.db import make_engine

    url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    engine = make_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        skip_or_fail(f"PostgreSQL at {url} is unreachable: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
    return url


@contextlib.contextmanager
def fresh_pg_database(server_url: str) -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards."""
    from sqlalchemy import text

    from dashapp.db import make_engine, normalize_url

    name = f"dashapp_t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalize_url(server_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A brand-new, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_pg_database(pg_server_url) as url:
        yield url


# --- gunicorn --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until ``url`` answers, failing early if the server process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
            urllib.request.urlopen(url, timeout=2),
        ):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class LiveServer:
    """A gunicorn serving the app on loopback; ``url(path)`` includes the prefix."""

    def __init__(self, base: str, prefix: str, proc: subprocess.Popen[bytes], log: Path):
        self.base, self.prefix, self.proc, self.log = base, prefix, proc, log

    def url(self, path: str = "/") -> str:
        """Absolute URL of an app path."""
        return self.base + self.prefix.rstrip("/") + "/" + path.lstrip("/")


@pytest.fixture(scope="session")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LiveServer]]:
    """Factory: start the app under real gunicorn (``dashapp run``) with extra settings."""
    started: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        port = free_port()
        data_dir = tmp_path_factory.mktemp("live")
        full_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")},
            "DASHAPP_DATA_DIR": str(data_dir),
            "DASHAPP_PORT": str(port),
            "DASHAPP_WORKERS": "2",
            "DASHAPP_DEMO_ROWS": str(SMALL_DEMO_ROWS),
            "DASHAPP_LOG_LEVEL": "warning",
            # Test servers may share a PostgreSQL state database: like real nodes, one key.
            "DASHAPP_SECRET_KEY": TEST_SECRET_KEY,
            **env,
        }
        log = data_dir / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dashapp.cli", "run"],
                cwd=ROOT,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = LiveServer(
            f"http://127.0.0.1:{port}", full_env.get("DASHAPP_URL_PREFIX", "/"), proc, log
        )
        try:
            wait_http(server.url("healthz"), proc)
        except Exception:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}") from None
        started.append(server)
        return server

    yield start
    for server in started:
        server.proc.terminate()
    for server in started:
        try:
            server.proc.wait(timeout=35)
        except subprocess.TimeoutExpired:
            server.proc.kill()


@pytest.fixture(scope="session")
def live_server(start_server: Callable[..., LiveServer]) -> LiveServer:
    """The app under gunicorn with default settings (shared by the session)."""
    return start_server()


@pytest.fixture(scope="session")
def prefixed_server(start_server: Callable[..., LiveServer]) -> LiveServer:
    """The app under gunicorn behind a URL path prefix."""
    return start_server(DASHAPP_URL_PREFIX="/tools/dashapp/")


# --- headless Chromium -----------------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session, driven by Playwright."""
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class PageWatch:
    """What went wrong while a page was open: console errors and failed requests."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.downloads: list[str] = []

    def attach(self, page) -> None:
        """Start recording on ``page``."""
        page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.console_errors.append(f"uncaught: {exc}"))
        page.on("download", lambda d: self.downloads.append(d.url))
        page.on(
            "requestfailed",
            lambda r: self.failed_requests.append(f"{r.method} {r.url}: {r.failure}"),
        )
        page.on(
            "response",
            lambda r: (
                self.failed_requests.append(f"{r.request.method} {r.url}: {r.status}")
                if r.status >= 400
                else None
            ),
        )

    def problems(self, *, allow_status: tuple[str, ...] = ()) -> list[str]:
        """Everything recorded, minus failures whose text contains an allowed fragment."""
        failed = [
            f
            for f in self.failed_requests
            if not any(a in f for a in allow_status)
            # The browser itself aborts requests when a page is left or a link turns into
            # a download; that is no failure of the app (refusals and 4xx/5xx still count).
            and not f.endswith("net::ERR_ABORTED")
        ]
        console = [c for c in self.console_errors if not any(a in c for a in allow_status)]
        return console + failed


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the test item, so a fixture can tell that the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page, with a ``watch`` recording errors.

    When the test fails, what the page showed is printed with the failure (the URL, the
    page's text, what the watch recorded), since a CI log is all there is to go on.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    watch = PageWatch()
    watch.attach(pg)
    pg.watch = watch  # type: ignore[attr-defined]
    yield pg
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            text = pg.inner_text("body", timeout=2_000)
        except Exception as exc:  # a closed or crashed page says so instead
            text = f"(page text unavailable: {exc})"
        print(f"--- the page when the test failed: {pg.url}\n{text[:3000]}")
        print(f"--- console errors and failed requests: {watch.problems()}")
    context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its layer folder, so ``-m unit`` (etc.) selects a layer."""
    for item in items:
        layer = Path(str(item.fspath)).parent.name
        if layer in ("unit", "callbacks", "integration", "browser", "faults"):
            item.add_marker(getattr(pytest.mark, layer))
