"""Failed sign-ins counted per user name and per client address, with Flask-Limiter.

Both the sign-in page and HTTP Basic go through ``SignInThrottle.check``: a name or an
address that failed too often in the window gets ``TooManyAttempts`` before any password
is hashed, so guessing costs the guesser the window, not us a hash. Only failures count:
a script signing in correctly on every request is never slowed down. The counts live in
Redis when the app has one (``DASHAPP_CELERY_BROKER``: every worker and node shares them),
else in each worker process's memory.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping

from flask import Flask, request
from flask_limiter import Limiter
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from dashapp.web.security import check_password

WINDOW = "15 minutes"
PER_ADDRESS = 5  # an office behind one NAT address holds several people
NAME_CHARS = 120
KEY_PREFIX = "dashapp-signin"
LOG = logging.getLogger("dashapp")


class TooManyAttempts(Exception):
    """This name or address failed too often; ``wait_s`` until the window ends."""

    def __init__(self, wait_s: float) -> None:
        """Remember how long the caller must wait."""
        super().__init__(wait_s)
        self.wait_s = wait_s

    @property
    def message(self) -> str:
        """What the person (or script) reads."""
        minutes = max(1, math.ceil(self.wait_s / 60))
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many sign-in attempts; try again in {minutes} {unit}."


def storage_uri(celery_broker: str) -> str:
    """Where the counts live: the app's Redis when it has one, else this process's memory."""
    return celery_broker or "memory://"


class SignInThrottle:
    """Counts failed sign-ins per user name and per address; refuses beyond the limits."""

    def __init__(self, server: Flask, *, attempts: int, storage: str) -> None:
        """Attach Flask-Limiter (its storage) to ``server``; ``attempts`` per name per window."""
        self.limiter = Limiter(
            key_func=lambda: request.remote_addr or "",
            app=server,
            storage_uri=storage,
            # A Redis that does not answer must not hold a sign-in for long.
            storage_options={"socket_timeout": 2, "socket_connect_timeout": 2}
            if storage.startswith("redis")
            else {},
            strategy="fixed-window",
            key_prefix=KEY_PREFIX,
        )
        self.per_name = parse(f"{attempts} per {WINDOW}")
        self.per_address = parse(f"{attempts * PER_ADDRESS} per {WINDOW}")
        # Used while the shared storage is unreachable: still a limit, per process.
        self.fallback = FixedWindowRateLimiter(MemoryStorage())

    def _keys(self, name: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
        """The two counters an attempt touches (named ``dashapp-signin/...`` in the storage)."""
        return [
            (self.per_name, "name", name[:NAME_CHARS]),
            (self.per_address, "address", address),
        ]

    def _with_storage(self, action: Callable[[RateLimiter], float]) -> float:
        """Run ``action`` on the shared counters, or on this process's if they are down."""
        try:
            return action(self.limiter.limiter)
        except Exception as exc:  # Redis down or slow: never a 500 on the sign-in page
            LOG.warning("sign-in attempt counts unavailable (%s): counting in memory", exc)
            return action(self.fallback)

    def wait_s(self, name: str, address: str) -> float:
        """Seconds until this name and address may try again (0: now)."""

        def blocked(strategy: RateLimiter) -> float:
            """The longest wait among the counters that are full."""
            wait = 0.0
            for item, kind, key in self._keys(name, address):
                if not strategy.test(item, KEY_PREFIX, kind, key):
                    reset = strategy.get_window_stats(item, KEY_PREFIX, kind, key).reset_time
                    wait = max(wait, reset - time.time(), 1.0)
            return wait

        return self._with_storage(blocked)

    def failed(self, name: str, address: str) -> None:
        """Count one failed attempt against the name and the address."""

        def count(strategy: RateLimiter) -> float:
            """One more failure on each counter."""
            for item, kind, key in self._keys(name, address):
                strategy.hit(item, KEY_PREFIX, kind, key)
            return 0.0

        self._with_storage(count)

    def check(self, users: Mapping[str, str], name: str, password: str) -> bool:
        """Check a password for this request's address; raises TooManyAttempts when limited."""
        address = request.remote_addr or ""
        wait = self.wait_s(name, address)
        if wait > 0:
            raise TooManyAttempts(wait)
        if check_password(users, name, password):
            return True
        self.failed(name, address)
        LOG.warning("sign-in refused for %r from %s", name, address)
        return False
