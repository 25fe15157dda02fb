"""The job store's schema upgrades itself additively, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from dashapp.db import make_engine
from dashapp.migrations import upgrade
from jobs.store import JobStore

OLD_JOBS = """CREATE TABLE jobs (
    id VARCHAR(32) PRIMARY KEY, trainer VARCHAR(80) NOT NULL, params TEXT NOT NULL,
    "user" VARCHAR(120) NOT NULL, status VARCHAR(12) NOT NULL, created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP, finished_at TIMESTAMP, heartbeat_at TIMESTAMP, device VARCHAR(40),
    pid INTEGER, progress TEXT, error TEXT, traceback TEXT,
    cancel_requested BOOLEAN NOT NULL, weights_path TEXT, revision INTEGER NOT NULL
)"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_js001_a_state_database_from_an_older_version_is_upgraded(backend, tmp_path, request):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OLD_JOBS))
        conn.execute(
            text(
                "INSERT INTO jobs VALUES ('old1', 'shapes-cnn', '{}', 'ann', 'succeeded',"
                " CURRENT_TIMESTAMP, NULL, NULL, NULL, 'cpu', NULL, '{}', NULL, NULL,"
                " FALSE, NULL, 0)"
            )
        )
    upgrade(engine)  # adds jobs.host and creates the tables that are missing
    store = JobStore(engine)
    old = store.get("old1")
    assert old.user == "ann"
    assert old.host is None
    new = store.create("shapes-cnn", {}, "bob")
    assert store.claim(new, 1, 123, "node-a")
    assert store.get(new).host == "node-a"
    store.put_file(new, "a.png", b"x")
    assert store.file(new, "a.png") == b"x"
    upgrade(engine)  # a second start changes nothing
    engine.dispose()
