"""The ``dashapp`` command: clear errors for bad settings, demo db on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from dashapp.data.demo_data import DemoSizes, ensure_sqlite, table_names
from dashapp.db import make_engine

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``dashapp`` with a clean DASHAPP_* environment plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")}
    return subprocess.run(
        [sys.executable, "-m", "dashapp.cli", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cl001_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    out = run_cli("run", DASHAPP_PORT="http", DASHAPP_DATA_DIR=str(tmp_path))
    assert out.returncode == 2
    assert out.stderr.strip() == "dashapp: bad setting: DASHAPP_PORT='http' is not a whole number"


def test_cl002_demo_db_builds_sqlite(tmp_path: Path) -> None:
    out = run_cli("demo-db", "--rows", "2000", DASHAPP_DATA_DIR=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "built" in out.stdout
    con = sqlite3.connect(tmp_path / "demo.sqlite")
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 2000


def test_cl003_demo_db_loads_postgresql_with_the_same_rows(tmp_path: Path, pg_url: str) -> None:
    out = run_cli("demo-db", "--url", pg_url, "--rows", "3000", DASHAPP_DATA_DIR=str(tmp_path))
    assert out.returncode == 0, out.stderr
    ensure_sqlite(tmp_path / "ref.sqlite", DemoSizes(events=3000))
    lite = make_engine(f"sqlite:///{tmp_path / 'ref.sqlite'}")
    pg = make_engine(pg_url)
    probe = (
        "SELECT count(*), sum(duration_ms), sum(CASE WHEN success THEN 1 ELSE 0 END), "
        "count(experiment_id), min(occurred_at), max(message) FROM events"
    )
    with lite.connect() as a, pg.connect() as b:
        for name in table_names():
            n_a = a.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
            n_b = b.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
            assert n_a == n_b, name
        ra, rb = a.execute(text(probe)).one(), b.execute(text(probe)).one()
        assert ra[:4] == rb[:4]
        assert str(ra[4]) == str(rb[4])
        assert ra[5] == rb[5]
        types = dict(
            b.execute(
                text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = 'events'"
                )
            ).all()
        )
        assert types["occurred_at"] == "timestamp without time zone"
        assert types["cost_usd"] == "numeric"
        assert types["success"] == "boolean"
    lite.dispose()
    pg.dispose()


def test_cl004_default_demo_db_has_a_million_rows(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite"
    ensure_sqlite(path, DemoSizes())
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] >= 1_000_000


def test_cl005_dev_server_starts_with_its_dev_tools(tmp_path: Path) -> None:
    """`dashapp dev` (Dash's debug server) serves pages; the factory must not block it."""
    import urllib.request

    from tests.conftest import ROOT, free_port, wait_http

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")}
    env |= {"DASHAPP_DATA_DIR": str(tmp_path), "DASHAPP_PORT": str(port)}
    env |= {"DASHAPP_DEMO_ROWS": "2000"}
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dashapp.cli", "dev"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=90)
        except Exception as exc:
            raise AssertionError(log.read_text()[-2000:]) from exc
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data", timeout=30) as resp:
            page = resp.read().decode()
        assert resp.status == 200
        assert '"ui": true' in page or '"ui":true' in page  # dev tools on, here only
    finally:
        proc.terminate()
        proc.wait(30)
