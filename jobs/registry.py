"""The trainer registry: a trainer is a name, a description, a parameter schema and a function."""

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


_REGISTRY: dict[str, Trainer] = {}


def register(trainer: Trainer) -> Trainer:
    """Add a trainer (a second one with the same name is a programming error)."""
    if trainer.name in _REGISTRY and _REGISTRY[trainer.name] is not trainer:
        raise ValueError(f"a trainer named {trainer.name!r} is already registered")
    _REGISTRY[trainer.name] = trainer
    return trainer


def trainers() -> dict[str, Trainer]:
    """Every registered trainer by name (the built-in ones are loaded on first call)."""
    import jobs.trainers  # noqa: F401  (registers the built-in trainers)

    return dict(_REGISTRY)


def get(name: str) -> Trainer:
    """One trainer by name; KeyError with a readable message if there is none."""
    found = trainers().get(name)
    if found is None:
        raise KeyError(f"there is no trainer {name!r}")
    return found
