"""The ``dashapp`` command: run (gunicorn), dev (debug server), demo-db and hash-password."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence

from dashapp.settings import Settings, SettingsError


def _settings() -> Settings:
    """Read settings, turning a bad value into a one-line message and exit status 2."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        sys.stderr.write(f"dashapp: bad setting: {exc}\n")
        raise SystemExit(2) from None


def _prepare(settings: Settings) -> None:
    """The data folder and the state schema; a schema that does not fit ends with one line."""
    from dashapp.app import prepare_data
    from dashapp.migrations import SchemaError

    try:
        prepare_data(settings)
    except SettingsError as exc:  # settings that are fine one by one but not together
        sys.stderr.write(f"dashapp: bad setting: {exc}\n")
        raise SystemExit(2) from None
    except SchemaError as exc:
        sys.stderr.write(f"dashapp: {exc}\n")
        raise SystemExit(2) from None


def cmd_run(args: argparse.Namespace) -> int:
    """Serve the app with gunicorn (the production way)."""
    settings = _settings()
    _prepare(settings)
    gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable), "gunicorn")
    argv = [gunicorn, "--config", "python:dashapp.gunicorn_conf", *args.gunicorn_args]
    argv.append("dashapp.wsgi:server")
    print(
        f"dashapp: serving on http://{settings.host}:{settings.port}{settings.url_prefix}",
        flush=True,
    )
    os.execv(gunicorn, argv)
    return 0  # pragma: no cover - execv does not return


def cmd_dev(args: argparse.Namespace) -> int:
    """Serve the app with Dash's debug server (reloads on code changes)."""
    settings = _settings()
    _prepare(settings)
    from dashapp.app import create_app

    app = create_app(settings)
    # No version check: it calls plotly.com, which an intranet (and our CSP) does not allow.
    app.run(
        debug=True,
        host=settings.host,
        port=settings.port,
        dev_tools_disable_version_check=True,
    )
    return 0


def cmd_demo_db(args: argparse.Namespace) -> int:
    """Create or refresh the demo database (SQLite file or a PostgreSQL database)."""
    from dashapp.data.demo_data import DemoSizes, ensure_sqlite, load_postgresql
    from dashapp.db import normalize_url

    settings = _settings()
    rows = args.rows or settings.demo_rows
    sizes = DemoSizes(events=rows)
    url = normalize_url(args.url or f"sqlite:///{settings.demo_db_path}")
    t0 = time.monotonic()
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database:
            sys.stderr.write("dashapp: demo-db needs a SQLite file path\n")
            return 2
        from pathlib import Path

        built = ensure_sqlite(Path(url.database), sizes, force=args.force)
        verb = "built" if built else "already current:"
        print(f"demo database {verb} {url.database} ({rows:,} events)")
    elif backend == "postgresql":
        print(f"loading demo tables ({rows:,} events) into {url.render_as_string()}")
        load_postgresql(url.render_as_string(hide_password=False), sizes, echo=print)
        print("done")
    else:
        sys.stderr.write(f"dashapp: demo-db supports sqlite and postgresql, not {backend}\n")
        return 2
    print(f"took {time.monotonic() - t0:.1f} s")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """``db upgrade``: migrate the state database to this code; ``db current``: say where it is."""
    from dashapp import migrations
    from dashapp.db import make_engine

    settings = _settings()
    engine = make_engine(settings.state_url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        before = migrations.current(engine)
        if args.action == "current":
            head = migrations.head()
            state = "up to date" if before == head else "needs `dashapp db upgrade`"
            print(f"{shown}: at {before or '(none)'}; this code's head is {head} ({state})")
            migrations.check(before)
            return 0
        after = migrations.upgrade(engine)
        print(f"{shown}: {before or '(none)'} -> {after}")
        return 0
    except migrations.SchemaError as exc:
        sys.stderr.write(f"dashapp: {exc}\n")
        return 2
    finally:
        engine.dispose()


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Print a password hash for DASHAPP_USERS (the password is read, never an argument)."""
    import getpass

    from werkzeug.security import generate_password_hash

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            sys.stderr.write("dashapp: the passwords differ\n")
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        sys.stderr.write("dashapp: use at least 8 characters\n")
        return 2
    hashed = generate_password_hash(password)
    print(f"{args.user}:{hashed}" if args.user else hashed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="dashapp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve with gunicorn (production)")
    run.add_argument("gunicorn_args", nargs="*", help="extra gunicorn options after --")
    run.set_defaults(func=cmd_run)
    dev = sub.add_parser("dev", help="serve with the Dash debug server")
    dev.set_defaults(func=cmd_dev)
    demo = sub.add_parser("demo-db", help="create or refresh the demo database")
    demo.add_argument("--url", help="target database (default: the demo SQLite file)")
    demo.add_argument("--rows", type=int, help="rows of the large events table")
    demo.add_argument("--force", action="store_true", help="rebuild even if current")
    demo.set_defaults(func=cmd_demo_db)
    db = sub.add_parser("db", help="the state database's schema (migrations)")
    db.add_argument("action", choices=("upgrade", "current"), help="upgrade to head, or show")
    db.set_defaults(func=cmd_db)
    hashing = sub.add_parser("hash-password", help="hash a password for DASHAPP_USERS")
    hashing.add_argument("user", nargs="?", help="print name:hash, ready for DASHAPP_USERS")
    hashing.set_defaults(func=cmd_hash_password)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dashapp`` console script."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # we say what changed ourselves
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
