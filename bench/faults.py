"""Fault figures (issue 17): the app under gunicorn while something is broken on purpose.

    .venv/bin/python bench/faults.py [--only NAME] [--seconds 30]

One function per figure, each measuring its own baseline in the same run (these machines
are noisy); ``FIGURES`` lists them and ``main`` runs them in turn. Sections so far:

  restart_mid_job (bench/faults_restart.py): gunicorn restarted (SIGTERM, then SIGKILL)
     while a training job runs: seconds from the new master's start to /healthz 200
     (target <= 10 s), against the same restart with no job running.
  frozen_database: a private PostgreSQL (both the browsed and the state database) is
     frozen with SIGSTOP while 12 clients keep asking for grid blocks; ``/healthz`` and a
     page that needs no database (``/compositor``) are sampled throughout, against the
     same requests with the database running. Targets: ``/healthz`` answers (503) within
     5 s, the page within 2 s; then the time until everything answers again after SIGCONT.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from components.ids import Data  # noqa: E402
from dashapp.db import make_engine  # noqa: E402
from tests.callbacks.helpers import build_payload  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from faults_restart import restart_mid_job  # noqa: E402

from tests.faults.private_pg import private_postgres  # noqa: E402

HANG_S = 120  # a request with no answer by then counts as hung


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(url: str, body: Any = None) -> tuple[int, float, bytes]:
    """Status (0: hung or refused), seconds taken and body of one GET or JSON POST."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=HANG_S) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    except (OSError, urllib.error.URLError):
        status, raw = 0, b""
    return status, time.perf_counter() - t0, raw


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """``dashapp run`` with ``env``, once ``/healthz`` answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashapp.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        if request(f"http://127.0.0.1:{port}/healthz")[0] == 200:
            return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


class Sampler(threading.Thread):
    """Asks one URL every ``every`` seconds until stopped; keeps (status, seconds)."""

    def __init__(self, url: str, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.url, self.every = url, every
        self.samples: list[tuple[int, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self.stop.is_set():
            status, took, _ = request(self.url)
            self.samples.append((status, took))
            self.stop.wait(self.every)


def summary(samples: list[tuple[int, float]]) -> str:
    """``p50 / max`` seconds and the statuses seen."""
    took = [t for _, t in samples]
    statuses: dict[int, int] = {}
    for status, _ in samples:
        statuses[status] = statuses.get(status, 0) + 1
    seen = ", ".join(f"{k or 'hung'} x{v}" for k, v in sorted(statuses.items()))
    return f"p50 {statistics.median(took):.3f} s, max {max(took):.3f} s ({seen})"


def frozen_database(seconds: float) -> None:
    """Frozen database: /healthz answers (503) within 5 s, a page without it within 2 s."""
    with private_postgres() as pg, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(pg.url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE items (id int PRIMARY KEY, name text)"))
            conn.execute(
                text("INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 100000) g")
            )
        engine.dispose()
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")},
            "DASHAPP_DATA_DIR": tmp,
            "DASHAPP_PORT": str(port),
            "DASHAPP_WORKERS": "2",
            "DASHAPP_THREADS": "4",
            "DASHAPP_DATABASE_URL": pg.url,
            "DASHAPP_STATE_URL": pg.url,
            "DASHAPP_LOG_LEVEL": "error",
        }
        base = f"http://127.0.0.1:{port}"
        proc = serve(env, port)
        try:
            deps = json.loads(request(f"{base}/_dash-dependencies")[2])

            def block(start: int) -> tuple[int, float, bytes]:
                """One 100-row grid block from ``start``, posted as the page does."""
                payload = build_payload(
                    deps,
                    f"{Data.GRID}.getRowsResponse",
                    {
                        f"{Data.GRID}.getRowsRequest": {
                            "startRow": start,
                            "endRow": start + 100,
                            "context": {"table": "public.items"},
                        },
                        f"{Data.QUICK}.value": "",
                    },
                )
                return request(f"{base}/_dash-update-component", payload)

            outcomes = run_phase(base, block, seconds, freeze=None)
            frozen = run_phase(base, block, seconds, freeze=pg.freeze)
            t_thaw = time.perf_counter()
            pg.thaw()
            healthy = rows_back = None
            while time.perf_counter() - t_thaw < 120 and (healthy is None or rows_back is None):
                if healthy is None and request(f"{base}/healthz")[0] == 200:
                    healthy = time.perf_counter() - t_thaw
                if rows_back is None and block_outcome(*block(0)) == "rows":
                    rows_back = time.perf_counter() - t_thaw
                time.sleep(0.2)
        finally:
            pg.thaw()
            proc.terminate()
            proc.wait(timeout=60)
    print("Frozen database (a private PostgreSQL, browsed and state, SIGSTOPped; gunicorn 2 x 4")
    print(f"threads; 12 clients asking for grid blocks throughout; {seconds:g} s per phase):")
    for name, target in (("/healthz", 5.0), ("/compositor", 2.0)):
        run, frz = outcomes[name], frozen[name]
        worst = max(t for _, t in frz)
        ratio = worst / max(1e-9, statistics.median(t for _, t in run))
        verdict = "met" if worst <= target and all(s for s, _ in frz) else "MISSED"
        print(f"  {name:<12} running: {summary(run)}")
        print(f"  {'':<12} frozen:  {summary(frz)}")
        print(
            f"  {'':<12} -> worst while frozen {worst:.2f} s = {ratio:,.0f}x the running p50; target <= {target:g} s: {verdict}"
        )
    print(f"  grid blocks  running: {outcomes['blocks']}")
    print(f"  {'':<12} frozen:  {frozen['blocks']}")
    print(
        f"  after SIGCONT: /healthz 200 after {fmt(healthy)}, grid rows again after {fmt(rows_back)}"
    )


def block_outcome(status: int, took: float, raw: bytes) -> str:
    """What a grid block answer showed: rows, "not answering", "busy", other or hung."""
    if status == 0:
        return "hung"
    try:
        response = json.loads(raw)["response"]
        if response[Data.GRID]["getRowsResponse"]["rowData"]:
            return "rows"
        message = str(response[Data.GRID_ERROR]["children"])
    except (ValueError, KeyError, TypeError):
        return "other"
    return (
        "not answering" if "not answering" in message else "busy" if "slow" in message else "other"
    )


def fmt(seconds: float | None) -> str:
    """Seconds, or 'never' (within the 120 s waited)."""
    return "never (120 s)" if seconds is None else f"{seconds:.1f} s"


def run_phase(
    base: str,
    block: Callable[[int], tuple[int, float, bytes]],
    seconds: float,
    *,
    freeze: Callable[[], Any] | None,
) -> dict[str, Any]:
    """Sample /healthz and a page for ``seconds`` while 12 clients ask for grid blocks."""
    stop = threading.Event()
    counts = {"rows": 0, "not answering": 0, "busy": 0, "other": 0, "hung": 0}
    lock = threading.Lock()

    def client(seed: int) -> None:
        """Ask for blocks back to back until stopped, counting what came back."""
        start = seed * 1000
        while not stop.is_set():
            kind = block_outcome(*block(start))
            with lock:
                counts[kind] += 1
            start = (start + 100) % 99_000

    # Warm up: every worker holds a pool of connections, as a server in use does.
    warm = [threading.Thread(target=lambda: [block(0) for _ in range(3)]) for _ in range(12)]
    for t in warm:
        t.start()
    for t in warm:
        t.join()
    if freeze is not None:
        freeze()
    clients = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(12)]
    samplers = {
        "/healthz": Sampler(f"{base}/healthz"),
        "/compositor": Sampler(f"{base}/compositor"),
    }
    for t in [*clients, *samplers.values()]:
        t.start()
    time.sleep(seconds)
    stop.set()
    for sampler in samplers.values():
        sampler.stop.set()
        sampler.join(HANG_S)
    for t in clients:
        t.join(HANG_S)
    result: dict[str, Any] = {name: s.samples for name, s in samplers.items()}
    result["blocks"] = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    return result


# restart_mid_job's argument is how long to wait for a server before calling it hung.
FIGURES: dict[str, Callable[[float], None]] = {
    "frozen_database": frozen_database,
    "restart_mid_job": lambda seconds: restart_mid_job(max(60.0, 2 * seconds)),
}


def main() -> None:
    """Run every figure (or the one named by ``--only``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(FIGURES))
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    args = parser.parse_args()
    for name, figure in FIGURES.items():
        if args.only in (None, name):
            figure(args.seconds)


if __name__ == "__main__":
    main()
