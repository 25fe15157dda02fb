"""What the Training page asks of the job machinery, as plain functions."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs import registry
from jobs.files import check_writable, disk_problem
from jobs.manage import check_labels, delete_job, set_labels
from jobs.params import validate
from jobs.store import FINAL, Job, JobStore
from jobs.trainer import Trainer

# What became of a request on one job (the API answers 200, 404, 403, 409 and 400).
OK, NOT_FOUND, FORBIDDEN, CONFLICT, INVALID = "ok", "not found", "forbidden", "conflict", "invalid"


@dataclass(frozen=True)
class Launch:
    """The result of asking for a job: its id, or the message per field.

    ``server_fault``: the request was fine but the server cannot take a job now (its disk).
    """

    job_id: str | None
    errors: dict[str, str]
    server_fault: bool = False


def launch(
    store: JobStore,
    trainer_name: Any,
    raw_params: Any,
    user: str,
    context: Any = None,
    *,
    files: Path | None = None,
    name: Any = None,
    tags: Any = None,
) -> Launch:
    """Validate a job request and store it as queued (nothing runs yet).

    ``context`` is what a trainer's ``check`` may consult (the browsed database's catalog);
    ``files``: the folder the job's files go to, checked by a real write first (a job that
    cannot write its weights is refused now, with the reason, not failed later);
    ``name``/``tags``: the run's label (``jobs.manage.check_labels``).
    """
    if not isinstance(trainer_name, str):
        return Launch(None, {"": "choose a trainer"})
    try:
        trainer = registry.get(trainer_name)
    except KeyError as exc:
        return Launch(None, {"": str(exc.args[0])})
    values, errors = validate(trainer.params, raw_params)
    if not errors and trainer.check is not None:
        errors = trainer.check(values, context)
    labels = check_labels(name, tags)
    errors = {**errors, **labels.errors}
    if errors:
        return Launch(None, errors)
    problem = check_writable(files) if files is not None else None
    if problem:
        return Launch(None, {"": f"The job was not started: {problem}."}, server_fault=True)
    try:
        job_id = store.create(
            trainer.name, values, user, name=labels.name or "", tags=labels.tags or ()
        )
        return Launch(job_id, {})
    except Exception as exc:  # the state database's own disk (SQLite beside the data)
        problem = disk_problem(exc)
        if problem is None:
            raise
        return Launch(None, {"": f"The job was not started: {problem}."}, server_fault=True)


@dataclass(frozen=True)
class Outcome:
    """What a request on one job came to (``OK``, ``NOT_FOUND``, ...) and what to tell."""

    code: str
    message: str
    errors: dict[str, str] | None = None


def may_change(job: Job, user: str, admin: bool) -> bool:
    """Whether ``user`` may cancel, rename or delete ``job`` (who started it, or an admin)."""
    return job.user == user or admin


def cancel_job(store: JobStore, job_id: str, *, user: str, admin: bool) -> Outcome:
    """Ask a job to stop, if ``user`` started it or is an admin."""
    job = store.get(job_id)
    if job is None:
        return Outcome(NOT_FOUND, "No such job.")
    if not may_change(job, user, admin):
        return Outcome(
            FORBIDDEN, f"Only {job.user} (who started it) or an admin can cancel this job."
        )
    if store.request_cancel(job_id):
        return Outcome(OK, "Stopping…")
    return Outcome(CONFLICT, "This job has already ended.")


def cancel(store: JobStore, job_id: str, *, user: str, admin: bool) -> str:
    """Ask a job to stop, if ``user`` started it or is an admin; says what happened."""
    return cancel_job(store, job_id, user=user, admin=admin).message


def relabel(
    store: JobStore, job_id: str, *, user: str, admin: bool, name: Any = None, tags: Any = None
) -> Outcome:
    """Rename and/or retag a job (``None``: unchanged), if ``user`` may change it."""
    job = store.get(job_id)
    if job is None:
        return Outcome(NOT_FOUND, "No such job.")
    if not may_change(job, user, admin):
        return Outcome(FORBIDDEN, f"Only {job.user} (who started it) or an admin can edit it.")
    labels = check_labels(name, tags)
    if labels.errors:
        return Outcome(INVALID, "Please correct the name or tags.", labels.errors)
    set_labels(store, job_id, name=labels.name, tags=labels.tags)
    return Outcome(OK, "Saved.")


def delete(
    store: JobStore, job_id: str, *, user: str, admin: bool, data_dir: Path | None
) -> Outcome:
    """Delete an ended job with everything it made, if ``user`` started it or is an admin."""
    job = store.get(job_id)
    if job is None:
        return Outcome(NOT_FOUND, "No such job.")
    if not may_change(job, user, admin):
        return Outcome(
            FORBIDDEN, f"Only {job.user} (who started it) or an admin can delete this job."
        )
    if not job.done:
        return Outcome(CONFLICT, "This job has not ended: cancel it first, then delete it.")
    if not delete_job(store, job_id, data_dir):
        return Outcome(NOT_FOUND, "No such job.")  # deleted meanwhile
    return Outcome(OK, "Deleted.")


def visible(job: Job, user: str, admin: bool) -> bool:
    """Whether the jobs API shows ``job`` to ``user``: their own jobs, or any to an admin."""
    return job.user == user or admin


def prefill(store: JobStore, trainer: Trainer, given: Any) -> dict[str, Any]:
    """Form values for ``trainer``: an earlier job's parameters ("Run again"), then a view's.

    ``given`` is what the page carries: ``{"job": id}`` and/or ``{"values": {name: text}}``.
    """
    given = given if isinstance(given, dict) else {}
    job_id = given.get("job")
    earlier = store.get(job_id) if isinstance(job_id, str) and job_id else None
    values: dict[str, Any] = {}
    if earlier is not None and earlier.trainer == trainer.name:
        values = dict(earlier.params)
    known = {p.name for p in trainer.params}
    typed = given.get("values")
    if isinstance(typed, dict):
        values.update({k: v for k, v in typed.items() if k in known and isinstance(v, str)})
    return values


def job_view(store: JobStore, job_id: str) -> dict[str, Any] | None:
    """Everything the job panel shows, in one read-only pass."""
    job = store.get(job_id)
    if job is None:
        return None
    return {
        "job": job,
        "metrics": store.metrics(job_id),
        "artifacts": store.artifacts(job_id),
        "logs": store.logs(job_id, last=12),
    }


def header_signature(job: Job) -> str:
    """Changes whenever the job's header (status, progress, actions) would look different."""
    return (
        f"{job.id}|{job.status}|{job.progress}|{job.error}|{job.weights_path}|{bool(job.revision)}"
    )


def body_revision(job: Job) -> str:
    """Changes whenever the job's metrics, log, artifacts or status change."""
    return f"{job.id}|{job.revision}|{job.status}"


def artifacts_zip(store: JobStore, job_id: str) -> bytes | None:
    """A job's image artifacts as a zip archive (None if the job does not exist)."""
    if store.get(job_id) is None:
        return None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for art in store.artifacts(job_id):
            data = store.artifact_bytes(art)
            if data is not None:
                zf.writestr(Path(art["path"]).name, data)
    return buf.getvalue()


def artifact_image(store: JobStore, art_id: Any) -> tuple[bytes, str]:
    """A finished job's image artifact: its bytes and a name; LookupError says why not."""
    try:
        number = int(art_id)
    except (TypeError, ValueError):
        number = 0
    # Ids are positive 64-bit integers; anything else (a forged URL) is simply not one.
    art = store.artifact(number) if 0 < number < 2**63 else None
    if art is None:
        raise LookupError("No such training artifact.")
    if art["status"] not in FINAL:
        raise LookupError("That job is still running; its images can be used once it ends.")
    data = store.artifact_bytes(art)
    if data is None:
        raise LookupError("That artifact's file is gone.")
    return data, f"{art['name']} (job {art['job_id'][:8]})"


def is_final(status: str) -> bool:
    """Whether a status is an end state."""
    return status in FINAL


@dataclass(frozen=True)
class Comparison:
    """Jobs of one trainer side by side: parameters (with differences) and their metrics."""

    jobs: list[Job]
    params: list[tuple[str, list[Any], bool]]
    metrics: dict[str, dict[str, list[tuple[int, float]]]]
    error: str | None = None


def compare(store: JobStore, job_ids: Any) -> Comparison:
    """Compare two or more jobs of the same trainer."""
    if not isinstance(job_ids, list) or len(job_ids) < 2:
        return Comparison([], [], {}, "Pick two or more jobs to compare.")
    found = [store.get(j) for j in job_ids[:8] if isinstance(j, str)]
    jobs = [j for j in found if j is not None]
    if len(jobs) < 2:
        return Comparison([], [], {}, "Pick two or more jobs to compare.")
    if len({j.trainer for j in jobs}) > 1:
        return Comparison(jobs, [], {}, "Only jobs of the same trainer can be compared.")
    names = sorted({k for j in jobs for k in j.params})
    params = []
    for name in names:
        values = [j.params.get(name) for j in jobs]
        params.append((name, values, len({repr(v) for v in values}) > 1))
    return Comparison(jobs, params, {j.id: store.metrics(j.id) for j in jobs})
