"""Flask-level glue: secret key, security headers, 404 status and the health endpoint."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterator, Mapping
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
    send_file,
    stream_with_context,
)
from sqlalchemy import text

from components.pages import is_known_path
from dashapp.data.catalog import CatalogError, DataUnavailable
from dashapp.data.grid_query import GridRequestError, parse_query
from dashapp.data.grid_service import iter_csv
from dashapp.deps import Deps
from dashapp.settings import Settings
from dashapp.web import logs, security, signin
from jobs import service as jobs_service


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


def content_security_policy(settings: Settings, script_hashes: list[str]) -> str:
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


def security_headers(settings: Settings, script_hashes: list[str]) -> dict[str, str]:
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


def current_identity() -> security.Identity:
    """The user of the request being served (anonymous outside a request)."""
    ident = g.get("identity") if has_request_context() else None
    return ident if isinstance(ident, security.Identity) else security.Identity(security.ANONYMOUS)


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
            security.ANONYMOUS,
        )

    @server.before_request
    def _who() -> Response | None:
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


def refuse(prefix: str) -> Response:
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


def install(server: Flask, deps: Deps, *, catchall_endpoint: str) -> None:
    """Attach headers, the health route and real 404 statuses to the Flask server."""
    settings = deps.settings
    server.secret_key = load_secret_key(settings)
    logs.install(server, current_identity)  # first: even a refused request gets an id
    install_auth(server, settings)
    server.config["MAX_CONTENT_LENGTH"] = request_limit(settings)

    @server.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int] | Exception:
        """No traceback ever reaches the browser; a malformed callback request is a 400."""
        from dash.exceptions import DependencyException, UnsupportedRelativePath
        from werkzeug.exceptions import HTTPException

        if isinstance(exc, HTTPException):
            return exc
        if isinstance(exc, DependencyException):  # a script path Dash does not serve
            return jsonify({"error": "not found"}), 404
        malformed = (KeyError, ValueError, TypeError, IndexError, AttributeError)
        if request.path.endswith("_dash-update-component") and isinstance(
            exc,
            (*malformed, UnsupportedRelativePath),  # the latter: a forged page path
        ):
            server.logger.warning("refused a malformed callback request: %r", exc)
            return jsonify({"error": "malformed callback request"}), 400
        server.logger.exception("unhandled error on %s", request.path)
        return jsonify({"error": "internal error; see the server log"}), 500

    prefix = settings.url_prefix

    @server.after_request
    def _after(resp: Response) -> Response:
        # The inline scripts' hashes are known once Dash has set itself up (create_app).
        headers = server.config.get("DASHAPP_HEADERS")
        if headers is None:
            hashes = server.config.get("DASHAPP_SCRIPT_HASHES", [])
            headers = server.config["DASHAPP_HEADERS"] = security_headers(settings, hashes)
        for key, value in headers.items():
            resp.headers.setdefault(key, value)
        # Dash serves its page for any path; unknown pages still render the 404 layout,
        # but with the status a crawler, a proxy or curl expects.
        if request.endpoint == catchall_endpoint and resp.status_code == 200:
            rel = request.path[len(prefix) - 1 :] if request.path.startswith(prefix) else "/"
            if not is_known_path(rel):
                resp.status_code = 404
        return resp

    def healthz() -> tuple[Response, int]:
        body, status = health(deps)
        return jsonify(body), status

    server.add_url_rule(f"{prefix}healthz", "dashapp_healthz", healthz)

    def export_csv() -> Response:
        return export_response(deps, request.args)

    server.add_url_rule(f"{prefix}export.csv", "dashapp_export_csv", export_csv)
    install_job_routes(server, deps)
    install_compositor_routes(server, deps)


def request_limit(settings: Settings) -> int:
    """Largest request body: an upload in base64 (4/3 larger) plus the page's state."""
    upload = int(settings.upload_max_mb * 1024 * 1024)
    return max(32 * 1024 * 1024, upload * 4 // 3 + 8 * 1024 * 1024)


def install_compositor_routes(server: Flask, deps: Deps) -> None:
    """Previews and renders of a Compositor session; ids are checked, nothing else is served."""
    prefix = deps.settings.url_prefix

    def missing() -> Response:
        return Response("No such image.\n", 404, mimetype="text/plain")

    def preview(sid: str, image_id: str) -> Response:
        code = request.args.get("t", "000")
        match = re.fullmatch(r"([01])([01])(0|90|180|270)", code)
        found = (
            deps.upload_store.preview(
                sid,
                image_id,
                flip_h=match.group(1) == "1",
                flip_v=match.group(2) == "1",
                rot=int(match.group(3)),
            )
            if match
            else None
        )
        if found is None:
            return missing()
        path, mime = found
        return send_file(path, mimetype=mime, max_age=7 * 24 * 3600)

    def rendered(sid: str, render_id: str) -> Response:
        if request.args.get("preview") == "1":
            small = deps.upload_store.render_preview(sid, render_id)
            if small is None:
                return missing()
            return send_file(small[0], mimetype=small[1], max_age=3600)
        found = deps.upload_store.render_file(sid, render_id)
        if found is None:
            return missing()
        path, mime = found
        name = "composite." + path.suffix.lstrip(".")
        download = request.args.get("download") == "1"
        return send_file(path, mimetype=mime, as_attachment=download, download_name=name)

    server.add_url_rule(
        f"{prefix}compositor/files/<sid>/<image_id>/preview", "dashapp_preview", preview
    )
    server.add_url_rule(
        f"{prefix}compositor/files/<sid>/renders/<render_id>", "dashapp_render", rendered
    )


def install_job_routes(server: Flask, deps: Deps) -> None:
    """Job artifacts by id, all of them as a zip, and the trained weights."""
    prefix = deps.settings.url_prefix

    def artifact(job_id: str, art_id: int) -> Response:
        arts = [a for a in deps.job_store.artifacts(job_id) if a["id"] == art_id]
        data = deps.job_store.artifact_bytes(arts[0]) if arts else None
        if data is None:
            return Response("No such artifact.\n", 404, mimetype="text/plain")
        resp = Response(data, mimetype="image/png")
        resp.cache_control.max_age = 3600
        return resp

    def artifacts_zip(job_id: str) -> Response:
        data = jobs_service.artifacts_zip(deps.job_store, job_id)
        if data is None:
            return Response("No such job.\n", 404, mimetype="text/plain")
        return Response(
            data,
            mimetype="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="job-{job_id[:8]}-artifacts.zip"'
            },
        )

    def weights(job_id: str) -> Response:
        job = deps.job_store.get(job_id)
        data = deps.job_store.file(job_id, "model.pt") if job and job.weights_path else None
        if data is None:
            return Response("This job has no trained weights.\n", 404, mimetype="text/plain")
        return Response(
            data,
            mimetype="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="job-{job_id[:8]}.pt"'},
        )

    server.add_url_rule(
        f"{prefix}jobs/<job_id>/artifacts/<int:art_id>", "dashapp_artifact", artifact
    )
    server.add_url_rule(
        f"{prefix}jobs/<job_id>/artifacts.zip", "dashapp_artifacts_zip", artifacts_zip
    )
    server.add_url_rule(f"{prefix}jobs/<job_id>/model.pt", "dashapp_weights", weights)


def export_response(deps: Deps, args: Mapping[str, str]) -> Response:
    """Stream the view named by the query string as CSV; 400 with a message if it is bad."""
    state = parse_query(dict(args))
    key = state.get("table")
    grid_request = {
        "sortModel": state["sort"],
        "filterModel": state["filter"],
        "quick": state["quick"],
    }
    if state.get("warnings") or not key:
        return Response(
            "Bad export link: it needs a table and readable sort/filter.\n",
            400,
            mimetype="text/plain",
        )
    try:
        chunks = iter_csv(deps.catalog, key, grid_request)
        first = next(chunks)  # validates the request before the 200 is sent
    except (GridRequestError, CatalogError) as exc:
        return Response(f"Export refused: {exc}\n", 400, mimetype="text/plain")
    except DataUnavailable as exc:
        return Response(f"Export failed: {exc}\n", 503, mimetype="text/plain")

    def body() -> Iterator[str]:
        yield first
        yield from chunks

    filename = re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".csv"
    return Response(
        stream_with_context(body()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
