"""Per-process caches of the grid: keyset anchors and built statements (safe to lose)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table


class Anchors:
    """Sort-key values of rows already served, per view, so later blocks can seek to them."""

    MAX_GAP = 5_000  # seek from an anchor at most this many rows back; else use OFFSET

    def __init__(self, max_views: int = 256, per_view: int = 4096) -> None:
        """Bounded: old views and old anchors are dropped."""
        self._views: dict[str, dict[int, tuple[Any, ...]]] = {}
        self._max_views, self._per_view = max_views, per_view
        self._lock = threading.Lock()

    def add(self, view: str, index: int, values: tuple[Any, ...]) -> None:
        """Remember that row ``index`` of ``view`` has sort keys ``values``."""
        with self._lock:
            marks = self._views.pop(view, {})
            self._views[view] = marks  # most recently used last
            marks[index] = values
            if len(marks) > self._per_view:
                marks.pop(next(iter(marks)))
            while len(self._views) > self._max_views:
                self._views.pop(next(iter(self._views)))

    def clear(self) -> None:
        """Forget every anchor."""
        with self._lock:
            self._views.clear()

    def nearest(self, view: str, start: int) -> tuple[int, tuple[Any, ...]] | None:
        """The closest anchor before row ``start`` within ``MAX_GAP`` rows, if any."""
        with self._lock:
            marks = self._views.get(view) or {}
            best = max((i for i in marks if start - self.MAX_GAP <= i < start), default=None)
            return None if best is None else (best, marks[best])


class Statements:
    """Built SELECTs per view, reused with new bound values (LIMIT, OFFSET, seek keys).

    Building a statement and computing its cache key costs SQLAlchemy about as much as
    PostgreSQL takes to answer a 100-row block; a grid asks for the same view again and
    again while it scrolls.
    """

    def __init__(self, size: int = 512) -> None:
        """Keep at most ``size`` statements, least recently used dropped first."""
        self._items: dict[tuple[int, str], tuple[Table, Any]] = {}
        self._size = size
        self._lock = threading.Lock()

    def get(self, table: Table, key: str, build: Callable[[], Any]) -> Any:
        """The statement for ``key`` on ``table``, built by ``build()`` the first time."""
        cache_key = (id(table), key)
        with self._lock:
            hit = self._items.pop(cache_key, None)
            if hit is not None and hit[0] is table:
                self._items[cache_key] = hit
                return hit[1]
        stmt = build()
        with self._lock:
            self._items[cache_key] = (table, stmt)
            while len(self._items) > self._size:
                self._items.pop(next(iter(self._items)))
        return stmt
