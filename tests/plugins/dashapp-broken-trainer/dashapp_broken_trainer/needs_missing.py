"""A trainer module that cannot be imported: it needs a package nobody installed."""

from __future__ import annotations

import dashapp_no_such_dependency  # noqa: F401  (the point: this import fails)

TRAINER = None
