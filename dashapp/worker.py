"""Celery worker entry point: ``celery -A dashapp.worker:celery worker``.

Builds the app from the same ``DASHAPP_*`` settings as the web servers (the broker in
``DASHAPP_CELERY_BROKER``, the state database in ``DASHAPP_STATE_URL``), which registers
the background callbacks as Celery tasks.
"""

from __future__ import annotations

from dashapp.app import build
from dashapp.migrations import SchemaError
from dashapp.settings import Settings, SettingsError

try:
    _settings = Settings.from_env()
    if not _settings.celery_broker:
        raise SettingsError("DASHAPP_CELERY_BROKER is not set: there is nothing for a worker to do")
    celery = build(_settings).celery
except (SchemaError, SettingsError) as _exc:  # one line, no traceback
    raise SystemExit(f"dashapp worker: {_exc}") from None
