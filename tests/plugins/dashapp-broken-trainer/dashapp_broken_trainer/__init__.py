"""A trainer whose schema is wrong (a parameter of a type dashapp does not know)."""

from __future__ import annotations

from typing import Any

from jobs.params import Param
from jobs.trainer import Trainer


def train(rep: Any, p: dict[str, Any]) -> None:
    """Never runs."""


BAD_SCHEMA = Trainer(
    name="bad-schema",
    title="Bad schema",
    description="Declares a parameter of an unknown type.",
    params=(Param("layers", "tensor", None, "Not a type dashapp knows."),),
    train=train,
)
