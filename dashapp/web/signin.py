"""A sign-in page for standalone users (``DASHAPP_USERS``): a form and a server-side session.

Browsers get this page rather than HTTP Basic's prompt, which has no way to sign out and
which a framed page may not show; scripts can still send Basic credentials. Signing in
starts a session in the state database (``sessions``); the cookie carries only its random
token. Cookies are ``Secure; SameSite=None`` over HTTPS (so a cross-site portal frame keeps
them) and ``SameSite=Lax`` over plain HTTP, where a ``Secure`` cookie would be dropped and
the user sent back to this page for ever. The form itself is protected by a token derived
from a random cookie and the app's secret key (the same on every node), so a signed-out
browser needs no server-side state to sign in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, current_app, g, redirect, request
from sqlalchemy.exc import SQLAlchemyError

from dashapp.web.sessions import SessionStore, SignInSession
from dashapp.web.throttle import SignInThrottle, TooManyAttempts

SESSION_COOKIE = "dashapp_session"
FORM_COOKIE = "dashapp_signin"
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
LOG = logging.getLogger("dashapp")
STATE_DOWN = (
    "Signing in is unavailable: the server cannot reach its state database. Try again shortly."
)


def cookie_flags(prefix: str) -> dict[str, Any]:
    """Flags of our cookies for this request: Secure and cross-site only over HTTPS."""
    secure = bool(request.is_secure)
    return {
        "path": prefix,
        "httponly": True,
        "secure": secure,
        "samesite": "None" if secure else "Lax",
    }


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


def form_token(secret: str, nonce: str) -> str:
    """The sign-in form's token for a browser's nonce cookie (any node with the key agrees)."""
    return hmac.new(secret.encode(), b"signin-form:" + nonce.encode(), hashlib.sha256).hexdigest()


def form_ok(secret: str, nonce: str | None, sent: Any) -> bool:
    """Whether a posted sign-in form came from our page in this browser."""
    if not isinstance(sent, str) or not nonce or not NONCE_RE.fullmatch(nonce):
        return False
    return same_token(sent, form_token(secret, nonce))


def same_token(sent: Any, expected: str) -> bool:
    """Whether a posted token is the expected one (constant time; any text is just wrong)."""
    if not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode())


def current_session() -> SignInSession | None:
    """The signed-in session of the request being served (set by the web layer's check)."""
    found = g.get("signin_session")
    return found if isinstance(found, SignInSession) else None


def csrf_token() -> str:
    """The signed-in session's token for our own forms (the sign-out button)."""
    found = current_session()
    return found.csrf if found else ""


def session_of_request(store: SessionStore) -> SignInSession | None:
    """The live session this request's cookie names (raises SQLAlchemyError if unreachable)."""
    token = request.cookies.get(SESSION_COOKIE)
    return store.get(token) if token else None


def page(prefix: str, *, next_path: str, token: str, user: str = "", error: str = "") -> str:
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
<input type="hidden" name="csrf" value="{escape(token)}">
<input type="hidden" name="next" value="{escape(next_path)}">
<label class="form-label small" for="user">User name</label>
<input class="form-control mb-3" id="user" name="user" autocomplete="username" required
 autofocus value="{escape(user)}">
<label class="form-label small" for="password">Password</label>
<input class="form-control mb-3" id="password" name="password" type="password"
 autocomplete="current-password" required>
<button class="btn btn-primary w-100" type="submit">Sign in</button>
</form></main></body></html>"""


def install(
    server: Flask,
    users: Mapping[str, str],
    *,
    store: SessionStore,
    throttle: SignInThrottle,
    prefix: str,
) -> None:
    """The ``login`` and ``logout`` routes."""
    lifetime_s = int(store.lifetime.total_seconds())

    def form(target: str, status: int = 200, *, user: str = "", error: str = "") -> Response:
        """The form, with this browser's nonce cookie (kept if it has a good one)."""
        nonce = request.cookies.get(FORM_COOKIE, "")
        if not NONCE_RE.fullmatch(nonce):
            nonce = secrets.token_urlsafe(24)
        token = form_token(str(current_app.secret_key), nonce)
        body = page(prefix, next_path=target, token=token, user=user, error=error)
        resp = Response(body, status, mimetype="text/html")
        resp.set_cookie(FORM_COOKIE, nonce, **cookie_flags(prefix))
        return resp

    @server.route(f"{prefix}login", methods=["GET", "POST"], endpoint="dashapp_login")
    def _login() -> Any:
        """The form (GET), or a sign-in attempt (POST)."""
        target = safe_next(request.values.get("next"), prefix)
        if request.method == "GET":
            try:
                signed_in = session_of_request(store)
            except SQLAlchemyError:
                return form(target, 503, error=STATE_DOWN)
            if signed_in and signed_in.user in users:
                return redirect(target, 303)
            return form(target)
        name = str(request.form.get("user", ""))[:120]
        password = str(request.form.get("password", ""))[:1024]
        secret = str(current_app.secret_key)
        if not form_ok(secret, request.cookies.get(FORM_COOKIE), request.form.get("csrf")):
            return form(
                target, 400, user=name, error="This form had expired; please sign in again."
            )
        try:
            if not throttle.check(users, name, password):
                return form(target, 401, user=name, error="Wrong user name or password.")
        except TooManyAttempts as exc:
            resp = form(target, 429, user=name, error=exc.message)
            resp.headers["Retry-After"] = str(int(exc.wait_s) + 1)
            return resp
        try:
            old = request.cookies.get(SESSION_COOKIE)
            if old:
                store.end(old)  # the browser's previous session, if any, ends here
            token, _ = store.create(name)
        except SQLAlchemyError:
            LOG.exception("could not record a sign-in")
            return form(target, 503, user=name, error=STATE_DOWN)
        LOG.info("signed in: %r", name)
        done = redirect(target, 303)
        done.set_cookie(SESSION_COOKIE, token, max_age=lifetime_s, **cookie_flags(prefix))
        done.delete_cookie(FORM_COOKIE, **cookie_flags(prefix))
        return done

    @server.route(f"{prefix}logout", methods=["POST"], endpoint="dashapp_logout")
    def _logout() -> Any:
        """End this browser's session (a POST carrying the session's token)."""
        resp = redirect(f"{prefix}login", 303)
        token = request.cookies.get(SESSION_COOKIE)
        try:
            found = store.get(token) if token else None
            if found and same_token(request.form.get("csrf"), found.csrf):
                assert token is not None
                store.end(token)
                resp.delete_cookie(SESSION_COOKIE, **cookie_flags(prefix))
                LOG.info("signed out: %r", found.user)
        except SQLAlchemyError:
            LOG.exception("could not record a sign-out")
            return Response(STATE_DOWN + "\n", 503, mimetype="text/plain")
        return resp
