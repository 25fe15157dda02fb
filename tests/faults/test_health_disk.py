"""``/healthz`` and the data directory's disk: nearly full, full, read-only (for real)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashapp.app import create_app, deps_of
from dashapp.settings import Settings
from tests.conftest import skip_or_fail


def healthz(app) -> tuple[int, dict[str, str]]:
    """Status and checks of ``/healthz``."""
    resp = app.server.test_client().get("/healthz")
    return resp.status_code, resp.get_json()["checks"]


def test_hd001_healthz_fails_below_the_free_space_minimum(tmp_path: Path) -> None:
    free_mb = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize // 2**20
    settings = Settings(data_dir=tmp_path / "data", demo_rows=2_000)
    app = create_app(settings.with_overrides(min_free_mb=free_mb + 1024))
    status, checks = healthz(app)
    assert status == 503
    assert checks["data_dir"].startswith("disk nearly full:")
    assert "DASHAPP_MIN_FREE_MB" in checks["data_dir"]
    deps_of(app).dispose()
    app = create_app(settings.with_overrides(min_free_mb=1))
    assert healthz(app) == (
        200,
        {"database": "ok", "state": "ok", "data_dir": "ok", "cache": "ok"},
    )
    # The write check leaves nothing behind.
    assert not list((tmp_path / "data").glob(".healthz-*"))
    deps_of(app).dispose()


@contextlib.contextmanager
def tiny_disk(folder: Path, options: str = "size=4m") -> Iterator[Path]:
    """A 4 MB tmpfs mounted at ``folder`` for the test (needs root, as in CI)."""
    folder.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs for a full disk (needs root): {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        # Lazy: the app's cache may still hold a file open there.
        subprocess.run(["umount", "-l", str(folder)], check=False)


def outside_databases(tmp_path: Path) -> dict[str, str]:
    """Settings that keep both databases off the disk under test."""
    sqlite3.connect(tmp_path / "browse.sqlite").execute("CREATE TABLE t (x)").close()
    return {
        "database_url": f"sqlite:///{tmp_path / 'browse.sqlite'}",
        "state_url": f"sqlite:///{tmp_path / 'state.sqlite'}",
    }


def fill(folder: Path) -> Path:
    """Write a file until the disk refuses even one more byte."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as fh:
        for size in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"x" * size)
    with pytest.raises(OSError, match="No space left on device"):
        write_page(folder / "one-more")
    return filler


def write_page(path: Path) -> None:
    """Write and sync 4 kB to a new file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"x" * 4096)
        os.fsync(fd)
    finally:
        os.close(fd)


def test_hd002_healthz_reports_a_full_data_disk(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "tiny") as disk:
        app = create_app(Settings(data_dir=disk, min_free_mb=0, **outside_databases(tmp_path)))
        assert healthz(app)[0] == 200
        filler = fill(disk)
        status, checks = healthz(app)
        assert status == 503
        assert checks["data_dir"] == "disk full or read-only: No space left on device"
        assert checks["cache"] == "disk full or read-only: No space left on device"
        assert checks["database"] == "ok"
        filler.unlink()
        (disk / "one-more").unlink(missing_ok=True)
        assert healthz(app)[0] == 200  # space again: healthy again
        assert not list(disk.glob(".healthz-*"))
        deps_of(app).dispose()


def test_hd003_healthz_reports_a_read_only_data_disk(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "ro", "size=4m,ro") as disk:
        # Nothing the app writes at start-up may go there: a secret key given, and the
        # background-job cache on Redis (only named; not needed for this check).
        app = create_app(
            Settings(
                data_dir=disk,
                secret_key="k" * 48,
                celery_broker="redis://127.0.0.1:6379/0",
                **outside_databases(tmp_path),
            )
        )
        status, checks = healthz(app)
        assert status == 503
        assert checks["data_dir"] == "disk full or read-only: Read-only file system"
        assert checks["database"] == "ok"
        deps_of(app).dispose()
