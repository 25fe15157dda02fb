"""Fixtures of the fault-injection tests: real processes we break on purpose."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import skip_or_fail
from tests.faults.private_pg import PrivatePostgres, Unavailable


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of our own (its own port and folder) that a test may freeze."""
    try:
        cluster = PrivatePostgres()
    except Unavailable as exc:
        skip_or_fail(f"cannot start a private PostgreSQL to freeze: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()  # thaws first: a stopped postmaster would ignore the stop request


@pytest.fixture(autouse=True)
def restore_wait_callback() -> Iterator[None]:
    """psycopg2's wait callback is one per process: a test that builds the web app's engines
    here installs it (``dashapp.db.enable_wait_limits``), and with it psycopg2 refuses the COPY
    that later tests load their PostgreSQL demo tables with. Put back what was there."""
    import psycopg2.extensions

    before = psycopg2.extensions.get_wait_callback()
    yield
    psycopg2.extensions.set_wait_callback(before)
