"""Flask-level glue: secret key, users, security and cache headers, errors, health."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    g,
    has_request_context,
    jsonify,
    redirect,
    request,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from dashapp.db import DatabaseBusy, is_unresponsive
from dashapp.deps import HEALTH_PROBE_S, Deps
from dashapp.identity import ANONYMOUS, Identity
from dashapp.settings import Settings
from dashapp.web import api, logs, routes, security, sessions, signin
from dashapp.web.throttle import SignInThrottle, TooManyAttempts, storage_uri


def load_secret_key(settings: Settings) -> str:
    """The configured secret, else one generated once and shared by all workers via a file."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def content_security_policy(settings: Settings, script_hashes: Sequence[str]) -> str:
    """The CSP Dash, Plotly and AG Grid run under: our own scripts plus Dash's inline ones.

    ``'unsafe-eval'`` is absent: nothing on our pages evaluates strings (AG Grid value
    formatters are named functions in assets/, clientside callbacks are namespaced).
    Styles allow inline ones: Plotly and AG Grid inject ``<style>`` elements.
    """
    scripts = " ".join(["'self'", *script_hashes])  # Dash quotes them already
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors " + " ".join(settings.frame_ancestors),
        ]
    )


def security_headers(settings: Settings, script_hashes: Sequence[str]) -> dict[str, str]:
    """Headers sent with every response."""
    return {
        "Content-Security-Policy": content_security_policy(settings, script_hashes),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


# Operating-system errors that mean the disk cannot take our writes at all.
DISK_FULL_OR_READ_ONLY = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


def write_check(folder: Path) -> str:
    """ "ok" when a small file can really be written, synced and deleted in ``folder``."""
    probe = folder / f".healthz-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(4096))  # real blocks: an empty file needs none
            os.fsync(fd)
        finally:
            os.close(fd)
        return "ok"
    except OSError as exc:
        if exc.errno in DISK_FULL_OR_READ_ONLY:
            return f"disk full or read-only: {exc.strerror}"
        return f"not writable: {exc.strerror}"
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def space_check(folder: Path, min_free_mb: int) -> str:
    """ "ok" when ``folder``'s disk has at least ``min_free_mb`` MB free."""
    try:
        free_mb = shutil.disk_usage(folder).free / 1024 / 1024
    except OSError as exc:
        return f"not writable: {exc.strerror}"
    if free_mb < min_free_mb:
        return (
            f"disk nearly full: {free_mb:.0f} MB free, below the {min_free_mb} MB minimum "
            "(DASHAPP_MIN_FREE_MB)"
        )
    return "ok"


def database_check(deps: Deps, which: str) -> str:
    """ "ok", or why the database cannot be used; waits at most ``HEALTH_PROBE_S``.

    While the database's circuit is open (it stopped answering moments ago) this says so
    at once; otherwise a fresh connection runs ``SELECT 1``, and what it finds opens or
    closes the circuit, so the requests that need the database follow the probe.
    """
    engine, guard = deps.probe(which)
    wait = guard.refusing_for()
    if wait > 0:
        return f"unreachable: not answering (tried again in {math.ceil(wait)} s)"
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable"
        if is_unresponsive(exc):
            guard.not_answering()
            return f"unreachable: not answering within {HEALTH_PROBE_S:g} s"
        return f"unreachable: {type(exc).__name__}"
    guard.answered()
    return "ok"


def health(deps: Deps) -> tuple[dict[str, Any], int]:
    """Check both databases, the background-job cache and the data directory: 200 or 503.

    Answers within a few seconds whatever state the databases are in (each probe has its
    own limit); the data directory must take a real write and keep its minimum free space.
    """
    settings = deps.settings
    # Both probes at once: two frozen databases still cost one probe's limit, not two.
    checks: dict[str, Any] = {"state": "unreachable: the probe did not return"}
    state = threading.Thread(
        target=lambda: checks.update(state=database_check(deps, "state")), daemon=True
    )
    state.start()
    checks["database"] = database_check(deps, "database")
    state.join(HEALTH_PROBE_S + 1)
    disk = write_check(settings.data_dir)
    checks["data_dir"] = (
        disk if disk != "ok" else space_check(settings.data_dir, settings.min_free_mb)
    )
    if settings.celery_broker:
        try:
            import redis

            redis.Redis.from_url(settings.celery_broker, socket_timeout=2).ping()
            checks["cache"] = "ok"
        except Exception as exc:  # broker down or unreachable
            checks["cache"] = f"unreachable: {type(exc).__name__}"
    else:
        checks["cache"] = write_check(settings.data_dir / "cache")
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ok else "fail", "checks": checks}, 200 if ok else 503


def current_identity() -> Identity:
    """The user of the request being served (anonymous outside a request)."""
    ident = g.get("identity") if has_request_context() else None
    return ident if isinstance(ident, Identity) else Identity(ANONYMOUS)


def install_auth(server: Flask, deps: Deps) -> None:
    """Trusted proxies, the portal's user header and standalone users, on every request."""
    settings = deps.settings
    server.wsgi_app = security.TrustedProxyMiddleware(  # type: ignore[method-assign]
        server.wsgi_app, security.networks(settings.trusted_proxies)
    )
    users = settings.user_hashes
    prefix = settings.url_prefix
    health_path = f"{prefix}healthz"
    # Open to anyone: the health probe, and signing in and out (with the page's stylesheet
    # and the script that applies the user's light or dark theme).
    open_paths = {
        health_path,
        f"{prefix}login",
        f"{prefix}logout",
        f"{prefix}assets/00_bootstrap.min.css",
        f"{prefix}assets/00_theme.js",
    }
    # The state database's engine, opened on first use (the job store's: one pool).
    store = sessions.SessionStore(lambda: deps.job_store.engine, hours=settings.session_hours)
    throttle = SignInThrottle(
        server, attempts=settings.signin_attempts, storage=storage_uri(settings.celery_broker)
    )
    if users:
        signin.install(server, users, store=store, throttle=throttle, prefix=prefix)
    line, warn = security.auth_mode(
        user_header=settings.user_header,
        users=users,
        trusted_proxies=settings.trusted_proxies,
        allow_anonymous=settings.allow_anonymous,
    )
    (server.logger.warning if warn else server.logger.info)("%s", line)

    def check(name: str, password: str) -> bool:
        """A password check that counts failures (HTTP Basic)."""
        return throttle.check(users, name, password)

    @server.before_request
    def _who() -> BaseResponse | None:
        """Who is asking: the identity for this request, or the answer refusing it."""
        if request.path in open_paths:
            return None
        try:
            g.signin_session = signin.session_of_request(store) if users else None
            ident = security.identify(
                request.environ,
                request.headers,
                user_header=settings.user_header,
                users=users,
                admins=settings.admins,
                session_user=g.signin_session.user if g.signin_session else None,
                allow_anonymous=settings.allow_anonymous,
                check=check,
            )
        except TooManyAttempts as exc:
            return Response(
                exc.message + "\n",
                429,
                {"Retry-After": str(int(exc.wait_s) + 1)},
                mimetype="text/plain",
            )
        except SQLAlchemyError:
            server.logger.exception("sign-in sessions cannot be checked")
            return Response(signin.STATE_DOWN + "\n", 503, mimetype="text/plain")
        if ident is None:
            return refuse(settings)
        g.identity = ident
        return None


def refuse(settings: Settings) -> BaseResponse:
    """No valid user: the sign-in page for a browser, 401 for a script, 403 behind a portal."""
    prefix = settings.url_prefix
    dash_request = request.path.startswith(f"{prefix}_dash-")
    resp: BaseResponse
    if not settings.users:  # the portal alone says who may use the app
        text = security.portal_refusal(request.environ, settings.user_header)
        if dash_request:
            return Response(
                json.dumps({"error": text.strip()}) + "\n", 403, mimetype="application/json"
            )
        return Response(text, 403, mimetype="text/plain")
    if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
        resp = redirect(signin.login_url(prefix, request.full_path.rstrip("?")), 303)
    elif dash_request:
        # The page's own requests once the session has ended: no Basic prompt in the page.
        resp = Response(
            '{"error": "signed out: reload the page to sign in"}\n',
            401,
            mimetype="application/json",
        )
    else:
        resp = Response(
            "Sign in to use dashapp.\n",
            401,
            {"WWW-Authenticate": 'Basic realm="dashapp", charset="UTF-8"'},
            mimetype="text/plain",
        )
    if request.cookies.get(signin.SESSION_COOKIE):  # ended or unknown: the browser forgets it
        resp.delete_cookie(signin.SESSION_COOKIE, **signin.cookie_flags(prefix))
    return resp


def cache_control(path: str, prefix: str, current: str | None) -> str | None:
    """The ``Cache-Control`` a response leaves with (None: keep what it has).

    Versioned scripts and styles keep their long caching. Anything else may name a user or
    show their data: files the app chose to cache (Compositor previews and renders, job
    artifacts) are cached by the browser only (``private``), never by a shared proxy, and
    pages, callbacks and downloads are not stored at all.
    """
    if path.startswith((f"{prefix}_dash-component-suites/", f"{prefix}assets/")):
        return None
    if not current:
        return "no-store"
    directives = [d.strip() for d in current.split(",") if d.strip()]
    if "no-store" in directives or "private" in directives:
        return None
    kept = [d for d in directives if d.lower() != "public"]
    return ", ".join(["private", *kept])


@dataclass(frozen=True)
class Frontend:
    """What the glue needs to know of the front end that it must not import."""

    # The endpoint that serves every page, and whether a path (without the prefix) is one.
    catchall_endpoint: str
    is_known_path: Callable[[str], bool]
    # The hashes of the inline scripts the CSP allows (known once the front end is set up).
    script_hashes: Callable[[], Sequence[str]]
    # Errors meaning "no such script" (404) and "a forged page path" (400).
    not_found_errors: tuple[type[Exception], ...] = ()
    malformed_errors: tuple[type[Exception], ...] = ()


def install(server: Flask, deps: Deps, front: Frontend) -> None:
    """Attach headers, the health route, routes and real 404 statuses to the Flask server."""
    settings = deps.settings
    server.secret_key = load_secret_key(settings)
    logs.install(server, current_identity)  # first: even a refused request gets an id
    install_auth(server, deps)
    server.config["MAX_CONTENT_LENGTH"] = request_limit(settings)

    @server.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        """No traceback ever reaches the browser; a malformed callback request is a 400."""
        if isinstance(exc, HTTPException):
            return exc
        if isinstance(exc, front.not_found_errors):  # a script path the front end lacks
            return jsonify({"error": "not found"}), 404
        if is_unresponsive(exc) or isinstance(exc, DatabaseBusy):
            # A frozen or cut-off database: a short line, no traceback per request.
            server.logger.warning("%s: %s", request.path, exc)
            return jsonify({"error": "the database is not answering, retrying…"}), 503
        if isinstance(exc, FileNotFoundError) and request.path.startswith(
            f"{settings.url_prefix}_dash-component-suites/"
        ):  # a registered package without that file (source maps are not shipped)
            return jsonify({"error": "not found"}), 404
        malformed = (KeyError, ValueError, TypeError, IndexError, AttributeError)
        if request.path.endswith("_dash-update-component") and isinstance(
            exc, (*malformed, *front.malformed_errors)
        ):
            server.logger.warning("refused a malformed callback request: %r", exc)
            return jsonify({"error": "malformed callback request"}), 400
        server.logger.exception("unhandled error on %s", request.path)
        return jsonify({"error": "internal error; see the server log"}), 500

    prefix = settings.url_prefix
    headers: dict[str, str] = {}

    @server.after_request
    def _after(resp: Response) -> Response:
        # The inline scripts' hashes are known once the front end has set itself up (the
        # factory does that before serving), so the first response computes them.
        if not headers:
            headers.update(security_headers(settings, front.script_hashes()))
        for key, value in headers.items():
            resp.headers.setdefault(key, value)
        cache = cache_control(request.path, prefix, resp.headers.get("Cache-Control"))
        if cache is not None:
            resp.headers["Cache-Control"] = cache
        # Dash serves its page for any path; unknown pages still render the 404 layout,
        # but with the status a crawler, a proxy or curl expects.
        if request.endpoint == front.catchall_endpoint and resp.status_code == 200:
            rel = request.path[len(prefix) - 1 :] if request.path.startswith(prefix) else "/"
            if not front.is_known_path(rel):
                resp.status_code = 404
        return resp

    def healthz() -> tuple[Response, int]:
        body, status = health(deps)
        return jsonify(body), status

    server.add_url_rule(f"{prefix}healthz", "dashapp_healthz", healthz)
    routes.install(server, deps)
    api.install(server, deps)


def request_limit(settings: Settings) -> int:
    """Largest request body: an upload in base64 (4/3 larger) plus the page's state."""
    upload = int(settings.upload_max_mb * 1024 * 1024)
    return max(32 * 1024 * 1024, upload * 4 // 3 + 8 * 1024 * 1024)
