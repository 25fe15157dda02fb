"""The state database's migrations: new, adopted from 0.1, refused when newer, and concurrent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, text

from dashapp import migrations
from dashapp.compositor.schema import metadata as compositor_metadata
from dashapp.data.views_schema import metadata as views_metadata
from dashapp.db import make_engine
from dashapp.web.sessions import metadata as sessions_metadata
from jobs.schema import metadata as jobs_metadata
from jobs.store import SUCCEEDED, JobStore
from tests.conftest import ROOT, free_port, fresh_pg_database, wait_http

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ALICE = "866c55ab97af4d9a9d3394dca4cbc6a1"  # her succeeded job, in each fixture
PG_ALICE = "1354191f11844bcc95dcd860075d2782"


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    return request.getfixturevalue("pg_url")


# Every package's table declarations: the migrated database must match them all.
ALL_METADATA = [jobs_metadata, compositor_metadata, sessions_metadata, views_metadata]


def schema_drift(engine: Engine) -> list:
    """What differs between the migrated database and the tables the code declares."""
    combined = MetaData()
    for meta in ALL_METADATA:
        for table in meta.tables.values():
            table.to_metadata(combined)
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), combined)


def load_release_0_1(engine: Engine) -> None:
    """Fill an empty database with what dashapp 0.1 left in it (tests/fixtures)."""
    name = (
        "state-0.1-postgresql.sql"
        if engine.dialect.name == "postgresql"
        else "state-0.1-sqlite.sql"
    )
    script = (FIXTURES / name).read_text()
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            raw.driver_connection.executescript(script)
        else:
            with raw.cursor() as cur:
                cur.execute(script)
        raw.commit()
    finally:
        raw.close()


def test_mg001_a_new_database_gets_the_whole_schema_once(state_url: str) -> None:
    engine = make_engine(state_url)
    assert migrations.current(engine) is None
    assert migrations.upgrade(engine) == migrations.head()
    assert migrations.current(engine) == migrations.head()
    assert schema_drift(engine) == []
    store = JobStore(engine)
    job = store.create("shapes-cnn", {}, "ann")
    assert migrations.upgrade(engine) == migrations.head()  # a second start changes nothing
    assert store.get(job).user == "ann"
    engine.dispose()


def test_mg002_a_database_of_release_0_1_is_adopted_with_all_its_data(state_url: str) -> None:
    engine = make_engine(state_url)
    load_release_0_1(engine)
    alice = PG_ALICE if engine.dialect.name == "postgresql" else ALICE
    store = JobStore(engine)
    before = {j.id: j for j in store.list_jobs()}
    metrics, logs = store.metrics(alice), store.logs(alice)
    arts = [(a["name"], store.artifact_bytes(a)) for a in store.artifacts(alice)]
    weights = store.file(alice, "model.pt")
    assert len(before) == 3
    assert len(arts) == 2
    assert weights

    migrations.upgrade(engine)

    assert migrations.current(engine) == migrations.head()
    assert schema_drift(engine) == []
    after = {j.id: j for j in store.list_jobs()}
    assert after == before
    assert after[alice].status == SUCCEEDED
    assert store.metrics(alice) == metrics
    assert metrics["loss"] == [(1, 1.25), (2, 0.75)]
    assert store.logs(alice) == logs
    assert [(a["name"], store.artifact_bytes(a)) for a in store.artifacts(alice)] == arts
    assert all(data and data.startswith(b"\x89PNG") for _, data in arts)
    assert store.file(alice, "model.pt") == weights
    store.create("shapes-cnn", {}, "dan")  # and it keeps working: the queued job starts
    queued = next(j.id for j in after.values() if j.status == "queued")
    assert store.claim(queued, 5, 1, "node-c")
    engine.dispose()


def test_mg003_a_database_newer_than_the_code_is_refused_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
    with pytest.raises(migrations.SchemaError, match="f00dcafe"):
        migrations.upgrade(engine)
    engine.dispose()
    out = dashapp_cli(tmp_path, "run", DASHAPP_STATE_URL=url)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "f00dcafe" in lines[0]
    assert migrations.head() in lines[0]


def test_mg004_with_automatic_upgrades_off_an_operator_migrates_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    env = {"DASHAPP_STATE_URL": url, "DASHAPP_AUTO_MIGRATE": "false"}
    refused = dashapp_cli(tmp_path, "run", **env)
    assert refused.returncode == 2
    assert "dashapp db upgrade" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    before = dashapp_cli(tmp_path, "db", "current", **env)
    assert "at (none)" in before.stdout
    assert "needs `dashapp db upgrade`" in before.stdout
    up = dashapp_cli(tmp_path, "db", "upgrade", **env)
    assert up.returncode == 0
    assert f"(none) -> {migrations.head()}" in up.stdout
    now = dashapp_cli(tmp_path, "db", "current", **env)
    assert f"at {migrations.head()}" in now.stdout
    assert "up to date" in now.stdout


def dashapp_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the ``dashapp`` command with its own data folder and ``env``."""
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")},
        "DASHAPP_DATA_DIR": str(tmp_path / "data"),
        "DASHAPP_DEMO_AUTOCREATE": "false",
        "DASHAPP_PORT": str(free_port()),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "dashapp.cli", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


ROUNDS = int(os.environ.get("MIGRATION_ROUNDS", "10"))


def test_mg005_four_nodes_starting_at_once_on_a_new_database_all_serve(
    pg_server_url: str, tmp_path: Path
) -> None:
    """Each round: a new PostgreSQL state database and 4 gunicorn nodes started together."""
    for round_no in range(ROUNDS):
        with fresh_pg_database(pg_server_url) as url:
            nodes = []
            for n in range(4):
                data = tmp_path / f"r{round_no}n{n}"
                data.mkdir()
                port = free_port()
                env = {
                    **{k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")},
                    "DASHAPP_DATA_DIR": str(data),
                    "DASHAPP_STATE_URL": url,
                    "DASHAPP_DATABASE_URL": url,  # nothing to build: the point is the state
                    "DASHAPP_PORT": str(port),
                    "DASHAPP_WORKERS": "1",
                    "DASHAPP_LOG_LEVEL": "warning",
                    "DASHAPP_SECRET_KEY": "mg005-nodes-share-this-key",  # shared state
                }
                with (data / "server.log").open("wb") as log:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "dashapp.cli", "run"],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                nodes.append((proc, port, data / "server.log"))
            try:
                for proc, port, log_path in nodes:
                    try:
                        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=90)
                    except Exception as exc:
                        pytest.fail(
                            f"round {round_no + 1}: a node did not serve ({exc}):\n"
                            + log_path.read_text()[-3000:]
                        )
                engine = make_engine(url)
                assert migrations.current(engine) == migrations.head()
                with engine.connect() as conn:
                    assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
                engine.dispose()
            finally:
                for proc, _, _ in nodes:
                    proc.terminate()
                deadline = time.monotonic() + 40
                for proc, _, _ in nodes:
                    try:
                        proc.wait(timeout=max(1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        proc.kill()
