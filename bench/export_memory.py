"""Figure 3 of bench/grid.py: a gunicorn worker's memory while it streams an export, and
the app under gunicorn for the benches (``start_server``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_kb(pid: int) -> int:
    """Resident memory of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_server(
    url: str, port: int = 0, workers: int = 1, **extra: str
) -> tuple[subprocess.Popen[bytes], str]:
    """The app under gunicorn on loopback (``url`` empty: the demo database).

    ``port`` 0: one nobody listens on (another bench or server may hold a fixed one, and
    would answer the health check in this one's place).
    """
    if not port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    data = tempfile.mkdtemp()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")},
        "DASHAPP_DATABASE_URL": url,
        "DASHAPP_DATA_DIR": data,
        "DASHAPP_PORT": str(port),
        "DASHAPP_WORKERS": str(workers),
        "DASHAPP_LOG_LEVEL": "warning",
        "DASHAPP_STATEMENT_TIMEOUT_S": "120",
        **extra,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashapp.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({proc.returncode}): is port {port} taken?")
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            return proc, base
        except Exception:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers of a master process."""
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def count_xlsx_rows(path: Path) -> tuple[int, int]:
    """Data rows and sheets of a workbook, reading its sheets as streams."""
    import zipfile

    rows = 0
    with zipfile.ZipFile(path) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        for name in sheets:
            with book.open(name) as part:
                tail = b""
                while chunk := part.read(1 << 20):
                    rows += (tail + chunk).count(b"</row>") - tail.count(b"</row>")
                    tail = chunk[-8:]
    return rows - len(sheets), len(sheets)  # less each sheet's header row


def export_figure(url: str, kind: str, rows: int) -> None:
    """Figure 3: peak worker memory above idle while streaming ``rows`` rows as CSV or XLSX."""
    proc, base = start_server(url)
    try:
        # gunicorn execs from our CLI, so its master is proc.pid; the one child is the worker.
        pid = worker_pids(proc.pid)[0]
        urllib.request.urlopen(base + "/data").read()
        idle = rss_kb(pid)
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(rss_kb(pid))
                time.sleep(0.02)

        threading.Thread(target=sample, daemon=True).start()
        flt = {"id": {"filterType": "number", "type": "lessThanOrEqual", "filter": rows}}
        query = urllib.parse.urlencode(
            {
                "table": "public.events",
                "filter": json.dumps(flt),
                "sort": json.dumps([{"colId": "id", "sort": "asc"}]),
            }
        )
        t0 = time.perf_counter()
        size = lines = 0
        with (
            tempfile.NamedTemporaryFile(suffix="." + kind) as out,
            urllib.request.urlopen(f"{base}/export.{kind}?{query}", timeout=1800) as resp,
        ):
            while chunk := resp.read(1 << 16):
                size += len(chunk)
                lines += chunk.count(b"\n")
                if kind == "xlsx":
                    out.write(chunk)
            secs = time.perf_counter() - t0
            done.set()
            out.flush()
            got, sheets = count_xlsx_rows(Path(out.name)) if kind == "xlsx" else (lines - 1, 1)
        extra_mb = (max(peak) - idle) / 1024
        print(f"\n3. {kind.upper()} export of {rows:,} rows through gunicorn")
        print(f"   {got:,} rows ({sheets} sheet(s)), {size / 1e6:.0f} MB in {secs:.1f} s")
        print(
            f"   worker RSS idle {idle / 1024:.0f} MB, peak +{extra_mb:.1f} MB above idle"
            f" (target <= 100 MB); ratio to file size {extra_mb / (size / 2**20):.2f}"
        )
    finally:
        proc.terminate()
        proc.wait(30)
