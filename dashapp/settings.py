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
COMPOSITOR_STORAGES = ("auto", "local", "database")


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


Parser = Callable[[str, str], Any]


def setting(default: Any, parse: Parser, doc: str, shown: str | None = None) -> Any:
    """A settings field with its parser and its README line, declared together once.

    ``shown`` is the default as the README states it, when ``default`` does not say it well.
    """
    meta = {"parse": parse, "doc": doc, "shown": str(default) if shown is None else shown}
    if isinstance(default, Path):
        return field(default_factory=lambda: default.resolve(), metadata=meta)
    return field(default=default, metadata=meta)


def _ints(lo: int, hi: int) -> Parser:
    return lambda n, r: _parse_int(n, r, lo, hi)


def _floats(lo: float, hi: float) -> Parser:
    return lambda n, r: _parse_float(n, r, lo, hi)


def _words(n: str, r: str) -> tuple[str, ...]:
    return tuple(x for x in re.split(r"[\s,]+", r.strip()) if x)


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, validated."""

    data_dir: Path = setting(
        Path("data"),
        lambda n, r: Path(r.strip() or "data"),
        "Demo database, caches, uploads, artifacts.",
        "./data",
    )
    database_url: str = setting(
        "",
        _parse_db_url,
        "The database the Data page browses. `postgresql://` uses psycopg2.",
        "sqlite:///<data dir>/demo.sqlite",
    )
    state_url: str = setting(
        "",
        _parse_db_url,
        "The app's own state (jobs, ...). SQLite or PostgreSQL.",
        "sqlite:///<data dir>/state.sqlite",
    )
    host: str = setting("127.0.0.1", _parse_host, "Address gunicorn and the dev server listen on.")
    port: int = setting(8050, _ints(1, 65535), "Port (1-65535).")
    workers: int = setting(2, _ints(1, 64), "gunicorn worker processes (1-64).")
    threads: int = setting(4, _ints(1, 64), "Threads per gunicorn worker (1-64).")
    url_prefix: str = setting(
        "/", _parse_prefix, "Path prefix the whole app is served under, e.g. `/tools/dashapp/`."
    )
    frame_ancestors: tuple[str, ...] = setting(
        ("'self'",),
        _parse_origins,
        "Origins allowed to frame the app (CSP frame-ancestors), space or comma separated.",
        "'self'",
    )
    secret_key: str = setting(
        "",
        lambda n, r: r,
        "Signs the sign-in form's tokens; the same on every node (required when they share state).",
        "generated once into <data dir>/secret_key",
    )
    demo_rows: int = setting(
        1_000_000, _ints(1000, 100_000_000), "Rows of the demo database's large table (`events`)."
    )
    demo_autocreate: bool = setting(
        True,
        _parse_bool,
        "Build the demo database on first start when the default database is used.",
        "true",
    )
    statement_timeout_s: float = setting(
        10.0, _floats(0.1, 3600), "Time limit of one query to the browsed database.", "10"
    )
    db_retry_s: float = setting(
        5.0, _floats(0.5, 600), "A database that stopped answering is retried after this.", "5"
    )
    max_jobs: int = setting(
        2, _ints(1, 64), "Training jobs running at once; more wait, visibly queued."
    )
    job_retention_days: float = setting(
        0.0, _floats(0, 36500), "Ended jobs are deleted this many days after they end.", "0 (off)"
    )
    data_allow: tuple[str, ...] = setting(
        (),
        _parse_patterns,
        "Comma-separated `schema.table` globs the Data page may show, e.g. `public.*`.",
        "(all)",
    )
    data_deny: tuple[str, ...] = setting(
        (),
        _parse_patterns,
        "Globs hidden from the Data page, applied after the allow list.",
        "(none)",
    )
    min_free_mb: int = setting(
        200,
        _ints(0, 100_000_000),
        "Free space the data directory must keep, in MB; `/healthz` fails below it (0: off).",
    )
    log_level: str = setting(
        "info", lambda n, r: _parse_choice(n, r, LOG_LEVELS), "debug, info, warning or error."
    )
    upload_max_mb: float = setting(
        25.0, _floats(0.1, 1024), "Largest image file the Compositor accepts, in MB.", "25"
    )
    upload_max_megapixels: float = setting(
        60.0,
        _floats(0.1, 1000),
        "Most pixels an upload may decode to (checked before decoding).",
        "60",
    )
    preview_max_px: int = setting(
        1600, _ints(64, 8192), "Longest side of the previews sent to the browser."
    )
    upload_idle_hours: float = setting(
        24.0,
        _floats(0.01, 24 * 365),
        "Compositor uploads of a browser idle this long are deleted.",
        "24",
    )
    upload_session_mb: float = setting(
        500.0,
        _floats(0.1, 1024 * 1024),
        "Most MB of images (as stored, losslessly) one Compositor session may keep.",
        "500",
    )
    compositor_storage: str = setting(
        "auto",
        lambda n, r: _parse_choice(n, r, COMPOSITOR_STORAGES),
        "Where Compositor images live: `local` (the data folder, one node), `database` (the "
        "state database, read by every node) or `auto` (`database` when the state database "
        "is PostgreSQL).",
    )
    celery_broker: str = setting(
        "",
        _parse_redis_url,
        "Redis URL; background callbacks then run on Celery workers "
        "(`celery -A dashapp.worker:celery worker`).",
        "(none: jobs run on the web host)",
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        _parse_networks,
        "Reverse-proxy addresses or networks whose `X-Forwarded-*` and user headers are trusted.",
        "(none)",
    )
    user_header: str = setting(
        "",
        _parse_header_name,
        "Header carrying the portal's authenticated user name, e.g. `X-Forwarded-User`.",
        "(none)",
    )
    users: tuple[tuple[str, str], ...] = setting(
        (),
        _parse_users,
        "Standalone users as `name:hash` (from `dashapp hash-password`): browsers get a sign-in "
        "page, scripts may send HTTP Basic credentials.",
        "(none)",
    )
    admins: tuple[str, ...] = setting(
        (), _words, "User names that may cancel anyone's jobs.", "(none)"
    )
    auto_migrate: bool = setting(
        True,
        _parse_bool,
        "Upgrade the state database's schema at start-up (one node at a time); off: refuse "
        "to start until `dashapp db upgrade` has run.",
        "true",
    )
    session_hours: float = setting(
        12.0,
        _floats(0.05, 24 * 90),
        "How long a sign-in lasts, from signing in (enforced by the server; sign-out ends it).",
        "12",
    )
    allow_anonymous: bool = setting(
        False,
        _parse_bool,
        "With `DASHAPP_USER_HEADER` or `DASHAPP_USERS` set: serve requests that carry no user "
        "as `anonymous` instead of refusing them (or sending them to the sign-in page).",
        "false",
    )
    signin_attempts: int = setting(
        10,
        _ints(1, 10_000),
        "Failed sign-ins allowed per user name in 15 minutes (5x per address); then 429. "
        "Counted in Redis with `DASHAPP_CELERY_BROKER`, else per worker.",
    )

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
    def compositor_in_database(self) -> bool:
        """Whether Compositor images go to the state database (shared by every node)."""
        if self.compositor_storage == "auto":
            return make_url(self.state_url).get_backend_name() in ("postgresql", "postgres")
        return self.compositor_storage == "database"

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
        known = {f.name: f for f in fields(cls)}
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
        for name, spec in known.items():
            raw = env.get(PREFIX + name.upper())
            if raw is not None and raw.strip() != "":
                values[name] = spec.metadata["parse"](name.upper(), raw)
        return cls(**values)


def settings_doc() -> tuple[tuple[str, str, str], ...]:
    """``(variable, default as shown, meaning)`` of every setting, in declaration order."""
    return tuple(
        (PREFIX + f.name.upper(), f.metadata["shown"], f.metadata["doc"]) for f in fields(Settings)
    )


SETTINGS_DOC = settings_doc()
