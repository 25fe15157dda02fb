"""`pip install .` (not editable) in a fresh venv gives an app that serves every page and asset."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, SMALL_DEMO_ROWS, free_port, wait_http

# The pin the Makefile installs first: the CPU wheel this machine keeps, not a CUDA build.
TORCH = os.environ.get("TORCH", "torch==2.13.0")
PAGES = ("/", "/data", "/data?table=main.teams", "/training", "/compositor", "/nowhere")


def run(*argv: str | Path, cwd: Path | None = None) -> None:
    """Run a command, failing the test with its output if it fails."""
    out = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, f"{argv} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"


def fetch(url: str) -> tuple[int, bytes]:
    """Status and body of a GET (4xx/5xx included)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_wh001_a_wheel_install_serves_every_page_with_its_assets(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    pip = venv / "bin" / "pip"
    run(pip, "install", "--quiet", TORCH)
    run(pip, "install", "--quiet", ROOT)  # a real (non-editable) install from the checkout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DASHAPP_", "PYTHON"))},
        "DASHAPP_DATA_DIR": str(elsewhere / "data"),
        "DASHAPP_PORT": str(port),
        "DASHAPP_WORKERS": "1",
        "DASHAPP_DEMO_ROWS": str(SMALL_DEMO_ROWS),
        "DASHAPP_LOG_LEVEL": "warning",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [venv / "bin" / "dashapp", "run"], cwd=elsewhere, env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{base}/healthz", proc, timeout=120)
        except Exception:
            pytest.fail(f"the installed app did not start:\n{log.read_text()[-3000:]}")
        # The code that runs is the installed copy, not the checkout.
        origin = subprocess.run(
            [venv / "bin" / "python", "-c", "import dashapp; print(dashapp.__file__)"],
            cwd=elsewhere,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert str(venv) in origin
        linked: set[str] = set()
        for page in PAGES:
            status, body = fetch(base + page)
            assert status == (404 if page == "/nowhere" else 200), page
            linked |= set(re.findall(r'(?:href|src)="(/[^"]+)"', body.decode()))
        installed = venv.glob("lib/python*/site-packages/dashapp/assets")
        files = [p for p in next(installed).rglob("*") if p.is_file()]
        assert {"00_bootstrap.min.css", "bootstrap-icons.woff2", "compositor.js"} <= {
            p.name for p in files
        }
        for path in sorted(linked | {f"/assets/{_rel(p)}" for p in files}):
            status, body = fetch(base + path)
            assert status == 200, f"{path}: {status}"
            assert body, path
    finally:
        proc.terminate()
        proc.wait(timeout=40)


def _rel(path: Path) -> str:
    """A file's path below the installed assets folder."""
    parts = path.parts
    return "/".join(parts[parts.index("assets") + 1 :])
