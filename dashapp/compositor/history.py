"""Undo and redo: the browser keeps the past and future states; these step through them.

The states come back from the browser, so whoever restores one checks it again
(``composition.sanitize``) before it is used.
"""

from __future__ import annotations

from typing import Any

from dashapp.compositor.composition import Comp, CompositionError

HISTORY_STEPS = 30


def push(hist: Any, previous: Comp) -> dict[str, list[Comp]]:
    """History after an edit: the previous state on the undo stack, redo cleared."""
    past = hist.get("past", []) if isinstance(hist, dict) else []
    past = [*past, previous][-HISTORY_STEPS:] if isinstance(past, list) else [previous]
    return {"past": past, "future": []}


def undo(hist: Any, current: Comp, *, redo: bool = False) -> tuple[Any, dict[str, list[Comp]]]:
    """Step back (or forward with ``redo``); returns the state to show and the new history."""
    past = list(hist.get("past", [])) if isinstance(hist, dict) else []
    future = list(hist.get("future", [])) if isinstance(hist, dict) else []
    source, other = (future, past) if redo else (past, future)
    if not source:
        raise CompositionError("Nothing to redo." if redo else "Nothing to undo.")
    state = source.pop() if not redo else source.pop(0)
    if redo:
        other.append(current)
    else:
        other.insert(0, current)
    return state, {"past": past, "future": future}
