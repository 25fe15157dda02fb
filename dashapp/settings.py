"""Settings: one typed, validated object read from ``DASHAPP_*`` environment variables."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from dashapp.parsers import (
    DEFAULT_SOURCE,
    PREFIX,
    SettingsError,
    parse_bool,
    parse_choice,
    parse_databases,
    parse_db_url,
    parse_float,
    parse_header_name,
    parse_host,
    parse_int,
    parse_networks,
    parse_origins,
    parse_patterns,
    parse_prefix,
    parse_redis_url,
    parse_users,
)

LOG_LEVELS = ("debug", "info", "warning", "error")
COMPOSITOR_STORAGES = ("auto", "local", "database")


__all__ = ["PREFIX", "SETTINGS_DOC", "Settings", "SettingsError", "setting", "settings_doc"]

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
    return lambda n, r: parse_int(n, r, lo, hi)


def _floats(lo: float, hi: float) -> Parser:
    return lambda n, r: parse_float(n, r, lo, hi)


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
        parse_db_url,
        "The database the Data page browses. `postgresql://` uses psycopg2.",
        "sqlite:///<data dir>/demo.sqlite",
    )
    databases: tuple[tuple[str, str], ...] = setting(
        (),
        parse_databases,
        "More databases for the Data page: `name=url` pairs, comma separated; without "
        "`DASHAPP_DATABASE_URL` the first is the default source.",
        "(none)",
    )
    state_url: str = setting(
        "",
        parse_db_url,
        "The app's own state (jobs, ...). SQLite or PostgreSQL.",
        "sqlite:///<data dir>/state.sqlite",
    )
    host: str = setting("127.0.0.1", parse_host, "Address gunicorn and the dev server listen on.")
    port: int = setting(8050, _ints(1, 65535), "Port (1-65535).")
    workers: int = setting(2, _ints(1, 64), "gunicorn worker processes (1-64).")
    threads: int = setting(4, _ints(1, 64), "Threads per gunicorn worker (1-64).")
    url_prefix: str = setting(
        "/", parse_prefix, "Path prefix the whole app is served under, e.g. `/tools/dashapp/`."
    )
    frame_ancestors: tuple[str, ...] = setting(
        ("'self'",),
        parse_origins,
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
        parse_bool,
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
        parse_patterns,
        "Comma-separated `schema.table` globs the Data page may show, e.g. `public.*`; "
        "`name:schema.table` applies to one data source only.",
        "(all)",
    )
    data_deny: tuple[str, ...] = setting(
        (),
        parse_patterns,
        "Globs hidden from the Data page, applied after the allow list.",
        "(none)",
    )
    min_free_mb: int = setting(
        200,
        _ints(0, 100_000_000),
        "Free space the data directory must keep, in MB; `/healthz` fails below it (0: off).",
    )
    log_level: str = setting(
        "info", lambda n, r: parse_choice(n, r, LOG_LEVELS), "debug, info, warning or error."
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
        lambda n, r: parse_choice(n, r, COMPOSITOR_STORAGES),
        "Where Compositor images live: `local` (the data folder, one node), `database` (the "
        "state database, read by every node) or `auto` (`database` when the state database "
        "is PostgreSQL).",
    )
    celery_broker: str = setting(
        "",
        parse_redis_url,
        "Redis URL; background callbacks then run on Celery workers "
        "(`celery -A dashapp.worker:celery worker`).",
        "(none: jobs run on the web host)",
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        parse_networks,
        "Reverse-proxy addresses or networks whose `X-Forwarded-*` and user headers are trusted.",
        "(none)",
    )
    user_header: str = setting(
        "",
        parse_header_name,
        "Header carrying the portal's authenticated user name, e.g. `X-Forwarded-User`.",
        "(none)",
    )
    users: tuple[tuple[str, str], ...] = setting(
        (),
        parse_users,
        "Standalone users as `name:hash` (from `dashapp hash-password`): browsers get a sign-in "
        "page, scripts may send HTTP Basic credentials.",
        "(none)",
    )
    admins: tuple[str, ...] = setting(
        (), _words, "User names that may cancel anyone's jobs.", "(none)"
    )
    auto_migrate: bool = setting(
        True,
        parse_bool,
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
        parse_bool,
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
        """Fill defaults that depend on the data directory; check the data sources."""
        data_dir = Path(self.data_dir).resolve()
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            first = self.databases[0][1] if self.databases else f"sqlite:///{data_dir}/demo.sqlite"
            object.__setattr__(self, "database_url", first)
        if not self.state_url:
            object.__setattr__(self, "state_url", f"sqlite:///{data_dir / 'state.sqlite'}")
        names = [n for n, _ in self.sources]
        if len(set(names)) != len(names):
            raise SettingsError(
                f"{PREFIX}DATABASES: {DEFAULT_SOURCE!r} names DATABASE_URL's source"
            )
        for pattern in (*self.data_allow, *self.data_deny):
            source, sep, _ = pattern.partition(":")
            if sep and "." not in source and source not in names:
                raise SettingsError(f"{PREFIX}DATA_ALLOW/DENY: {pattern!r} names no data source")

    @property
    def sources(self) -> tuple[tuple[str, str], ...]:
        """Every browsed database as ``(name, url)``, the default (``database_url``) first."""
        listed = [pair for pair in self.databases if pair[1] == self.database_url]
        if listed:
            return (listed[0], *(p for p in self.databases if p is not listed[0]))
        return ((DEFAULT_SOURCE, self.database_url), *self.databases)

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
        """Whether a browsed database is the built-in demo file."""
        return f"sqlite:///{self.demo_db_path}" in (url for _, url in self.sources)

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
