"""A sign-in page for standalone users (``DASHAPP_USERS``): a form and a signed session cookie.

Browsers get this page rather than HTTP Basic's prompt, which has no way to sign out and
which a framed page may not show; scripts can still send Basic credentials. The session
cookie is Flask's (signed with the app's secret key); it is ``Secure; SameSite=None`` over
HTTPS (so a cross-site portal frame keeps it) and ``SameSite=Lax`` over plain HTTP, where a
``Secure`` cookie would be dropped and the user sent back to this page for ever.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash, generate_password_hash

SESSION_USER = "user"
SESSION_CSRF = "csrf"
LOG = logging.getLogger("dashapp")
_DUMMY: list[str] = []  # a hash to check unknown names against (same time as a real one)


class FrameFriendlySessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with cookie flags that suit the request's scheme."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure over HTTPS only: browsers drop a Secure cookie set over plain HTTP."""
        return bool(request.is_secure)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        """``None`` (cross-site frames) needs Secure, so only over HTTPS; else ``Lax``."""
        return "None" if request.is_secure else "Lax"


def safe_next(value: Any, prefix: str) -> str:
    """Where to go after signing in: a path of this app, never another site."""
    if (
        not isinstance(value, str)
        or not value.startswith(prefix)
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 for c in value)
    ):
        return prefix
    parts = urlsplit(value)
    return prefix if parts.scheme or parts.netloc else value


def login_url(prefix: str, next_path: str) -> str:
    """The sign-in page, coming back to ``next_path`` afterwards."""
    return f"{prefix}login?next={quote(next_path, safe='/')}"


def csrf_token() -> str:
    """This browser session's token for our own forms (created on first use)."""
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = session[SESSION_CSRF] = secrets.token_urlsafe(24)
    return token


def csrf_ok(sent: Any) -> bool:
    """Whether a form carried this session's token."""
    token = session.get(SESSION_CSRF)
    return isinstance(sent, str) and isinstance(token, str) and hmac.compare_digest(sent, token)


def check_user(users: Mapping[str, str], name: str, password: str) -> bool:
    """Whether the password is the user's; an unknown name costs the same time."""
    stored = users.get(name)
    if stored is None:
        if not _DUMMY:
            _DUMMY.append(generate_password_hash(secrets.token_hex(8)))
        check_password_hash(_DUMMY[0], password)
        return False
    return check_password_hash(stored, password)


def session_user(users: Mapping[str, str]) -> str | None:
    """The signed-in user of this request's session, if they are still a configured user."""
    name = session.get(SESSION_USER)
    return name if isinstance(name, str) and name in users else None


def page(prefix: str, *, next_path: str, user: str = "", error: str = "") -> str:
    """The sign-in form, server-rendered; its one script is the app's theme (same origin)."""
    alert = f'<div class="alert alert-danger py-2 small" role="alert">{escape(error)}</div>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · dashapp</title>
<link rel="stylesheet" href="{escape(prefix)}assets/00_bootstrap.min.css">
<script src="{escape(prefix)}assets/00_theme.js"></script>
</head><body class="bg-body-tertiary">
<main class="container py-5" style="max-width: 24rem">
<h1 class="h4 mb-3">Sign in to dashapp</h1>
{alert if error else ""}
<form method="post" action="{escape(prefix)}login" class="card card-body shadow-sm">
<input type="hidden" name="csrf" value="{escape(csrf_token())}">
<input type="hidden" name="next" value="{escape(next_path)}">
<label class="form-label small" for="user">User name</label>
<input class="form-control mb-3" id="user" name="user" autocomplete="username" required
 autofocus value="{escape(user)}">
<label class="form-label small" for="password">Password</label>
<input class="form-control mb-3" id="password" name="password" type="password"
 autocomplete="current-password" required>
<button class="btn btn-primary w-100" type="submit">Sign in</button>
</form></main></body></html>"""


def install(server: Flask, users: Mapping[str, str], *, prefix: str, hours: float) -> None:
    """The ``login`` and ``logout`` routes, and sessions that last ``hours``."""
    server.session_interface = FrameFriendlySessions()
    server.permanent_session_lifetime = timedelta(hours=hours)
    server.config.update(SESSION_COOKIE_NAME="dashapp_session", SESSION_COOKIE_PATH=prefix)

    def html_page(body: str, status: int = 200) -> Response:
        return Response(body, status, mimetype="text/html", headers={"Cache-Control": "no-store"})

    @server.route(f"{prefix}login", methods=["GET", "POST"], endpoint="dashapp_login")
    def _login() -> Any:
        target = safe_next(request.values.get("next"), prefix)
        if request.method == "GET":
            if session_user(users):
                return redirect(target, 303)
            return html_page(page(prefix, next_path=target))
        name = str(request.form.get("user", ""))[:120]
        password = str(request.form.get("password", ""))[:1024]
        if not csrf_ok(request.form.get("csrf")):
            error = "This form had expired; please sign in again."
            return html_page(page(prefix, next_path=target, user=name, error=error), 400)
        if not check_user(users, name, password):
            LOG.warning("sign-in refused for %r from %s", name, request.remote_addr)
            error = "Wrong user name or password."
            return html_page(page(prefix, next_path=target, user=name, error=error), 401)
        session.clear()  # a new session for the new user (no fixation)
        session.permanent = True
        session[SESSION_USER] = name
        csrf_token()
        LOG.info("signed in: %r", name)
        return redirect(target, 303)

    @server.route(f"{prefix}logout", methods=["POST"], endpoint="dashapp_logout")
    def _logout() -> Any:
        if csrf_ok(request.form.get("csrf")):
            session.clear()
        return redirect(f"{prefix}login", 303)
