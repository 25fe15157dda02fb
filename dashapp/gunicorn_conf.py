"""gunicorn configuration, read from the same DASHAPP_* settings as the app."""

from __future__ import annotations

import sys
from typing import Any

from dashapp.settings import Settings, SettingsError
from dashapp.web.logs import gunicorn_logconfig

try:
    _settings = Settings.from_env()
except SettingsError as _exc:
    sys.stderr.write(f"dashapp: bad setting: {_exc}\n")
    sys.exit(2)

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
# Threads let one worker answer grid blocks while another request waits on the database.
worker_class = "gthread"
threads = _settings.threads
timeout = max(60, int(_settings.statement_timeout_s * 3))
graceful_timeout = 30
keepalive = 5
loglevel = _settings.log_level
# One JSON object a line for everything; the app logs each request itself (with its id,
# user and duration), so gunicorn's own access log is off.
logconfig_dict = gunicorn_logconfig(_settings.log_level)
accesslog = None
errorlog = "-"
proc_name = "dashapp"
# The control socket is one per user by default: several servers (tests) would collide.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """Build the demo database, migrate the state, load the trainers: once, in the master."""
    from dashapp.app import prepare_data
    from dashapp.migrations import SchemaError

    try:
        prepare_data(_settings)
    except SchemaError as exc:
        sys.stderr.write(f"dashapp: {exc}\n")
        sys.exit(2)
    # Every trainer and plugin imported once, here: the workers inherit the registry, so a
    # broken plugin is logged once for the server, not once per worker.
    from jobs.registry import load

    load()


def worker_exit(server: Any, worker: Any) -> None:
    """A stopping worker leaves its background-callback processes running, unwaited for.

    Dash's DiskcacheManager starts them with ``multiprocess`` (non-daemon), which joins
    them all when the interpreter exits: a worker stopped mid-job then lived on until the
    job ended, holding the listening socket (SIGTERM waited the whole graceful timeout; after
    a SIGKILLed master the port stayed taken). They need nothing from the worker: each one
    supervises a job that runs in its own process and reports through the state database.
    """
    # multiprocess's own bookkeeping (its atexit hook joins what this set holds); there is
    # no public way to disown a child. Not imported: a worker that never started a
    # background callback has no such children.
    children = getattr(sys.modules.get("multiprocess.process"), "_children", None)
    if isinstance(children, set):
        children.clear()
