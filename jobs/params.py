"""Trainer parameter schemas and their validation (the form and the server share these)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

INT, FLOAT, CHOICE, BOOL, TEXT = "int", "float", "choice", "bool", "text"
KINDS = (INT, FLOAT, CHOICE, BOOL, TEXT)


@dataclass(frozen=True)
class Param:
    """One parameter of a trainer: its type, default, bounds or choices, and help text."""

    name: str
    type: str
    default: Any
    help: str
    label: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: Sequence[Any] = field(default_factory=tuple)
    max_length: int = 200

    @property
    def title(self) -> str:
        """Label shown in the form."""
        return self.label or self.name.replace("_", " ").capitalize()


def _number(p: Param, raw: Any) -> tuple[Any, str | None]:
    """Parse and bound-check an int or float parameter."""
    if isinstance(raw, bool) or raw is None or raw == "":
        return None, "a number is required"
    try:
        value: Any = float(raw) if p.type == FLOAT else int(str(raw).strip())
    except (TypeError, ValueError):
        kind = "a number" if p.type == FLOAT else "a whole number"
        return None, f"must be {kind}"
    if p.type == FLOAT and not math.isfinite(value):
        return None, "must be a finite number"
    if p.minimum is not None and value < p.minimum:
        return None, f"must be at least {p.minimum:g}"
    if p.maximum is not None and value > p.maximum:
        return None, f"must be at most {p.maximum:g}"
    return value, None


def validate(params: Sequence[Param], raw: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Check untrusted values against a schema: (clean values, error message per field).

    Missing values take the default; unknown names are refused.
    """
    if not isinstance(raw, Mapping):
        return {}, {"": "parameters must be an object"}
    errors: dict[str, str] = {}
    known = {p.name for p in params}
    for name in raw:
        if name not in known:
            errors[str(name)[:50]] = "unknown parameter"
    values: dict[str, Any] = {}
    for p in params:
        value = raw.get(p.name, p.default)
        if value is None and p.default is None:
            values[p.name] = None
            continue
        error: str | None = None
        if p.type in (INT, FLOAT):
            value, error = _number(p, value)
        elif p.type == BOOL:
            if not isinstance(value, bool):
                error = "must be true or false"
        elif p.type == CHOICE:
            if value not in p.choices:
                error = "must be one of " + ", ".join(map(str, p.choices))
        elif p.type == TEXT:
            if not isinstance(value, str):
                error = "must be text"
            elif len(value) > p.max_length:
                error = f"must be at most {p.max_length} characters"
        else:  # pragma: no cover - a schema bug, not user input
            raise ValueError(f"unknown parameter type {p.type!r}")
        if error:
            errors[p.name] = error
        else:
            values[p.name] = value
    return values, errors
