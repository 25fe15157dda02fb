"""dashapp: an internal Dash dashboard for a data and ML team.

``create_app`` is imported lazily so that the pure domain modules of this package
(settings, db, demo_data, ...) can be used without importing Dash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashapp.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """Import ``create_app`` on first access."""
    if name == "create_app":
        from dashapp.app import create_app

        return create_app
    raise AttributeError(name)
