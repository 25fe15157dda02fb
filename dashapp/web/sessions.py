"""Sign-in sessions kept in the state database: revocable, and shared by every node.

The browser's cookie holds only a random token; the table holds its SHA-256, the user,
the session's CSRF token and when it ends. Signing out deletes the row, so a copied
cookie stops working at once, on every node that shares the state database; expiry is
checked here, not left to the cookie. Ended rows are deleted when someone signs in (one
indexed delete), so the table holds about as many rows as there are live sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, Engine, Index, MetaData, String, Table, delete, select

metadata = MetaData()
signin_sessions = Table(
    "signin_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie's token
    Column("user", String(120), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index("ix_signin_sessions_expires_at", "expires_at"),
)
TOKEN_BYTES = 32


def now() -> datetime:
    """The time as the state database stores it (UTC, naive)."""
    return datetime.now(UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    """What the table keeps of a cookie's token (a leaked table signs nobody in)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class SignInSession:
    """A live sign-in: who, the token our forms carry, and when it ends."""

    user: str
    csrf: str
    expires_at: datetime


class SessionStore:
    """Sign-in sessions in the state database (its engine is opened on first use)."""

    def __init__(self, engine: Callable[[], Engine], *, hours: float) -> None:
        """Sessions last ``hours`` from signing in."""
        self._engine = engine
        self.lifetime = timedelta(hours=hours)

    def create(self, user: str, *, at: datetime | None = None) -> tuple[str, SignInSession]:
        """Start a session for ``user``: the cookie's token and the session."""
        start = at or now()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session = SignInSession(user, secrets.token_urlsafe(24), start + self.lifetime)
        with self._engine().begin() as conn:
            conn.execute(delete(signin_sessions).where(signin_sessions.c.expires_at <= start))
            conn.execute(
                signin_sessions.insert().values(
                    token_hash=token_hash(token),
                    user=user,
                    csrf=session.csrf,
                    created_at=start,
                    expires_at=session.expires_at,
                )
            )
        return token, session

    def get(self, token: str, *, at: datetime | None = None) -> SignInSession | None:
        """The live session a cookie's token names; None if unknown, signed out or ended."""
        if not token or len(token) > 200:
            return None
        table = signin_sessions
        query = select(table.c.user, table.c.csrf, table.c.expires_at).where(
            table.c.token_hash == token_hash(token), table.c.expires_at > (at or now())
        )
        with self._engine().connect() as conn:
            row = conn.execute(query).first()
        return SignInSession(row.user, row.csrf, row.expires_at) if row else None

    def end(self, token: str) -> None:
        """Sign out: the token is refused everywhere from now on."""
        with self._engine().begin() as conn:
            conn.execute(
                delete(signin_sessions).where(signin_sessions.c.token_hash == token_hash(token))
            )
