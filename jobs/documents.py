"""The JSON documents of the jobs API: a job, its details, trainers, log lines (plain dicts).

``base`` is where the API is served, e.g. ``/tools/dashapp/api/``: every URL in a document
is absolute on this server, so a script can follow it as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from jobs.params import TEXT, Param
from jobs.query import LogLine, Run
from jobs.registry import Registry
from jobs.store import QUEUED, JobStore
from jobs.trainer import Trainer


def iso(at: datetime | None) -> str | None:
    """A stored (UTC, naive) time as ISO 8601 with ``Z``."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def job_document(
    run: Run, *, base: str, final: dict[str, float], position: int | None = None
) -> dict[str, Any]:
    """What the API says of a job in a list: status, progress, final metrics, links."""
    return {
        "id": run.id,
        "name": run.name,
        "tags": list(run.tags),
        "trainer": run.trainer,
        "user": run.user,
        "status": run.status,
        "params": run.params,
        "progress": run.progress or None,
        "queue_position": position if run.status == QUEUED else None,
        "device": run.device,
        "error": run.error,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "final_metrics": final,
        "url": f"{base}jobs/{run.id}",
    }


def job_detail(
    store: JobStore, run: Run, *, base: str, final: dict[str, float], position: int | None
) -> dict[str, Any]:
    """Everything the API says of one job: its metrics' series, artifacts, log and weights."""
    doc = job_document(run, base=base, final=final, position=position)
    doc["metrics"] = {
        name: [[step, value] for step, value in points]
        for name, points in store.metrics(run.id).items()
    }
    doc["artifacts"] = [
        {
            "id": a["id"],
            "name": a["name"],
            "step": a["step"],
            "created_at": iso(a["at"]),
            "url": f"{base}jobs/{run.id}/artifacts/{a['id']}",
        }
        for a in store.artifacts(run.id)
    ]
    doc["log_url"] = f"{base}jobs/{run.id}/log"
    doc["cancel_url"] = f"{base}jobs/{run.id}/cancel"
    doc["traceback"] = run.traceback
    return doc


def param_document(p: Param) -> dict[str, Any]:
    """One parameter of a trainer's schema."""
    doc: dict[str, Any] = {
        "name": p.name,
        "type": p.type,
        "label": p.title,
        "help": p.help,
        "default": p.default,
    }
    if p.minimum is not None:
        doc["minimum"] = p.minimum
    if p.maximum is not None:
        doc["maximum"] = p.maximum
    if p.choices:
        doc["choices"] = list(p.choices)
    if p.type == TEXT:
        doc["max_length"] = p.max_length
    return doc


def trainer_document(trainer: Trainer) -> dict[str, Any]:
    """A trainer and its parameter schema."""
    return {
        "name": trainer.name,
        "title": trainer.title,
        "description": trainer.description,
        "params": [param_document(p) for p in trainer.params],
    }


def trainers_document(registry: Registry) -> dict[str, Any]:
    """Every trainer that can run, and those declared that cannot (with the reason)."""
    return {
        "trainers": [trainer_document(t) for t in registry.trainers.values()],
        "unavailable": [
            {"name": u.name, "source": u.source, "reason": u.reason} for u in registry.unavailable
        ],
    }


def log_document(lines: Sequence[LogLine], *, after: int, more: bool, total: int) -> dict[str, Any]:
    """One page of a job's log; ``next_after`` is the ``after`` of the next page."""
    return {
        "lines": [{"id": x.id, "at": iso(x.at), "line": x.line} for x in lines],
        "next_after": lines[-1].id if lines else after,
        "more": more,
        "total": total,
    }
