"""Parsers of ``DASHAPP_*`` values: each checks one kind of value and names the variable.

A parser takes the setting's name (without the prefix) and the raw text, and returns the
value or raises ``SettingsError`` with a message fit for one line on the terminal.
"""

from __future__ import annotations

import ipaddress
import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PREFIX = "DASHAPP_"


class SettingsError(ValueError):
    """A setting has a value the app cannot start with; the message names it."""


def parse_int(name: str, raw: str, lo: int, hi: int) -> int:
    """Parse an integer setting and check its bounds."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{PREFIX}{name}={value} is out of range ({lo}..{hi})")
    return value


def parse_float(name: str, raw: str, lo: float, hi: float) -> float:
    """Parse a number setting and check its bounds."""
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a number") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{PREFIX}{name}={value} is out of range ({lo}..{hi})")
    return value


def parse_bool(name: str, raw: str) -> bool:
    """Parse a yes/no setting."""
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{PREFIX}{name}={raw!r} is not a boolean (use true or false)")


def parse_db_url(name: str, raw: str) -> str:
    """Check that a database URL parses and names a driver we ship."""
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise SettingsError(
            f"{PREFIX}{name} is not a database URL (expected e.g. "
            "postgresql://user@host:5432/db or sqlite:///path/file.sqlite)"
        ) from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise SettingsError(
            f"{PREFIX}{name} uses {backend!r}; supported databases are sqlite and postgresql"
        )
    return url.render_as_string(hide_password=False)


def parse_prefix(name: str, raw: str) -> str:
    """Normalise a URL path prefix to the ``/a/b/`` form Dash expects."""
    value = raw.strip() or "/"
    if not re.fullmatch(r"/?([A-Za-z0-9._~-]+/?)*", value):
        raise SettingsError(
            f"{PREFIX}{name}={raw!r} is not a URL path prefix (letters, digits, . _ ~ - and /)"
        )
    value = "/" + value.strip("/") + "/"
    return "/" if value == "//" else value


def parse_origins(name: str, raw: str) -> tuple[str, ...]:
    """Parse a space- or comma-separated list of origins for CSP frame-ancestors."""
    items = [item for item in re.split(r"[\s,]+", raw.strip()) if item]
    for item in items:
        if item in ("'self'", "'none'", "self", "none"):
            continue
        if not re.fullmatch(r"https?://[A-Za-z0-9.*-]+(:\d{1,5})?", item):
            raise SettingsError(
                f"{PREFIX}{name}: {item!r} is not an origin like https://portal.example.com"
            )
    normal = tuple(f"'{i}'" if i in ("self", "none") else i for i in items)
    return normal or ("'self'",)


def parse_redis_url(name: str, raw: str) -> str:
    """A Redis URL for Celery's broker and results."""
    value = raw.strip()
    if not re.fullmatch(r"rediss?://[^\s]+", value):
        raise SettingsError(
            f"{PREFIX}{name}={raw!r} is not a Redis URL (e.g. redis://127.0.0.1:6379/0)"
        )
    return value


def parse_networks(name: str, raw: str) -> tuple[str, ...]:
    """Proxy addresses or CIDR blocks, space or comma separated."""
    items = tuple(x for x in re.split(r"[\s,]+", raw.strip()) if x)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(
                f"{PREFIX}{name}: {item!r} is not an address or network like 10.0.0.0/8"
            ) from None
    return items


def parse_header_name(name: str, raw: str) -> str:
    """An HTTP header name."""
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", value):
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a header name like X-Forwarded-User")
    return value


def parse_users(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    """``name:hash`` pairs (hashes from ``dashapp hash-password``), space or comma separated."""
    pairs = []
    for item in (x for x in re.split(r"[\s,]+", raw.strip()) if x):
        user, sep, hashed = item.partition(":")
        if not sep or not user or not re.match(r"(scrypt|pbkdf2):", hashed):
            raise SettingsError(
                f"{PREFIX}{name}: entries are name:hash with a hash from "
                "`dashapp hash-password` (plain passwords are refused)"
            )
        pairs.append((user, hashed))
    return tuple(pairs)


def parse_choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    """Parse a setting that takes one of a few words."""
    value = raw.strip().lower()
    if value not in choices:
        raise SettingsError(f"{PREFIX}{name}={raw!r} must be one of {', '.join(choices)}")
    return value


def parse_host(name: str, raw: str) -> str:
    """Check a listen address."""
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", value):
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a host name or address")
    return value


# A data source's name (DASHAPP_DATABASES); links write it before the table: name:schema.table.
SOURCE_NAME, DEFAULT_SOURCE = r"[A-Za-z][A-Za-z0-9_-]{0,31}", "default"


def parse_patterns(name: str, raw: str) -> tuple[str, ...]:
    """Parse a comma-separated list of ``[source:]schema.table`` glob patterns."""
    items = tuple(p.strip() for p in raw.split(",") if p.strip())
    for item in items:
        if not re.fullmatch(rf"({SOURCE_NAME}:)?[^.\s]+\.[^\s]+", item):
            raise SettingsError(
                f"{PREFIX}{name}: {item!r} is not a [source:]schema.table pattern (e.g. public.*)"
            )
    return items


def parse_databases(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    """``name=url`` pairs, separated by spaces or by commas before the next ``name=``."""
    pairs: dict[str, str] = {}
    for item in filter(None, re.split(rf"\s+|,(?=\s*{SOURCE_NAME}=)", raw.strip())):
        source, _, url = item.partition("=")
        if not re.fullmatch(SOURCE_NAME, source) or not url or source in pairs:
            raise SettingsError(
                f"{PREFIX}{name}: {item!r} is not name=url with a new name (a letter, then"
                " letters, digits, - or _), e.g. warehouse=postgresql://u@h/dw"
            )
        pairs[source] = parse_db_url(f"{name} ({source})", url)
    return tuple(pairs.items())
