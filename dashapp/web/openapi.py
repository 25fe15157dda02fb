"""The OpenAPI 3 document of the jobs API (``<prefix>api/openapi.json``), written by hand.

tests/integration/test_api.py checks that it names exactly the routes and methods the
server has, and that every reference in it resolves.
"""

from __future__ import annotations

from typing import Any

from dashapp.web.openapi_schemas import STATUSES, TEXT, TIME, json_body, ref, responses, schemas

SORTS = (
    "created_at, started_at, finished_at, status, trainer, user, name, duration or metric:<name>"
)


def answer(name: str) -> dict[str, str]:
    """A reference to a shared response of the document."""
    return {"$ref": f"#/components/responses/{name}"}


def errors(*codes: int) -> dict[str, Any]:
    """The shared error responses for ``codes`` (plus those every route can give)."""
    names = {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        405: "MethodNotAllowed",
        409: "Conflict",
        413: "TooLarge",
        415: "NotJson",
        429: "TooManyAttempts",
        503: "Unavailable",
    }
    every = {401, 403, 405, 429, 503}
    return {str(c): answer(names[c]) for c in sorted({*codes, *every})}


def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def path(name: str, description: str) -> dict[str, Any]:
    """A path parameter."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


JOB_ID = path("job_id", "The job's id (32 hex digits).")


def body(name: str) -> dict[str, Any]:
    """A required JSON request body with schema ``name``."""
    return {"required": True, "content": {"application/json": {"schema": ref(name)}}}


def operations() -> dict[str, Any]:
    """Every route (relative to the API's base) and its operations."""
    changes: list[dict[str, list[str]]] = [
        {"basic": []},
        {"portal": []},
        {"session": [], "csrf": []},
    ]
    listing = [
        query(
            "status",
            "Any of these statuses (repeat, or comma-separate).",
            {"type": "array", "items": {"type": "string", "enum": STATUSES}},
        ),
        query("trainer", "Any of these trainers.", {"type": "array", "items": TEXT}),
        query(
            "user",
            "Any of these users (admins only, for others than yourself).",
            {"type": "array", "items": TEXT},
        ),
        query("name", "The name contains this (any case).", TEXT),
        query("q", "Quick search: the name, id or a tag contains this.", TEXT),
        query("tag", "Has this tag (whole, any case).", TEXT),
        query("since", "Created at or after (ISO 8601; UTC unless it says).", TIME),
        query("until", "Created before (ISO 8601).", TIME),
        query("sort", f"One of {SORTS}.", {"type": "string", "default": "created_at"}),
        query(
            "order", "asc or desc.", {"type": "string", "enum": ["asc", "desc"], "default": "desc"}
        ),
        query("offset", "Jobs to skip.", {"type": "integer", "minimum": 0, "default": 0}),
        query(
            "limit",
            "Jobs per page.",
            {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
        ),
    ]
    return {
        "/api/jobs": {
            "get": {
                "summary": "Your jobs (an admin's: everyone's), filtered and paged, newest first.",
                "operationId": "listJobs",
                "parameters": listing,
                "responses": {"200": json_body(ref("JobList"), "One page of jobs."), **errors(400)},
            },
            "post": {
                "summary": "Start a job: it is queued and launched at once, no browser needed.",
                "operationId": "startJob",
                "security": changes,
                "requestBody": body("JobRequest"),
                "responses": {
                    "201": json_body(ref("JobDetail"), "The job, queued."),
                    **errors(400, 413, 415),
                },
            },
        },
        "/api/jobs/{job_id}": {
            "parameters": [JOB_ID],
            "get": {
                "summary": "One job: status, progress, metrics, artifacts with their URLs.",
                "operationId": "getJob",
                "responses": {"200": json_body(ref("JobDetail"), "The job."), **errors(404)},
            },
            "patch": {
                "summary": "Rename and/or retag a job (who started it, or an admin).",
                "operationId": "editJob",
                "security": changes,
                "requestBody": body("JobEdit"),
                "responses": {
                    "200": json_body(ref("JobDetail"), "The job."),
                    **errors(400, 404, 413, 415),
                },
            },
            "delete": {
                "summary": "Delete an ended job with its metrics, log, artifacts and files.",
                "operationId": "deleteJob",
                "security": changes,
                "responses": {"200": json_body(ref("Deleted"), "Deleted."), **errors(404, 409)},
            },
        },
        "/api/jobs/{job_id}/cancel": {
            "parameters": [JOB_ID],
            "post": {
                "summary": "Stop a job (a queued one at once).",
                "operationId": "cancelJob",
                "security": changes,
                "responses": {
                    "200": json_body(ref("Cancelled"), "Stopping, or cancelled."),
                    **errors(404, 409),
                },
            },
        },
        "/api/jobs/{job_id}/artifacts/{art_id}": {
            "parameters": [
                JOB_ID,
                path("art_id", "The artifact's id (from the job's `artifacts`)."),
            ],
            "get": {
                "summary": "An image a job made.",
                "operationId": "getArtifact",
                "responses": {
                    "200": {
                        "description": "The PNG.",
                        "content": {
                            "image/png": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    **errors(404),
                },
            },
        },
        "/api/jobs/{job_id}/log": {
            "parameters": [JOB_ID],
            "get": {
                "summary": "The job's whole log, oldest first, a page at a time.",
                "operationId": "getLog",
                "parameters": [
                    query(
                        "after",
                        "Lines after this line id (0: from the start).",
                        {"type": "integer", "minimum": 0, "default": 0},
                    ),
                    query(
                        "limit",
                        "Lines per page.",
                        {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
                    ),
                ],
                "responses": {
                    "200": json_body(ref("LogPage"), "One page of the log."),
                    **errors(400, 404),
                },
            },
        },
        "/api/trainers": {
            "get": {
                "summary": "Each trainer's parameter schema, and declared ones that cannot run.",
                "operationId": "listTrainers",
                "responses": {"200": json_body(ref("Trainers"), "The trainers."), **errors()},
            },
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document.",
                "operationId": "getOpenApi",
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {}},
                    },
                    **errors(),
                },
            },
        },
    }


def document(prefix: str, user_header: str = "") -> dict[str, Any]:
    """The whole OpenAPI document for an app served under ``prefix``."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "dashapp jobs API",
            "version": "1",
            "description": (
                "Start, follow and manage training jobs from scripts. The same users as the app:"
                " HTTP Basic (standalone users), the portal's user header through the trusted"
                " proxy, or a sign-in session; a session must also send its X-CSRF-Token header"
                " on POST, PATCH and DELETE. Each user sees their own jobs; admins see all."
            ),
        },
        "servers": [{"url": prefix.rstrip("/") or "/"}],
        "security": [{"basic": []}, {"portal": []}, {"session": []}],
        "paths": operations(),
        "components": {
            "schemas": schemas(),
            "responses": responses(),
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "portal": {
                    "type": "apiKey",
                    "in": "header",
                    "name": user_header or "X-Forwarded-User",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "dashapp_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }
