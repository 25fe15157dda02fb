"""Flask-level glue: secret key, users, security headers, errors, 404 status and health."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
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
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from dashapp.deps import Deps
from dashapp.identity import ANONYMOUS, Identity
from dashapp.settings import Settings
from dashapp.web import logs, routes, security, signin, static


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


def _writable(folder: Path) -> str:
    """ "ok" when a file can be created in ``folder``, else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
        return "ok"
    except OSError as exc:
        return f"not writable: {exc.strerror}"


def health(deps: Deps) -> tuple[dict[str, Any], int]:
    """Check both databases, the background-job cache and the data directory: 200 or 503."""
    checks: dict[str, Any] = {}
    try:
        with deps.browse_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not reachable"
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        with deps.job_store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["state"] = "ok"
    except Exception as exc:  # the app's own state database
        checks["state"] = f"unreachable: {type(exc).__name__}"
    checks["data_dir"] = _writable(deps.settings.data_dir)
    if deps.settings.celery_broker:
        try:
            import redis

            redis.Redis.from_url(deps.settings.celery_broker, socket_timeout=2).ping()
            checks["cache"] = "ok"
        except Exception as exc:  # broker down or unreachable
            checks["cache"] = f"unreachable: {type(exc).__name__}"
    else:
        checks["cache"] = _writable(deps.settings.data_dir / "cache")
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ok else "fail", "checks": checks}, 200 if ok else 503


def current_identity() -> Identity:
    """The user of the request being served (anonymous outside a request)."""
    ident = g.get("identity") if has_request_context() else None
    return ident if isinstance(ident, Identity) else Identity(ANONYMOUS)


def install_auth(server: Flask, settings: Settings) -> None:
    """Trusted proxies, the portal's user header and basic-auth users, on every request."""
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
    if users:
        signin.install(server, users, prefix=prefix, hours=settings.session_hours)
    if security.is_open(user_header=settings.user_header, users=users):
        server.logger.warning(
            "dashapp is open: no DASHAPP_USERS and no DASHAPP_USER_HEADER are set, so "
            "anyone who can reach it uses it (as %r)",
            ANONYMOUS,
        )

    @server.before_request
    def _who() -> BaseResponse | None:
        if request.path in open_paths:
            return None
        ident = security.identify(
            request.environ,
            request.headers,
            user_header=settings.user_header,
            users=users,
            admins=settings.admins,
            session_user=signin.session_user(users) if users else None,
        )
        if ident is None:
            return refuse(prefix)
        g.identity = ident
        return None


def refuse(prefix: str) -> BaseResponse:
    """No valid user: a browser opening a page goes to the sign-in page, a script gets 401."""
    if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
        return redirect(signin.login_url(prefix, request.full_path.rstrip("?")), 303)
    if request.path.startswith(f"{prefix}_dash-"):
        # The page's own requests once the session has ended: no Basic prompt in the page.
        return Response(
            '{"error": "signed out: reload the page to sign in"}\n',
            401,
            mimetype="application/json",
        )
    return Response(
        "Sign in to use dashapp.\n",
        401,
        {"WWW-Authenticate": 'Basic realm="dashapp", charset="UTF-8"'},
        mimetype="text/plain",
    )


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
    install_auth(server, settings)
    server.config["MAX_CONTENT_LENGTH"] = request_limit(settings)

    @server.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        """No traceback ever reaches the browser; a malformed callback request is a 400."""
        if isinstance(exc, HTTPException):
            return exc
        if isinstance(exc, front.not_found_errors):  # a script path the front end lacks
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
    # Outermost: it sees the finished responses (headers included) of everything above.
    server.wsgi_app = static.Compression(server.wsgi_app, prefix)  # type: ignore[method-assign]


def request_limit(settings: Settings) -> int:
    """Largest request body: an upload in base64 (4/3 larger) plus the page's state."""
    upload = int(settings.upload_max_mb * 1024 * 1024)
    return max(32 * 1024 * 1024, upload * 4 // 3 + 8 * 1024 * 1024)
