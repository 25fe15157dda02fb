"""Logs as one JSON object per line, each request with its id, user and duration."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")
FIELDS = ("request_id", "user", "method", "path", "status", "duration_ms", "remote", "bytes")
access_log = logging.getLogger("dashapp.access")


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON (time, level, logger, message and request fields)."""

    def format(self, record: logging.LogRecord) -> str:
        """The JSON line for ``record``."""
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def gunicorn_logconfig(level: str) -> dict[str, Any]:
    """``logconfig_dict`` for gunicorn: everything (ours and gunicorn's) as JSON on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "dashapp.web.logs.JsonFormatter"}},
        "handlers": {"console": handler},
        "root": {"level": level.upper(), "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            # Alembic narrates every start-up; dashapp.migrations logs what it changed.
            "alembic": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def install(server: Flask, user_of: Any) -> None:
    """Give every request an id (``X-Request-Id`` in and out) and log it when answered."""

    @server.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if REQUEST_ID_RE.fullmatch(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @server.after_request
    def _done(resp: Response) -> Response:
        rid = g.get("request_id") or uuid.uuid4().hex
        resp.headers["X-Request-Id"] = rid
        started = g.get("started")
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            resp.status_code,
            extra={
                "request_id": rid,
                "user": user_of().name,
                "method": request.method,
                "path": request.path,
                "status": resp.status_code,
                "duration_ms": None
                if started is None
                else round((time.perf_counter() - started) * 1000, 1),
                "remote": request.remote_addr,
                # The header only: computing the length would buffer a streamed body (the
                # CSV export) whole in memory.
                "bytes": resp.content_length,
            },
        )
        return resp
