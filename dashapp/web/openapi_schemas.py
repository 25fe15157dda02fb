"""The schemas and shared responses of the jobs API's OpenAPI document (``openapi.py``)."""

from __future__ import annotations

from typing import Any

STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"]
TEXT = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}


def ref(name: str) -> dict[str, str]:
    """A reference to a schema of the document."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A JSON response with ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def schemas() -> dict[str, Any]:
    """The document's schemas."""
    metrics = {"type": "object", "additionalProperties": {"type": "number"}}
    job = {
        "type": "object",
        "required": [
            "id",
            "name",
            "tags",
            "trainer",
            "user",
            "status",
            "params",
            "created_at",
            "url",
        ],
        "properties": {
            "id": TEXT,
            "name": TEXT,
            "tags": {"type": "array", "items": TEXT},
            "trainer": TEXT,
            "user": TEXT,
            "status": {"type": "string", "enum": STATUSES},
            "params": {"type": "object", "additionalProperties": True},
            "progress": {
                "type": "object",
                "nullable": True,
                "description": "step, total, epoch, epochs, percent, elapsed_s, eta_s",
                "additionalProperties": True,
            },
            "queue_position": {
                "type": "integer",
                "nullable": True,
                "description": "1: next to start",
            },
            "device": {"type": "string", "nullable": True},
            "error": {"type": "string", "nullable": True},
            "created_at": TIME,
            "started_at": NULLABLE_TIME,
            "finished_at": NULLABLE_TIME,
            "final_metrics": {**metrics, "description": "each metric's last value"},
            "url": TEXT,
        },
    }
    detail = {
        "allOf": [
            ref("Job"),
            {
                "type": "object",
                "properties": {
                    "metrics": {
                        "type": "object",
                        "description": "each metric's [step, value] pairs, in order",
                        "additionalProperties": {
                            "type": "array",
                            "items": {"type": "array", "items": {"type": "number"}},
                        },
                    },
                    "artifacts": {"type": "array", "items": ref("Artifact")},
                    "log_url": TEXT,
                    "cancel_url": TEXT,
                    "traceback": {"type": "string", "nullable": True},
                },
            },
        ]
    }
    param = {
        "type": "object",
        "required": ["name", "type", "label", "help", "default"],
        "properties": {
            "name": TEXT,
            "type": {"type": "string", "enum": ["int", "float", "choice", "bool", "text"]},
            "label": TEXT,
            "help": TEXT,
            "default": {"nullable": True},
            "minimum": {"type": "number"},
            "maximum": {"type": "number"},
            "choices": {"type": "array", "items": {}},
            "max_length": {"type": "integer"},
        },
    }
    tags = {
        "type": "array",
        "maxItems": 20,
        "items": {"type": "string", "maxLength": 40},
        "description": "letters, digits, spaces and . : / + = @ # - _ (no commas)",
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": TEXT,
                "fields": {
                    "type": "object",
                    "additionalProperties": TEXT,
                    "description": "a message per field",
                },
            },
        },
        "Job": job,
        "JobDetail": detail,
        "JobList": {
            "type": "object",
            "required": ["jobs", "total", "offset", "limit"],
            "properties": {
                "jobs": {"type": "array", "items": ref("Job")},
                "total": {"type": "integer"},
                "offset": {"type": "integer"},
                "limit": {"type": "integer"},
                "next": {"type": "string", "nullable": True, "description": "the next page's URL"},
            },
        },
        "JobRequest": {
            "type": "object",
            "required": ["trainer"],
            "additionalProperties": False,
            "properties": {
                "trainer": TEXT,
                "params": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "missing ones take their default",
                },
                "name": {"type": "string", "maxLength": 200},
                "tags": tags,
            },
        },
        "JobEdit": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"name": {"type": "string", "maxLength": 200}, "tags": tags},
        },
        "Cancelled": {
            "type": "object",
            "required": ["message", "job"],
            "properties": {"message": TEXT, "job": ref("JobDetail")},
        },
        "Deleted": {
            "type": "object",
            "required": ["deleted"],
            "properties": {"deleted": TEXT, "message": TEXT},
        },
        "Artifact": {
            "type": "object",
            "required": ["id", "name", "step", "url"],
            "properties": {
                "id": {"type": "integer"},
                "name": TEXT,
                "step": {"type": "integer"},
                "created_at": TIME,
                "url": TEXT,
            },
        },
        "Param": param,
        "Trainer": {
            "type": "object",
            "required": ["name", "title", "description", "params"],
            "properties": {
                "name": TEXT,
                "title": TEXT,
                "description": TEXT,
                "params": {"type": "array", "items": ref("Param")},
            },
        },
        "Unavailable": {
            "type": "object",
            "required": ["name", "source", "reason"],
            "properties": {"name": TEXT, "source": TEXT, "reason": TEXT},
        },
        "Trainers": {
            "type": "object",
            "required": ["trainers", "unavailable"],
            "properties": {
                "trainers": {"type": "array", "items": ref("Trainer")},
                "unavailable": {"type": "array", "items": ref("Unavailable")},
            },
        },
        "LogPage": {
            "type": "object",
            "required": ["lines", "next_after", "more", "total"],
            "properties": {
                "lines": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"id": {"type": "integer"}, "at": TIME, "line": TEXT},
                    },
                },
                "next_after": {
                    "type": "integer",
                    "description": "pass as `after` for the next page",
                },
                "more": {"type": "boolean"},
                "total": {"type": "integer"},
            },
        },
    }


def responses() -> dict[str, Any]:
    """The shared error responses."""
    said = {
        "BadRequest": "Bad input: `fields` names each problem.",
        "Unauthorized": "No user, or wrong HTTP Basic credentials.",
        "Forbidden": (
            "Not allowed: another user's list, a cross-site or token-less browser call, or no"
            " portal user."
        ),
        "NotFound": "No such job of yours (or no such artifact, or route).",
        "MethodNotAllowed": "This route does not take that method (see `Allow`).",
        "Conflict": "Not now: the job has already ended (cancel) or has not ended yet (delete).",
        "TooLarge": "The body is over 1 MB.",
        "NotJson": "The body must be JSON (`Content-Type: application/json`).",
        "TooManyAttempts": "Too many failed sign-ins; `Retry-After` says when to try again.",
        "Unavailable": "The state database (or the server's disk) cannot be used now; try again.",
    }
    return {name: json_body(ref("Error"), text) for name, text in said.items()}
