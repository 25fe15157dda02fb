"""Who a request is from: a plain value every layer may hold (no Flask here)."""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Identity:
    """The person behind a request and how we know."""

    name: str
    admin: bool = False
    # "header" (portal), "session" (our sign-in page), "basic" (a script's credentials)
    # or "open" (no sign-in set up)
    via: str = "open"
