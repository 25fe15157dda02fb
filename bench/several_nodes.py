"""Several nodes (issue 13): grid blocks through HAProxy while a node is restarted or killed.

    .venv/bin/python bench/several_nodes.py [--seconds 30] [--rows 200000]

Starts the deployment of README "Several machines" on this machine (tests/cluster.py: two
gunicorn nodes with their own data folders, a Celery worker, HAProxy round-robin; PostgreSQL
and Redis shared) and prints, in one run, with 16 bounded clients asking for grid blocks:
  1. throughput with both nodes, and with one node (the other stopped): the ratio is for
     the note (both nodes share these 2 cores, so it cannot double);
  2. a deploy-style restart of one node under load (SIGTERM, then started again): failed
     requests (target 0: gunicorn finishes what it holds, HAProxy's /healthz checks take the
     node out and back);
  3. the same with SIGKILL: failed requests (only those in flight on the killed node may fail).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import production  # noqa: E402

from dashapp.data.demo_data import DemoSizes, load_postgresql  # noqa: E402
from tests.callbacks.helpers import build_payload  # noqa: E402
from tests.cluster import Cluster, cluster  # noqa: E402
from tests.conftest import fresh_pg_database  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432/test"


def grid_payload(made: Cluster) -> str:
    """The request the grid sends for a block of the events table."""
    deps = json.loads(urllib.request.urlopen(made.url("_dash-dependencies")).read())
    body = build_payload(
        deps,
        "data-grid.getRowsResponse",
        {
            "data-grid.getRowsRequest": {"context": {"table": "public.events"}},
            "data-quick.value": "",
        },
    )
    return json.dumps(body)


def under_load(made: Cluster, seconds: float, payload: str, during=None) -> dict[str, float]:
    """``production.load`` through the balancer; ``during()`` runs a third of the way in."""
    port = int(made.base.rsplit(":", 1)[1])
    if during is not None:
        timer = threading.Timer(seconds / 3, during)
        timer.start()
    result = production.load("app", port, seconds, payload)
    if during is not None:
        timer.join()
    return result


def main() -> None:
    """Print the three figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    production.ROWS = args.rows
    tmp = Path(tempfile.mkdtemp())
    with fresh_pg_database(PG) as data_url, fresh_pg_database(PG) as state_url:
        load_postgresql(data_url, DemoSizes(events=args.rows), echo=lambda _: None)
        with cluster(tmp, state_url, data_url) as made:
            payload = grid_payload(made)
            under_load(made, 3, payload)  # warm every worker (reflection, counts)
            two = under_load(made, args.seconds, payload)
            made.nodes[1].kill(signal.SIGTERM)
            time.sleep(2)  # the balancer's checks take it out
            one = under_load(made, args.seconds, payload)
            made.nodes[1].start()
            made.wait_balanced()
            time.sleep(2)

            def restart() -> None:
                made.nodes[0].kill(signal.SIGTERM)
                made.nodes[0].start()

            rolling = under_load(made, args.seconds, payload, restart)
            time.sleep(2)

            def crash() -> None:
                made.nodes[1].kill(signal.SIGKILL)

            killed = under_load(made, args.seconds, payload, crash)
    print(
        f"1. grid blocks through HAProxy, {production.CLIENTS} clients, {args.seconds:.0f} s each"
    )
    print(
        f"   one node (baseline)  {one['rps']:7.0f} req/s  p99 {one['p99']:6.1f} ms  errors {one['errors']}"
    )
    print(
        f"   two nodes            {two['rps']:7.0f} req/s  p99 {two['p99']:6.1f} ms  errors {two['errors']}"
    )
    print(f"   ratio {two['rps'] / one['rps']:.2f}  (2 cores shared by both nodes: not 2x)")
    print("2. one node restarted under load (SIGTERM, then started again)")
    print(f"   {rolling['rps']:7.0f} req/s  failed requests {rolling['errors']}  (target 0)")
    print("3. one node killed under load (SIGKILL)")
    print(
        f"   {killed['rps']:7.0f} req/s  failed requests {killed['errors']}  (only those in flight on it may fail)"
    )


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()
