"""Callbacks of the Training and job pages: each a thin adapter over a plain function."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from dash import ALL, MATCH, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from callbacks import training_job, training_runs
from components import job as job_parts
from components import training as view
from components.common import message
from components.ids import Training
from dashapp.deps import Deps
from dashapp.identity import Identity
from jobs import registry
from jobs import service as jobs_service
from jobs.files import artifacts_root
from jobs.launcher import release_inherited_sockets
from jobs.query import queue_position
from jobs.runner import LostJobWatch, supervise
from jobs.service import body_revision, header_signature, job_view, launch
from jobs.store import PAGE, QUEUED, WORKER, JobStore


def start(
    store: JobStore,
    trainer: Any,
    ids: list[Any],
    values: list[Any],
    user: str,
    context: Any = None,
    files: Path | None = None,
) -> dict[str, Any]:
    """Validate the form and queue the job; returns what the page should show.

    ``files``: the artifacts folder, checked by a real write before anything is queued.
    """
    ids = ids if isinstance(ids, list) else []
    values = values if isinstance(values, list) else []
    pairs = zip(ids, values, strict=False)  # a forged request may send fewer values
    raw = {i["name"]: v for i, v in pairs if isinstance(i, dict) and isinstance(i.get("name"), str)}
    names = list(raw)
    result = launch(store, trainer, raw, user, context, files=files)
    field_errors = [result.errors.get(n, "") for n in names]
    general = result.errors.get("") or "; ".join(
        f"{k}: {v}" for k, v in result.errors.items() if k not in names and k
    )
    return {
        "job_id": result.job_id,
        "names": names,
        "field_errors": field_errors,
        "general": general,
    }


def shown_fields(outputs: Any) -> list[str]:
    """The parameter names of a pattern-matched output list, in the page's order."""
    specs = outputs if isinstance(outputs, list) else []
    ids = [o.get("id") if isinstance(o, dict) else None for o in specs]
    names = [i.get("name") if isinstance(i, dict) else None for i in ids]
    return [n if isinstance(n, str) else "" for n in names]


def form_for(store: JobStore, name: Any, prefill: Any) -> tuple[Any, Any]:
    """The form of a trainer, pre-filled from an earlier job ("Run again") or a grid view."""
    try:
        trainer = registry.get(name)
    except (KeyError, TypeError):
        raise PreventUpdate from None
    values = jobs_service.prefill(store, trainer, prefill)
    return view.form(trainer.name, values or None), trainer.description


def poll(
    store: JobStore, job_id: Any, prev_sig: Any, prev_rev: Any, watch: LostJobWatch | None = None
) -> tuple[Any, Any, Any]:
    """One poll: the header when it changed, and a new revision when the body must redraw.

    Reads a single row; the heavier metrics/artifacts/log reads happen only on a new revision.
    ``watch`` fails jobs whose process died (every few seconds at most).
    """
    if not isinstance(job_id, str) or not job_id:
        hint = html.P(
            "Start a job, or pick one in the list, to follow it here.",
            className="small text-body-secondary mb-0",
        )
        return (hint, "none", None) if prev_sig != "none" else (no_update, no_update, no_update)
    if watch is not None:
        watch.maybe_sweep(store)
    job = store.get(job_id)
    if job is None:
        return (
            message(f"There is no job {job_id[:40]!r}."),
            None,
            None,
        )
    position = queue_position(store, job.id) if job.status == QUEUED else None
    sig, rev = f"{header_signature(job)}|{position}", body_revision(job)
    return (
        no_update if sig == prev_sig else job_parts.job_header(job, position),
        no_update if sig == prev_sig else sig,
        no_update if rev == prev_rev else rev,
    )


def body(store: JobStore, job_id: Any, log_y: Any = False, smoothing: Any = 0) -> Any:
    """The job's metrics panels, facts, gallery and parameters."""
    data = job_view(store, job_id) if isinstance(job_id, str) and job_id else None
    if data is None:
        return None
    return job_parts.job_body(
        data, log_y=log_y is True, smoothing=training_job.smoothing_of(smoothing)
    )


def cancel(store: JobStore, job_id: str, who: Identity) -> str:
    """Ask a job to stop, if ``who`` started it or is an admin; says what happened."""
    return jobs_service.cancel(store, job_id, user=who.name, admin=who.admin)


def form_update(store: JobStore, name: Any, prefill: Any, shown: Any) -> tuple[Any, Any]:
    """The form and description for the chosen trainer, the form only when it must change.

    The layout draws the first trainer's form, with a grid view's values already in it; drawing
    it again would replace the fields under the fingers of someone already typing. It is
    redrawn for another trainer, or to fill in an earlier job's parameters ("Run again").
    """
    fields, description = form_for(store, name, prefill)
    run_again = isinstance(prefill, dict) and bool(prefill.get("job"))
    if not run_again and same_form(name, shown):
        fields = no_update
    return fields, description


def same_form(trainer: Any, shown: Any) -> bool:
    """Whether the fields on the page are exactly those of ``trainer``'s parameters."""
    try:
        wanted = {p.name for p in registry.get(trainer).params}
    except (KeyError, TypeError):
        return False
    names = {i.get("name") for i in shown or [] if isinstance(i, dict)}
    return names == wanted


def register(app: Dash, deps: Deps) -> None:
    """Wire the Training and job pages."""
    settings = deps.settings
    state_url, data_dir, max_jobs = settings.state_url, Path(settings.data_dir), settings.max_jobs

    @app.callback(
        Output(Training.FORM, "children"),
        Output(Training.DESCRIPTION, "children"),
        Input(Training.TRAINER, "value"),
        State(Training.RUN_AGAIN, "data"),
        State({"type": "training-param", "name": ALL}, "id"),
    )
    def _form(name: Any, run_again: Any, shown: list[Any]) -> tuple[Any, ...]:
        return form_update(deps.job_store, name, run_again, shown)

    @app.callback(
        Output(Training.LAUNCHES, "children"),
        Output(Training.CURRENT, "data"),
        Output(Training.FORM_ERROR, "children"),
        Output(Training.FORM_ERROR, "is_open"),
        Output({"type": "training-param", "name": ALL}, "invalid"),
        Output({"type": "training-param-error", "name": ALL}, "children"),
        Input(Training.START, "n_clicks"),
        State(Training.TRAINER, "value"),
        State({"type": "training-param", "name": ALL}, "id"),
        State({"type": "training-param", "name": ALL}, "value"),
        # One click, one job: disabled while the request is in flight (and assets/training.js
        # drops a second click that comes before Dash has disabled it).
        running=[(Output(Training.START, "disabled"), True, False)],
        prevent_initial_call=True,
    )
    def _start(_: Any, trainer: Any, ids: list[Any], values: list[Any]) -> tuple[Any, ...]:
        out = start(
            deps.job_store,
            trainer,
            ids,
            values,
            user=deps.current_user().name,
            context=deps.catalog,
            files=None if settings.celery_broker else artifacts_root(data_dir),
        )
        # One error per field shown (the outputs Dash asks for), matched by name.
        errors = dict(zip(out["names"], out["field_errors"], strict=True))
        field_errors = [errors.get(n, "") for n in shown_fields(ctx.outputs_list[4])]
        invalid = [bool(e) for e in field_errors]
        if out["job_id"] is None:
            msg = out["general"] or "Please correct the highlighted fields."
            return no_update, no_update, msg, True, invalid, field_errors
        job_id = out["job_id"]
        # One pair of stores per job: a background callback instance of its own. They
        # replace the previous job's pair (whose launcher is done: see _run) rather than
        # join them: Dash fires the launchers of every store in a redrawn list again, each
        # in a fork of this threaded worker, all at once.
        launches = [
            dcc.Store(id=Training.launch(job_id), data={"job": job_id, "nonce": uuid.uuid4().hex}),
            dcc.Store(id=Training.launch_done(job_id)),
        ]
        return launches, job_id, None, False, invalid, field_errors

    database_url = settings.database_url
    # Without Celery the background callback runs in a fork of this web worker (Dash's
    # DiskcacheManager); with it, in a Celery worker (which must keep its own sockets).
    forked = not settings.celery_broker

    @app.callback(
        Output({"type": "training-launch-done", "job": MATCH}, "data"),
        Input({"type": "training-launch", "job": MATCH}, "data"),
        background=True,
    )
    def _run(launch_data: Any) -> Any:
        # Runs in the background-callback process, which supervises the job: the job itself
        # runs in a fresh interpreter (see jobs.runner.start_process), so cancel, progress and
        # results all go through the state database.
        if forked:  # first of all: a fork holding the server's sockets blocks its restart
            release_inherited_sockets()
        if not isinstance(launch_data, dict) or not isinstance(launch_data.get("job"), str):
            raise PreventUpdate
        launcher = PAGE if forked else WORKER
        job_id = launch_data["job"]
        # Started, not waited for, on the web host: Dash terminates a background callback
        # still running when the same output is asked for again, with every process under
        # it (the job's too), and a launcher redrawn is asked for again. A repeated launcher
        # finds its job taken and ends at once.
        return supervise(
            state_url, data_dir, job_id, database_url, max_jobs, launcher, wait=not forked
        )

    @app.callback(
        Output(Training.HEADER, "children"),
        Output(Training.SIGNATURE, "data"),
        Output(Training.REVISION, "data"),
        Input(Training.TICK, "n_intervals"),
        Input(Training.CURRENT, "data"),
        State(Training.SIGNATURE, "data"),
        State(Training.REVISION, "data"),
    )
    def _poll(_: Any, job_id: Any, prev_sig: Any, prev_rev: Any) -> tuple[Any, ...]:
        return poll(deps.job_store, job_id, prev_sig, prev_rev, deps.lost_jobs)

    @app.callback(
        Output(Training.BODY, "children"),
        Input(Training.REVISION, "data"),
        Input(Training.METRICS_LOG, "value"),
        Input(Training.METRICS_SMOOTH, "value"),
        State(Training.CURRENT, "data"),
    )
    def _body(_: Any, log_y: Any, smoothing: Any, job_id: Any) -> Any:
        return body(deps.job_store, job_id, log_y, smoothing)

    @app.callback(
        Output(Training.CANCEL_NOTE, "children"),
        Input(Training.CANCEL, "n_clicks"),
        State(Training.CURRENT, "data"),
        prevent_initial_call=True,
    )
    def _cancel(clicks: Any, job_id: Any) -> Any:
        if not clicks or not isinstance(job_id, str):
            raise PreventUpdate
        return cancel(deps.job_store, job_id, deps.current_user())

    training_job.register(app, deps)
    training_runs.register(app, deps)
