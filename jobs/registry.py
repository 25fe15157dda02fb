"""The trainer registry: the built-in trainers plus those installed plugins declare.

A plugin is any installed distribution with an entry point in the ``dashapp.trainers``
group that names a ``Trainer`` (or a callable returning one). The registry is built on
first use, once per process; importing this module does nothing. A plugin that fails to
import or declares a bad schema is listed as unavailable, with the reason, and logged once.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from jobs.params import KINDS, Param, validate
from jobs.trainer import Trainer

GROUP = "dashapp.trainers"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,79}")
LOG = logging.getLogger("dashapp.trainers")


@dataclass(frozen=True)
class Unavailable:
    """A trainer that was declared but cannot run, and why."""

    name: str
    source: str
    reason: str


@dataclass(frozen=True)
class Registry:
    """Every trainer that can run, by name, and those that cannot."""

    trainers: dict[str, Trainer]
    unavailable: tuple[Unavailable, ...]


def builtin() -> tuple[Trainer, ...]:
    """The trainers shipped with dashapp."""
    from jobs.trainers import shapes, tabular

    return (shapes.TRAINER, tabular.TRAINER)


def schema_problem(trainer: Any) -> str | None:
    """Why ``trainer`` cannot be offered (not a Trainer, bad name or parameters), or None."""
    if not isinstance(trainer, Trainer):
        return f"the entry point gives a {type(trainer).__name__}, not a jobs.trainer.Trainer"
    if not isinstance(trainer.name, str) or not NAME_RE.fullmatch(trainer.name):
        return f"the name {trainer.name!r} is not lowercase letters, digits, '.', '_' or '-'"
    if not callable(trainer.train):
        return "its train is not a function"
    if trainer.check is not None and not callable(trainer.check):
        return "its check is not a function"
    if not isinstance(trainer.title, str) or not isinstance(trainer.description, str):
        return "its title and description must be text"
    names: set[str] = set()
    for p in trainer.params:
        if not isinstance(p, Param):
            return f"a parameter is a {type(p).__name__}, not a jobs.params.Param"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", p.name) or p.name in names:
            return f"the parameter name {p.name!r} is not a unique identifier"
        if p.type not in KINDS:
            return f"parameter {p.name!r} has unknown type {p.type!r}"
        names.add(p.name)
    _, errors = validate(trainer.params, {})
    if errors:
        name, why = next(iter(errors.items()))
        return f"the default of parameter {name!r} is invalid: {why}"
    return None


def build(
    trainers: Iterable[Trainer], plugins: Iterable[tuple[str, str, Callable[[], Any]]]
) -> Registry:
    """A registry from built-in trainers and ``(name, source, load)`` plugin declarations."""
    found: dict[str, Trainer] = {}
    unavailable: list[Unavailable] = []
    for trainer in trainers:
        found[trainer.name] = trainer
    for name, source, load in plugins:
        try:
            obj = load()
            trainer = obj() if callable(obj) and not isinstance(obj, Trainer) else obj
        except (Exception, SystemExit) as exc:  # a broken plugin must never stop the app
            reason = f"failed to load: {type(exc).__name__}: {exc}"
        else:
            try:
                reason = schema_problem(trainer) or ""
            except Exception as exc:  # e.g. parameters that are not a list at all
                reason = f"its schema cannot be read: {type(exc).__name__}: {exc}"
            if not reason and trainer.name in found:
                reason = f"another trainer is already named {trainer.name!r}"
            if not reason:
                found[trainer.name] = trainer
                continue
        LOG.warning("trainer plugin %s (%s) is unavailable: %s", name, source, reason)
        unavailable.append(Unavailable(name, source, reason[:500]))
    return Registry(found, tuple(unavailable))


def entry_points() -> list[tuple[str, str, Callable[[], Any]]]:
    """The ``dashapp.trainers`` entry points of the installed distributions."""
    out = []
    for ep in metadata.entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        out.append((ep.name, f"{dist}: {ep.value}", ep.load))
    return out


@functools.cache
def load() -> Registry:
    """The registry of this process (built on first call, then kept)."""
    return build(builtin(), entry_points())


def trainers() -> dict[str, Trainer]:
    """Every trainer that can run, by name."""
    return dict(load().trainers)


def get(name: str) -> Trainer:
    """One trainer by name; KeyError with a readable message if there is none."""
    found = load().trainers.get(name)
    if found is None:
        raise KeyError(f"there is no trainer {name!r}")
    return found


def register(trainer: Trainer) -> Trainer:
    """Add a trainer to this process's registry at run time (tests, a notebook)."""
    known = load().trainers
    if trainer.name in known and known[trainer.name] is not trainer:
        raise ValueError(f"a trainer named {trainer.name!r} is already registered")
    problem = schema_problem(trainer)
    if problem:
        raise ValueError(problem)
    known[trainer.name] = trainer
    return trainer
