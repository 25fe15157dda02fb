"""The Trainer type: what a trainer module (built in or a plugin) declares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobs.params import Param

if TYPE_CHECKING:
    from jobs.reporter import Reporter

TrainFn = Callable[["Reporter", dict[str, Any]], None]
# Checks parameters against the world outside the schema (e.g. the browsed database);
# returns a message per field. Runs before the job is queued.
CheckFn = Callable[[dict[str, Any], Any], dict[str, str]]


@dataclass(frozen=True)
class Trainer:
    """Something the Training page can run."""

    name: str
    title: str
    description: str
    params: Sequence[Param]
    train: TrainFn
    check: CheckFn | None = None
