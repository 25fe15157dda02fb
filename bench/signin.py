"""Sign-in timing (issue 17): does a wrong password take as long for an unknown name?

    .venv/bin/python bench/signin.py [--rounds 30]

Starts the app under gunicorn (1 worker) with one user, then times HTTP Basic requests
(interleaved in a random order, median of ``--rounds`` each): a known name with a wrong password, an unknown
name, the right password, and ``/healthz`` (no password check) as the same-run baseline.
Prints each median and the ratio unknown / known (before the fix: about 0.02).
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from grid import start_server  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402


def timed(url: str, user: str | None, password: str = "") -> float:
    """Milliseconds of one GET (any status)."""
    headers = {}
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    req = urllib.request.Request(url, headers=headers)
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
    except urllib.error.HTTPError as err:
        err.read()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    """Print the medians and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    users = f"carol:{generate_password_hash('s3cret-pass')}"
    proc, base = start_server(
        "",
        8794,
        workers=1,
        DASHAPP_USERS=users,
        DASHAPP_SIGNIN_ATTEMPTS="10000",
        DASHAPP_DEMO_ROWS="5000",
    )
    try:
        # An app path that needs a user; the wrong passwords both end in the same 401.
        page = base + "/data"
        probes = {
            "healthz (baseline)": (base + "/healthz", None, ""),
            "known name, wrong password": (page, "carol", "wrong"),
            "unknown name": (page, "nobody", "wrong"),
            "right password": (page, "carol", "s3cret-pass"),
        }
        for url, user, pw in probes.values():
            timed(url, user, pw)  # warm up
        times: dict[str, list[float]] = {k: [] for k in probes}
        order = list(probes)
        for _ in range(args.rounds):
            random.shuffle(order)  # no probe always follows another (scrypt's memory)
            for key in order:
                times[key].append(timed(*probes[key]))
        med = {k: statistics.median(v) for k, v in times.items()}
        for key, value in med.items():
            print(f"{key:30s} {value:8.1f} ms")
        print(
            "unknown / known (wrong password): "
            f"{med['unknown name'] / med['known name, wrong password']:.2f}"
        )
    finally:
        proc.terminate()
        proc.wait(40)


if __name__ == "__main__":
    main()
