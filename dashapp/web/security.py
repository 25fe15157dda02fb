"""Who is asking: trusted proxies, the portal's user header, and basic-auth users."""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash, generate_password_hash

from dashapp.identity import ANONYMOUS, Identity

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
USER_RE = re.compile(r"[^\x00-\x1f\x7f]{1,120}")
PEER_KEY = "dashapp.peer"
TRUSTED_KEY = "dashapp.trusted_proxy"


def networks(items: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR blocks, parsed (ValueError names a bad one)."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items)


def trusted(addr: str | None, allowed: tuple[Network, ...]) -> bool:
    """Whether a peer address belongs to a configured proxy."""
    if not addr or not allowed:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in allowed)


class TrustedProxyMiddleware:
    """Apply ``X-Forwarded-For/Proto/Host`` only when the peer is a configured proxy."""

    def __init__(self, app: Callable[..., Any], allowed: tuple[Network, ...]) -> None:
        """Wrap a WSGI app."""
        self.app = app
        self.allowed = allowed
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Record who the real peer is, then honour its forwarding headers if trusted."""
        peer = environ.get("REMOTE_ADDR")
        environ[PEER_KEY] = peer
        environ[TRUSTED_KEY] = trusted(peer, self.allowed)
        if environ[TRUSTED_KEY]:
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


PasswordCheck = Callable[[str, str], bool]


@functools.cache
def dummy_hash(method: str) -> str:
    """A hash of a random password made like the users' own (same cost), once per process."""
    return generate_password_hash(secrets.token_hex(16), method=method)


def hash_method(users: Mapping[str, str]) -> str:
    """The hashing method and cost of the configured users (``scrypt:32768:8:1`` ...)."""
    first = next(iter(users.values()), "")
    method = first.split("$", 1)[0]
    return method if method.startswith(("scrypt", "pbkdf2")) else "scrypt"


def check_password(users: Mapping[str, str], name: str, password: str) -> bool:
    """Whether the password is the user's; an unknown name costs the same hash check."""
    stored = users.get(name)
    if stored is None:
        # Checked and thrown away: answering at once would tell which names exist.
        check_password_hash(dummy_hash(hash_method(users)), password)
        return False
    return check_password_hash(stored, password)


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """The ``(name, password)`` an ``Authorization: Basic`` header carries, if well-formed."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = raw.partition(":")
    return (name, password) if sep else None


def basic_user(
    authorization: str | None, users: Mapping[str, str], check: PasswordCheck | None = None
) -> str | None:
    """The user name if the ``Authorization: Basic`` header carries a valid password."""
    creds = basic_credentials(authorization)
    if creds is None:
        return None
    name, password = creds
    ok = check(name, password) if check else check_password(users, name, password)
    return name if ok else None


def identify(
    environ: Mapping[str, Any],
    headers: Mapping[str, str] | Headers,
    *,
    user_header: str,
    users: Mapping[str, str],
    admins: Iterable[str],
    session_user: str | None = None,
    allow_anonymous: bool = False,
    check: PasswordCheck | None = None,
) -> Identity | None:
    """Who sent this request; None when it must be refused (no user, or wrong credentials).

    ``session_user``: who signed in on this browser's session, if anyone (``signin``).
    ``allow_anonymous``: serve a request that names no user as anonymous (always so when
    neither a portal header nor users are configured). ``check``: the password check
    (default ``check_password``; the web layer passes one that counts failures).
    """
    admin_set = set(admins)
    if user_header and environ.get(TRUSTED_KEY):
        name = (headers.get(user_header) or "").strip()
        if name and USER_RE.fullmatch(name):
            return Identity(name, name in admin_set, "header")
    if users and session_user is not None and session_user in users:
        return Identity(session_user, session_user in admin_set, "session")
    if users and headers.get("Authorization"):
        # Credentials that were sent must be right, anonymous access or not.
        user = basic_user(headers.get("Authorization"), users, check)
        return Identity(user, user in admin_set, "basic") if user else None
    if allow_anonymous or is_open(user_header=user_header, users=users):
        return Identity(ANONYMOUS, False, "open")
    return None


def is_open(*, user_header: str, users: Mapping[str, str]) -> bool:
    """Whether the app accepts anyone (neither a portal header nor users are configured)."""
    return not user_header and not users


def portal_refusal(environ: Mapping[str, Any], user_header: str) -> str:
    """Why a portal-only app refuses a request without a user (what the person reads)."""
    if not environ.get(TRUSTED_KEY):
        return (
            "dashapp takes its users from the portal, and this request did not come through "
            "it (not from a trusted proxy): open dashapp through the portal.\n"
        )
    return (
        f"The portal sent no valid user name ({user_header} is missing or malformed): "
        "sign in to the portal and open dashapp through it again.\n"
    )


def auth_mode(
    *,
    user_header: str,
    users: Mapping[str, str],
    trusted_proxies: Iterable[str],
    allow_anonymous: bool,
) -> tuple[str, bool]:
    """The start-up log line saying who may use the app, and whether it deserves a warning."""
    proxies = ", ".join(trusted_proxies) or "none"
    if is_open(user_header=user_header, users=users):
        return (
            "auth mode: open: dashapp is open: no DASHAPP_USERS and no DASHAPP_USER_HEADER "
            f"are set, so anyone who can reach it uses it (as {ANONYMOUS!r})",
            True,
        )
    mode = "portal+sign-in" if user_header and users else "portal" if user_header else "sign-in"
    parts = []
    if user_header:
        parts.append(f"user from {user_header} sent by trusted proxies: {proxies}")
    if users:
        parts.append(f"{len(users)} users sign in on the sign-in page or with HTTP Basic")
    if allow_anonymous:
        rest = f"requests without a user are served as {ANONYMOUS!r} (DASHAPP_ALLOW_ANONYMOUS)"
    elif users:
        rest = "requests without a user are sent to sign in"
    else:
        rest = "requests without a user are refused"
    warn = allow_anonymous or (bool(user_header) and proxies == "none" and not users)
    if user_header and proxies == "none":
        parts.append("no proxy is trusted (DASHAPP_TRUSTED_PROXIES), so no header counts")
    return f"auth mode: {mode}: " + "; ".join([*parts, rest]), warn
