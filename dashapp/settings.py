"""Settings: one typed, validated object read from ``DASHAPP_*`` environment variables."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PREFIX = "DASHAPP_"
LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingsError(ValueError):
    """A setting has a value the app cannot start with; the message names it."""


def _parse_int(name: str, raw: str, lo: int, hi: int) -> int:
    """Parse an integer setting and check its bounds."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{PREFIX}{name}={value} is out of range ({lo}..{hi})")
    return value


def _parse_float(name: str, raw: str, lo: float, hi: float) -> float:
    """Parse a number setting and check its bounds."""
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a number") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{PREFIX}{name}={value} is out of range ({lo}..{hi})")
    return value


def _parse_bool(name: str, raw: str) -> bool:
    """Parse a yes/no setting."""
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{PREFIX}{name}={raw!r} is not a boolean (use true or false)")


def _parse_db_url(name: str, raw: str) -> str:
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


def _parse_prefix(name: str, raw: str) -> str:
    """Normalise a URL path prefix to the ``/a/b/`` form Dash expects."""
    value = raw.strip() or "/"
    if not re.fullmatch(r"/?([A-Za-z0-9._~-]+/?)*", value):
        raise SettingsError(
            f"{PREFIX}{name}={raw!r} is not a URL path prefix (letters, digits, . _ ~ - and /)"
        )
    value = "/" + value.strip("/") + "/"
    return "/" if value == "//" else value


def _parse_origins(name: str, raw: str) -> tuple[str, ...]:
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


def _parse_redis_url(name: str, raw: str) -> str:
    """A Redis URL for Celery's broker and results."""
    value = raw.strip()
    if not re.fullmatch(r"rediss?://[^\s]+", value):
        raise SettingsError(
            f"{PREFIX}{name}={raw!r} is not a Redis URL (e.g. redis://127.0.0.1:6379/0)"
        )
    return value


def _parse_networks(name: str, raw: str) -> tuple[str, ...]:
    """Proxy addresses or CIDR blocks, space or comma separated."""
    import ipaddress

    items = tuple(x for x in re.split(r"[\s,]+", raw.strip()) if x)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(
                f"{PREFIX}{name}: {item!r} is not an address or network like 10.0.0.0/8"
            ) from None
    return items


def _parse_header_name(name: str, raw: str) -> str:
    """An HTTP header name."""
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", value):
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a header name like X-Forwarded-User")
    return value


def _parse_users(name: str, raw: str) -> tuple[tuple[str, str], ...]:
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


def _parse_choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    """Parse a setting that takes one of a few words."""
    value = raw.strip().lower()
    if value not in choices:
        raise SettingsError(f"{PREFIX}{name}={raw!r} must be one of {', '.join(choices)}")
    return value


def _parse_host(name: str, raw: str) -> str:
    """Check a listen address."""
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", value):
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not a host name or address")
    return value


def _parse_patterns(name: str, raw: str) -> tuple[str, ...]:
    """Parse a comma-separated list of ``schema.table`` glob patterns."""
    items = tuple(p.strip() for p in raw.split(",") if p.strip())
    for item in items:
        if not re.fullmatch(r"[^.\s]+\.[^\s]+", item):
            raise SettingsError(
                f"{PREFIX}{name}: {item!r} is not a schema.table pattern (e.g. public.*)"
            )
    return items


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, validated."""

    data_dir: Path = field(default_factory=lambda: Path("data").resolve())
    database_url: str = ""
    state_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8050
    workers: int = 2
    threads: int = 4
    url_prefix: str = "/"
    frame_ancestors: tuple[str, ...] = ("'self'",)
    secret_key: str = ""
    demo_rows: int = 1_000_000
    demo_autocreate: bool = True
    statement_timeout_s: float = 10.0
    max_jobs: int = 2
    data_allow: tuple[str, ...] = ()
    data_deny: tuple[str, ...] = ()
    log_level: str = "info"
    upload_max_mb: float = 25.0
    upload_max_megapixels: float = 60.0
    preview_max_px: int = 1600
    upload_idle_hours: float = 24.0
    celery_broker: str = ""
    trusted_proxies: tuple[str, ...] = ()
    user_header: str = ""
    users: tuple[tuple[str, str], ...] = ()
    admins: tuple[str, ...] = ()
    session_hours: float = 12.0

    def __post_init__(self) -> None:
        """Fill defaults that depend on the data directory."""
        data_dir = Path(self.data_dir).resolve()
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{data_dir / 'demo.sqlite'}")
        if not self.state_url:
            object.__setattr__(self, "state_url", f"sqlite:///{data_dir / 'state.sqlite'}")

    @property
    def user_hashes(self) -> dict[str, str]:
        """Basic-auth users: name to password hash."""
        return dict(self.users)

    @property
    def demo_db_path(self) -> Path:
        """Where the built-in demo SQLite database lives."""
        return self.data_dir / "demo.sqlite"

    @property
    def uses_demo_db(self) -> bool:
        """Whether the browsed database is the built-in demo file."""
        return self.database_url == f"sqlite:///{self.demo_db_path}"

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (tests, CLI flags)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``DASHAPP_*`` variables, raising SettingsError on a bad value."""
        env = os.environ if environ is None else environ
        parsers: dict[str, Callable[[str, str], Any]] = {
            "data_dir": lambda n, r: Path(r.strip() or "data"),
            "database_url": _parse_db_url,
            "state_url": _parse_db_url,
            "host": _parse_host,
            "port": lambda n, r: _parse_int(n, r, 1, 65535),
            "workers": lambda n, r: _parse_int(n, r, 1, 64),
            "threads": lambda n, r: _parse_int(n, r, 1, 64),
            "url_prefix": _parse_prefix,
            "frame_ancestors": _parse_origins,
            "secret_key": lambda n, r: r,
            "demo_rows": lambda n, r: _parse_int(n, r, 1000, 100_000_000),
            "demo_autocreate": _parse_bool,
            "statement_timeout_s": lambda n, r: _parse_float(n, r, 0.1, 3600),
            "log_level": lambda n, r: _parse_choice(n, r, LOG_LEVELS),
            "max_jobs": lambda n, r: _parse_int(n, r, 1, 64),
            "data_allow": _parse_patterns,
            "data_deny": _parse_patterns,
            "upload_max_mb": lambda n, r: _parse_float(n, r, 0.1, 1024),
            "upload_max_megapixels": lambda n, r: _parse_float(n, r, 0.1, 1000),
            "preview_max_px": lambda n, r: _parse_int(n, r, 64, 8192),
            "upload_idle_hours": lambda n, r: _parse_float(n, r, 0.01, 24 * 365),
            "celery_broker": _parse_redis_url,
            "trusted_proxies": _parse_networks,
            "user_header": _parse_header_name,
            "users": _parse_users,
            "admins": lambda n, r: tuple(x for x in re.split(r"[\s,]+", r.strip()) if x),
            "session_hours": lambda n, r: _parse_float(n, r, 0.05, 24 * 90),
        }
        known = {f.name for f in fields(cls)}
        assert set(parsers) == known, "every setting needs a parser"
        unknown = sorted(
            k for k in env if k.startswith(PREFIX) and k[len(PREFIX) :].lower() not in known
        )
        if unknown:
            raise SettingsError(
                f"unknown setting {unknown[0]} (known: "
                + ", ".join(PREFIX + k.upper() for k in sorted(known))
                + ")"
            )
        values: dict[str, Any] = {}
        for name, parse in parsers.items():
            raw = env.get(PREFIX + name.upper())
            if raw is not None and raw.strip() != "":
                values[name] = parse(name.upper(), raw)
        return cls(**values)


SETTINGS_DOC: tuple[tuple[str, str, str], ...] = (
    ("DASHAPP_DATA_DIR", "./data", "Demo database, caches, uploads, artifacts."),
    (
        "DASHAPP_DATABASE_URL",
        "sqlite:///<data dir>/demo.sqlite",
        "The database the Data page browses. `postgresql://` uses psycopg2.",
    ),
    (
        "DASHAPP_STATE_URL",
        "sqlite:///<data dir>/state.sqlite",
        "The app's own state (jobs, ...). SQLite or PostgreSQL.",
    ),
    ("DASHAPP_HOST", "127.0.0.1", "Address gunicorn and the dev server listen on."),
    ("DASHAPP_PORT", "8050", "Port (1-65535)."),
    ("DASHAPP_WORKERS", "2", "gunicorn worker processes (1-64)."),
    ("DASHAPP_THREADS", "4", "Threads per gunicorn worker (1-64)."),
    (
        "DASHAPP_URL_PREFIX",
        "/",
        "Path prefix the whole app is served under, e.g. `/tools/dashapp/`.",
    ),
    (
        "DASHAPP_FRAME_ANCESTORS",
        "'self'",
        "Origins allowed to frame the app (CSP frame-ancestors), space or comma separated.",
    ),
    (
        "DASHAPP_SECRET_KEY",
        "generated once into <data dir>/secret_key",
        "Signs session cookies; must be the same for every worker.",
    ),
    ("DASHAPP_DEMO_ROWS", "1000000", "Rows of the demo database's large table (`events`)."),
    (
        "DASHAPP_DEMO_AUTOCREATE",
        "true",
        "Build the demo database on first start when the default database is used.",
    ),
    ("DASHAPP_STATEMENT_TIMEOUT_S", "10", "Time limit of one query to the browsed database."),
    ("DASHAPP_LOG_LEVEL", "info", "debug, info, warning or error."),
    ("DASHAPP_MAX_JOBS", "2", "Training jobs running at once; more wait, visibly queued."),
    (
        "DASHAPP_DATA_ALLOW",
        "(all)",
        "Comma-separated `schema.table` globs the Data page may show, e.g. `public.*`.",
    ),
    (
        "DASHAPP_DATA_DENY",
        "(none)",
        "Globs hidden from the Data page, applied after the allow list.",
    ),
    ("DASHAPP_UPLOAD_MAX_MB", "25", "Largest image file the Compositor accepts, in MB."),
    (
        "DASHAPP_UPLOAD_MAX_MEGAPIXELS",
        "60",
        "Most pixels an upload may decode to (checked before decoding).",
    ),
    ("DASHAPP_PREVIEW_MAX_PX", "1600", "Longest side of the previews sent to the browser."),
    (
        "DASHAPP_CELERY_BROKER",
        "(none: jobs run on the web host)",
        "Redis URL; background callbacks then run on Celery workers "
        "(`celery -A dashapp.worker:celery worker`).",
    ),
    (
        "DASHAPP_TRUSTED_PROXIES",
        "(none)",
        "Reverse-proxy addresses or networks whose `X-Forwarded-*` and user headers are trusted.",
    ),
    (
        "DASHAPP_USER_HEADER",
        "(none)",
        "Header carrying the portal's authenticated user name, e.g. `X-Forwarded-User`.",
    ),
    (
        "DASHAPP_USERS",
        "(none)",
        "Standalone users as `name:hash` (from `dashapp hash-password`): browsers get a sign-in "
        "page, scripts may send HTTP Basic credentials.",
    ),
    ("DASHAPP_ADMINS", "(none)", "User names that may cancel anyone's jobs."),
    (
        "DASHAPP_SESSION_HOURS",
        "12",
        "How long a sign-in on the sign-in page lasts (standalone users).",
    ),
    (
        "DASHAPP_UPLOAD_IDLE_HOURS",
        "24",
        "Compositor uploads of a browser idle this long are deleted.",
    ),
)
