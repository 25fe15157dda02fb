"""Who is asking: trusted proxies, the portal's user header, and basic-auth users."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash

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


def basic_user(authorization: str | None, users: Mapping[str, str]) -> str | None:
    """The user name if the ``Authorization: Basic`` header carries a valid password."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = raw.partition(":")
    stored = users.get(name)
    if not sep or stored is None:
        return None
    return name if check_password_hash(stored, password) else None


def identify(
    environ: Mapping[str, Any],
    headers: Mapping[str, str] | Headers,
    *,
    user_header: str,
    users: Mapping[str, str],
    admins: Iterable[str],
    session_user: str | None = None,
) -> Identity | None:
    """Who sent this request; None when credentials are required and missing or wrong.

    ``session_user``: who signed in on this browser's session, if anyone (``signin``).
    """
    admin_set = set(admins)
    if user_header and environ.get(TRUSTED_KEY):
        name = (headers.get(user_header) or "").strip()
        if name and USER_RE.fullmatch(name):
            return Identity(name, name in admin_set, "header")
    if users and session_user is not None and session_user in users:
        return Identity(session_user, session_user in admin_set, "session")
    if users:
        user = basic_user(headers.get("Authorization"), users)
        return Identity(user, user in admin_set, "basic") if user else None
    return Identity(ANONYMOUS, False, "open")


def is_open(*, user_header: str, users: Mapping[str, str]) -> bool:
    """Whether the app accepts anyone (neither a portal header nor users are configured)."""
    return not user_header and not users
