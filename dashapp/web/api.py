"""The jobs API under ``<prefix>api/``: JSON for scripts and notebooks, with the page's rules.

Who asks is known before any route runs (``server.install_auth``: the portal's header from a
trusted proxy, HTTP Basic, or a sign-in session). A state-changing call (POST, PATCH,
DELETE) is refused when a browser says it comes from another site (``Sec-Fetch-Site``), and
from a sign-in session (a cookie) unless it carries the session's ``X-CSRF-Token``. Every
answer is JSON; every error is ``{"error": ...}`` with its status, never a page or a 500.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from dashapp.db import DatabaseBusy, DatabaseUnresponsive
from dashapp.deps import Deps
from dashapp.web import openapi, signin
from jobs import documents, registry
from jobs import service as jobs_service
from jobs.files import artifacts_root
from jobs.query import Run, final_metrics, get_run, log_count, log_lines, parse_query, query_runs
from jobs.query import queue_positions as places
from jobs.store import QUEUED

log = logging.getLogger("dashapp.api")

BODY_LIMIT = 1024 * 1024  # a job request is a few hundred bytes
DRAIN_LIMIT = 8 * 1024 * 1024
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CHANGES = {"POST", "PATCH", "DELETE"}
JOB_ID_RE = re.compile(r"[0-9a-f]{32}")
DATABASE_DOWN = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
    DatabaseUnresponsive,
    DatabaseBusy,
)
# Each route (under api/) and, per method, the name of its handler (openapi.py describes them).
ROUTES: dict[str, dict[str, str]] = {
    "jobs": {"GET": "list_jobs", "POST": "start_job"},
    "jobs/<job_id>": {"GET": "get_job", "PATCH": "edit_job", "DELETE": "delete_job"},
    "jobs/<job_id>/cancel": {"POST": "cancel_job"},
    "jobs/<job_id>/artifacts/<art_id>": {"GET": "artifact"},
    "jobs/<job_id>/log": {"GET": "job_log"},
    "trainers": {"GET": "trainers"},
    "openapi.json": {"GET": "openapi"},
}


class ApiError(Exception):
    """An answer other than success: its status, message and, for bad input, field errors."""

    def __init__(self, status: int, message: str, fields: Mapping[str, str] | None = None):
        """An error answered with ``status``."""
        super().__init__(message)
        self.status, self.message, self.fields = status, message, dict(fields or {})

    def response(self) -> Response:
        """The JSON answer."""
        return error(self.status, self.message, self.fields)


def error(status: int, message: str, fields: Mapping[str, str] | None = None) -> Response:
    """``{"error": message}`` (with ``fields`` when given) and ``status``."""
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = dict(fields)
    resp = jsonify(body)
    resp.status_code = status
    return resp


def json_object(allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object body (413, 415 or 400 when it is not one, or has unknown keys)."""
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        if request.content_length <= DRAIN_LIMIT:
            # Read and dropped: a client still sending would miss the answer otherwise (the
            # server closes the connection), and see a reset instead of this 413.
            while request.stream.read(64 * 1024):
                pass
        raise ApiError(413, f"the body is over {BODY_LIMIT // 1024} KB")
    if not request.is_json:
        raise ApiError(415, "send a JSON body, with Content-Type: application/json")
    request.max_content_length = BODY_LIMIT  # a body without a length is cut off here too
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    unknown = {str(k)[:50]: "unknown field" for k in body if k not in allowed}
    if unknown:
        raise ApiError(400, f"unknown fields; expected {', '.join(sorted(allowed))}", unknown)
    return body


def refuse_forgery() -> None:
    """403 for a state-changing call a browser was tricked into making (CSRF)."""
    site = request.headers.get("Sec-Fetch-Site", "")
    if site in ("cross-site", "same-site"):
        raise ApiError(403, "requests from other sites may not change anything here")
    session = signin.current_session()
    if session is not None and not signin.same_token(
        request.headers.get("X-CSRF-Token"), session.csrf
    ):
        raise ApiError(
            403,
            "a signed-in browser session must send its X-CSRF-Token header to change anything"
            " (scripts: send HTTP Basic credentials instead of the session cookie)",
        )


class JobsApi:
    """The handlers, each over the job domain (``jobs.service``, ``jobs.query``)."""

    def __init__(self, deps: Deps, base: str) -> None:
        """Serve ``deps``'s jobs, with URLs under ``base`` (``<prefix>api/``)."""
        self.deps, self.base = deps, base

    def _run(self, job_id: str) -> Run:
        """A job the caller may see (their own; any, for an admin), else 404."""
        who = self.deps.current_user()
        found = get_run(self.deps.job_store, job_id) if JOB_ID_RE.fullmatch(job_id) else None
        if found is None or not jobs_service.visible(found, who.name, who.admin):
            raise ApiError(404, f"no job {job_id[:40]!r} of yours")
        return found

    def _detail(self, run: Run) -> dict[str, Any]:
        """The full document of one job."""
        store = self.deps.job_store
        position = places(store, [run.id]).get(run.id) if run.status == QUEUED else None
        final = final_metrics(store, [run.id])[run.id]
        return documents.job_detail(store, run, base=self.base, final=final, position=position)

    def list_jobs(self) -> ResponseReturnValue:
        """GET api/jobs: one page of the caller's jobs (an admin's: anyone's), filtered."""
        who = self.deps.current_user()
        q, errors = parse_query(request.args.to_dict(flat=False))
        if errors:
            raise ApiError(400, "bad query", errors)
        if not who.admin:
            if any(u != who.name for u in q.user):
                raise ApiError(403, "only admins may list other users' jobs")
            q = replace(q, user=(who.name,))
        page = query_runs(self.deps.job_store, q)
        final, queue = page.final_metrics, page.queue_positions
        following = q.offset + len(page.jobs)
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "offset"]
        query = urlencode([*args, ("offset", str(following))])
        return {
            "jobs": [
                documents.job_document(
                    r, base=self.base, final=final[r.id], position=queue.get(r.id)
                )
                for r in page.jobs
            ],
            "total": page.total,
            "offset": q.offset,
            "limit": q.limit,
            "next": f"{self.base}jobs?{query}" if page.jobs and following < page.total else None,
        }

    def start_job(self) -> ResponseReturnValue:
        """POST api/jobs: validate and queue a job, then hand it to the launcher at once."""
        body = json_object({"trainer", "params", "name", "tags"})
        trainer, params = body.get("trainer"), body.get("params", {})
        names = ", ".join(registry.trainers())
        if not isinstance(trainer, str) or trainer not in registry.trainers():
            raise ApiError(400, "unknown trainer", {"trainer": f"one of {names}"})
        if not isinstance(params, dict):
            raise ApiError(400, "bad parameters", {"params": "must be an object"})
        deps, settings = self.deps, self.deps.settings
        result = jobs_service.launch(
            deps.job_store,
            trainer,
            params,
            deps.current_user().name,
            context=deps.catalog,
            files=None if settings.celery_broker else artifacts_root(settings.data_dir),
            name=body.get("name"),
            tags=body.get("tags"),
        )
        if result.job_id is None:
            if result.server_fault:
                raise ApiError(503, result.errors[""])
            top = {"name", "tags"}
            fields = {
                k if k in top else f"params.{k}" if k else "params": v
                for k, v in result.errors.items()
            }
            raise ApiError(400, "the job was not started: please correct the fields", fields)
        self._launch(result.job_id)
        run = get_run(deps.job_store, result.job_id)
        assert run is not None
        return self._detail(run), 201, {"Location": f"{self.base}jobs/{run.id}"}

    def _launch(self, job_id: str) -> None:
        """Hand a queued job to this server's launcher (a runner here, or a Celery task).

        A job the launcher cannot take now stays queued: every server's sweep launches such
        an orphan within seconds, so the answer is still 201.
        """
        sweeper = self.deps.job_sweeper
        if sweeper is None:
            return
        try:
            sweeper.launcher.launch(self.deps.job_store, job_id)
        except Exception as exc:  # the sweep takes over; the job is stored
            log.warning("job %s not launched at once (the sweep will): %s", job_id, exc)

    def get_job(self, job_id: str) -> ResponseReturnValue:
        """GET api/jobs/<id>: status, progress, metrics, artifacts (with their URLs)."""
        return self._detail(self._run(job_id))

    def edit_job(self, job_id: str) -> ResponseReturnValue:
        """PATCH api/jobs/<id>: rename and/or retag a job."""
        self._run(job_id)
        body = json_object({"name", "tags"})
        who = self.deps.current_user()
        store = self.deps.job_store
        outcome = jobs_service.relabel(
            store,
            job_id,
            user=who.name,
            admin=who.admin,
            name=body.get("name"),
            tags=body.get("tags"),
        )
        self._check(outcome)
        return self._detail(self._run(job_id))

    def delete_job(self, job_id: str) -> ResponseReturnValue:
        """DELETE api/jobs/<id>: remove an ended job with its metrics, log and files."""
        self._run(job_id)
        who = self.deps.current_user()
        outcome = jobs_service.delete(
            self.deps.job_store,
            job_id,
            user=who.name,
            admin=who.admin,
            data_dir=self.deps.settings.data_dir,
        )
        self._check(outcome)
        return {"deleted": job_id, "message": outcome.message}

    def cancel_job(self, job_id: str) -> ResponseReturnValue:
        """POST api/jobs/<id>/cancel: stop a job (a queued one at once)."""
        self._run(job_id)
        who = self.deps.current_user()
        outcome = jobs_service.cancel_job(
            self.deps.job_store, job_id, user=who.name, admin=who.admin
        )
        self._check(outcome)
        return {"message": outcome.message, "job": self._detail(self._run(job_id))}

    @staticmethod
    def _check(outcome: jobs_service.Outcome) -> None:
        """Raise the API's error for an outcome that is not a success."""
        status = {
            jobs_service.NOT_FOUND: 404,
            jobs_service.FORBIDDEN: 403,
            jobs_service.CONFLICT: 409,
            jobs_service.INVALID: 400,
        }.get(outcome.code)
        if status is not None:
            raise ApiError(status, outcome.message, outcome.errors)

    def artifact(self, job_id: str, art_id: str) -> ResponseReturnValue:
        """GET api/jobs/<id>/artifacts/<artifact id>: the image (PNG)."""
        self._run(job_id)
        store = self.deps.job_store
        arts = [a for a in store.artifacts(job_id) if str(a["id"]) == art_id]
        data = store.artifact_bytes(arts[0]) if arts else None
        if data is None:
            raise ApiError(404, f"job {job_id[:8]} has no artifact {art_id[:20]!r}")
        resp = Response(data, mimetype="image/png")
        resp.cache_control.max_age = 3600  # made private by the server's cache rules
        return resp

    def job_log(self, job_id: str) -> ResponseReturnValue:
        """GET api/jobs/<id>/log?after=<line id>&limit=<n>: the whole log, a page at a time."""
        self._run(job_id)
        after, limit = _int_arg("after", 0, 0, 2**62), _int_arg("limit", 1000, 1, 10_000)
        store = self.deps.job_store
        lines = log_lines(store, job_id, after_id=after, limit=limit + 1)
        return documents.log_document(
            lines[:limit], after=after, more=len(lines) > limit, total=log_count(store, job_id)
        )

    def trainers(self) -> ResponseReturnValue:
        """GET api/trainers: each trainer's parameter schema, and the unavailable ones."""
        return documents.trainers_document(registry.load())

    def openapi(self) -> ResponseReturnValue:
        """GET api/openapi.json: the OpenAPI 3 document of this API."""
        return openapi.document(self.deps.settings.url_prefix, self.deps.settings.user_header)


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number query argument within bounds, else 400."""
    raw = request.args.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise ApiError(400, "bad query", {name: f"a whole number from {lo} to {hi}"})
    return value


def dispatch(handlers: dict[str, Callable[..., ResponseReturnValue]]) -> Callable[..., Any]:
    """One route's view: its method's handler, or 405; errors answered as JSON."""
    allow = ", ".join([*sorted(handlers), *(["HEAD"] if "GET" in handlers else []), "OPTIONS"])

    def view(**kwargs: str) -> ResponseReturnValue:
        method = "GET" if request.method == "HEAD" else request.method
        if method == "OPTIONS":
            return Response(status=204, headers={"Allow": allow})
        handler = handlers.get(method)
        if handler is None:
            resp = error(405, f"{request.method} is not allowed here (allowed: {allow})")
            resp.headers["Allow"] = allow
            return resp
        try:
            if method in CHANGES:
                refuse_forgery()
            return handler(**kwargs)
        except ApiError as exc:
            return exc.response()
        except DATABASE_DOWN as exc:
            log.warning("%s %s: the state database is not answering: %s", method, request.path, exc)
            resp = error(503, "the state database is not answering; try again shortly")
            resp.headers["Retry-After"] = "5"
            return resp

    return view


def install(server: Flask, deps: Deps) -> None:
    """Attach the API's routes under ``<prefix>api/``, and JSON errors for every path there."""
    base = f"{deps.settings.url_prefix}api/"
    api = JobsApi(deps, base)
    for rule, methods in ROUTES.items():
        handlers = {m: getattr(api, name) for m, name in methods.items()}
        endpoint = "dashapp_api_" + re.sub(r"\W+", "_", rule)
        server.add_url_rule(
            base + rule,
            endpoint,
            dispatch(handlers),
            methods=METHODS,
            provide_automatic_options=False,
        )

    def unknown(rest: str = "") -> Response:
        return error(404, f"no such API route; the routes are listed in {base}openapi.json")

    for rule in ("", "<path:rest>"):
        server.add_url_rule(
            base + rule,
            "dashapp_api_unknown" + ("_rest" if rule else ""),
            unknown,
            methods=METHODS,
            provide_automatic_options=False,
        )

    @server.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        """An HTTP error on an API path (a body too large, ...) as JSON; elsewhere as it was."""
        if not request.path.startswith(base):
            return exc
        return error(exc.code or 500, exc.description or exc.name)

    @server.after_request
    def _json_refusals(resp: Response) -> Response:
        """Refusals made before any route (no user, wrong credentials, too many) as JSON."""
        if not request.path.startswith(base) or resp.status_code < 400 or resp.is_json:
            return resp
        text = resp.get_data(as_text=True).strip() or resp.status
        out = error(resp.status_code, text)
        for key in ("WWW-Authenticate", "Retry-After", "Set-Cookie", "Allow"):
            for value in resp.headers.getlist(key):
                out.headers.add(key, value)
        return out
