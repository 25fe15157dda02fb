"""What every check of a grid request shares: the refusal and binding numbers safely."""

from __future__ import annotations

# SQLite binds Python ints as 64-bit integers and refuses any other (OverflowError).
SQLITE_INT_RANGE = range(-(2**63), 2**63)


class GridRequestError(ValueError):
    """A grid request the server refuses; the message is shown to the user as is."""


def sql_number(value: int | float, dialect: str, col: str) -> int | float:
    """A number as the database can bind it.

    SQLite refuses integers beyond 64 bits. One a browser sends came from a JavaScript
    double, so as a float it is exactly what the user typed, and SQLite compares integers
    with floats exactly. Only a hand-made request carries one no double holds.
    """
    if dialect == "sqlite" and isinstance(value, int) and value not in SQLITE_INT_RANGE:
        as_float = float(value)
        if int(as_float) != value:
            raise GridRequestError(
                f"filter on {col!r}: {value} is beyond the numbers this database compares exactly"
            )
        return as_float
    return value
