"""What a failure of the browsed database means, in one line a user can read (no SQL)."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from dashapp.db import DatabaseBusy, is_unresponsive

NOT_ANSWERING = "The database is not answering, retrying… (try again in a few seconds)."
BUSY = "The database is slow to answer: every connection this server may use is waiting on it."

# PostgreSQL SQLSTATEs of a statement naming a column or table that is no longer there.
SCHEMA_CHANGE_CODES = {"42703", "42P01"}


def is_schema_change(exc: BaseException) -> bool:
    """Whether a failure comes from the table having changed since it was reflected."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "pgcode", None) in SCHEMA_CHANGE_CODES:
        return True
    text = str(orig).lower()
    return "no such column" in text or "no such table" in text


def explain_db_error(exc: BaseException) -> str:
    """A one-line, SQL-free explanation of a database failure."""
    if is_schema_change(exc):
        return (
            "The table's columns changed since this page was opened: reload the page to see"
            " the table as it is now."
        )
    if is_unresponsive(exc):
        return NOT_ANSWERING
    if isinstance(exc, DatabaseBusy):
        return BUSY
    text = str(getattr(exc, "orig", exc)).lower()
    if "statement timeout" in text or "canceling statement" in text or "interrupted" in text:
        return "The query took too long and was stopped (statement time limit)."
    if isinstance(exc, OperationalError) or "connect" in text:
        return "The database is not reachable right now; retrying on the next request."
    if "read-only" in text or "readonly" in text:
        return "The database refused the request (read-only connection)."
    return "The database could not run this request."
