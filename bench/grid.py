"""Data page figures on a 10M-row PostgreSQL table (issues 3 and 15), each against a same-run
baseline.

    .venv/bin/python bench/grid.py [--url postgresql://postgres@127.0.0.1:5432/dashapp_bench]
                                   [--rows N] [--repeat N] [--visits N] [--figures 1,2,3,4]

Loads the demo tables (--rows events, 10,000,000 by default) into the database first if they
are not there (a smaller --rows is quicker to iterate with; the figures name the row count).
Prints:
  1. server time of a grid block request / time of the bare SQL it runs (same driver); the
     target of 1.5 is retired (the block path is under a millisecond of our own time), the
     ratio stays so a regression shows
  2. p50 block latency at row 0 and at the middle row of the sorted table
  3. peak extra memory of a gunicorn worker while exporting 1,000,000 rows as CSV, and as
     XLSX (target: <= 100 MB above idle)
  4. headless Chromium, a fresh (cold) browser profile per visit, warm server, median of
     --visits visits (5) of each page, interleaved: the time from opening
     /data?table=public.events to its first row of data visible, against the home page's
     time to show its cards (target <= 1.2x); the chain of sequential requests from the
     navigation to the first block's answer; the bytes the browser received for the visit,
     against the same visit with compression refused (Accept-Encoding: identity)
``--explore`` (or ``--figures 5,6,7``): the exploring figures 5-7 (bench/grid_explore.py).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from export_memory import export_figure, start_server  # noqa: E402
from sqlalchemy import text  # noqa: E402

from dashapp.app import deps_of  # noqa: E402
from dashapp.data.demo_data import DemoSizes, load_postgresql  # noqa: E402
from dashapp.db import make_engine  # noqa: E402
from tests.callbacks.helpers import build_payload  # noqa: E402

SORTED = [{"colId": "occurred_at", "sort": "asc"}]
LOGIN = {"event_type": {"filterType": "text", "type": "equals", "filter": "login"}}


def p50(xs: list[float]) -> float:
    """Median."""
    return statistics.median(xs)


def ensure_data(url: str, rows: int) -> None:
    """Create the database if needed and load the demo tables unless ``events`` has ``rows``."""
    from dashapp.db import normalize_url

    target = normalize_url(url)
    admin = make_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            have = conn.execute(text("SELECT max(id) FROM events")).scalar()
    except Exception:
        have = None
    finally:
        engine.dispose()
    if have != rows:
        print(f"loading {rows:,} demo events into {url} (once; a few minutes)...", flush=True)
        load_postgresql(url, DemoSizes(events=rows), echo=print)


def wsgi_caller(app: Any, path: str, body: bytes, **headers: str) -> Any:
    """A function that runs one POST through the app's WSGI stack in this process.

    This is the server's own time for a request: no HTTP client, no socket, no test-client
    machinery around it (that added about 0.1 ms to the figures of earlier runs).
    """
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(
        path=path, method="POST", data=body, content_type="application/json", headers=headers
    ).get_environ()
    wsgi = app.server.wsgi_app

    def call() -> bytes:
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        status: list[str] = []
        out = b"".join(wsgi(env, lambda s, h, e=None: status.append(s)))
        assert status[0].startswith("200"), (status, out[:300])
        return out

    return call


def plain_route(app: Any, plain_sql: dict[str, Any]) -> Any:
    """The least a block endpoint could do: run the SQL on a pooled connection, send the rows.

    No Dash, no validation, no row shaping: a floor for the ratio, not a design.
    """
    import orjson
    from flask import Response

    catalog = deps_of(app).catalog
    raw = catalog.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(plain_sql["sql"], plain_sql["params"])
        rows = cur.fetchall()
        cur.close()
    finally:
        raw.close()
    return Response(orjson.dumps({"rows": rows}, default=str), mimetype="application/json")


def timed(fn: Any, repeat: int) -> float:
    """p50 milliseconds of ``fn()`` over ``repeat`` runs, after a few warm-up runs."""
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return p50(times)


def block_figures(url: str, repeat: int, rows: int) -> None:
    """Figures 1 and 2: the Dash block request vs the bare SQL, its parts, latency by depth."""
    from dashapp.app import create_app
    from dashapp.data.grid_query import parse_view, select_view
    from dashapp.data.grid_service import fetch_block
    from dashapp.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), database_url=url, demo_autocreate=False))
        plain_sql: dict[str, Any] = {}
        app.server.add_url_rule(
            "/_bench/rows", "bench_rows", lambda: plain_route(app, plain_sql), methods=["POST"]
        )
        client = app.server.test_client()
        deps = client.get("/_dash-dependencies").get_json()
        catalog = deps_of(app).catalog
        info = catalog.table("public.events")

        def block_call(request: dict[str, Any]) -> tuple[Any, float, Any]:
            """The request as a callable, the time of its first (cold) run, and the request
            as a browser sends it (taking gzip) as a callable."""
            body = build_payload(
                deps,
                "data-grid.getRowsResponse",
                {
                    # The grid names its table in every request (AG Grid's context).
                    "data-grid.getRowsRequest": {**request, "context": {"table": "public.events"}},
                    "data-quick.value": "",
                },
            )
            call = wsgi_caller(app, "/_dash-update-component", json.dumps(body).encode())
            gzipped = wsgi_caller(
                app, "/_dash-update-component", json.dumps(body).encode(), Accept_Encoding="gzip"
            )
            size = request["endRow"] - request["startRow"]
            t0 = time.perf_counter()
            grid = json.loads(call())["response"]["data-grid"]
            first = (time.perf_counter() - t0) * 1000
            assert len(grid["getRowsResponse"]["rowData"]) == size, "short block"
            return call, first, gzipped

        # The same app and request hooks, a callback that returns at once (no row selected):
        # what any Dash request costs here before it does any work.
        idle_body = build_payload(
            deps, "data-detail.is_open", {"data-grid.selectedRows": None, "data-picker.value": None}
        )
        idle_call = wsgi_caller(app, "/_dash-update-component", json.dumps(idle_body).encode())
        raw = make_engine(url).raw_connection()

        def bare_call(request: dict[str, Any]) -> Any:
            view = parse_view(info, request, "postgresql")
            stmt = select_view(info, view, "postgresql").offset(request["startRow"])
            stmt = stmt.limit(request["endRow"] - request["startRow"])
            compiled = stmt.compile(dialect=catalog.engine.dialect)
            sql, params = str(compiled), compiled.params
            plain_sql.update(sql=sql, params=params)

            def call() -> None:
                cur = raw.cursor()
                cur.execute(sql, params)
                cur.fetchall()
                cur.close()

            return call

        def checkout() -> None:
            with catalog.engine.connect():
                pass  # pool checkout with pre-ping (no round trip: used a moment ago), and return

        plain_call = wsgi_caller(app, "/_bench/rows", b"{}")

        print("\n1. grid block request vs the bare SQL it runs (100 rows, p50)")
        print(
            "   server = the whole Dash callback request through the app's WSGI stack, in-process;"
        )
        print("   bare = the same SELECT on a psycopg2 cursor. Parts of the server time:")
        print(
            "   pre-ping = pool checkout with pool_pre_ping (quick: a connection used <0.5 s ago);"
        )
        print("   data layer = fetch_block (validation, SQL through SQLAlchemy, row shaping);")
        print("   empty Dash request = a callback that returns at once, same app and hooks")
        idle = timed(idle_call, repeat * 3)
        ping = timed(checkout, repeat * 3)
        for label, fm in (("sorted by occurred_at", {}), ("+ filter event_type = login", LOGIN)):
            req = {"startRow": 0, "endRow": 100, "sortModel": SORTED, "filterModel": fm}
            call, _, gzipped = block_call(req)
            server = timed(call, repeat)
            with_gzip = timed(gzipped, repeat)
            layer = timed(lambda req=req: fetch_block(catalog, "public.events", req), repeat)
            bare = timed(bare_call(req), repeat)
            plain = timed(plain_call, repeat)
            floor = bare + ping + idle
            print(f"   {label}:")
            print(
                f"     server {server:.2f} ms = bare SQL {bare:.2f} + pre-ping {ping:.2f}"
                f" + rest of data layer {layer - bare - ping:.2f}"
                f" + Dash request {server - layer:.2f} (empty one: {idle:.2f});"
                f" gzipped as a browser asks: {with_gzip:.2f}"
            )
            print(
                f"     ratio server/bare {server / bare:.2f}  (old target <= 1.5, retired); data layer/bare"
                f" {layer / bare:.2f}; floor (bare + pre-ping + empty Dash request)/bare"
                f" {floor / bare:.2f}"
            )
            print(
                f"     lowest conceivable: a plain Flask route in this app running the same SQL"
                f" and returning the rows as JSON, nothing checked: {plain:.2f} ms,"
                f" ratio {plain / bare:.2f}"
            )
            print(
                f"     fixed cost over the SQL {server - bare:.2f} ms: the ratio reaches 1.5 once"
                f" the bare SQL takes {2 * (server - bare):.2f} ms (a database across a network,"
                " a heavier query)"
            )

        print("\n2. block latency by depth (sorted by occurred_at, 100 rows, whole Dash request)")
        for start, target in ((0, 50), (rows // 2, 100)):
            req = {"startRow": start, "endRow": start + 100, "sortModel": SORTED, "filterModel": {}}
            call, first, _ = block_call(req)
            times = []
            for _ in range(max(5, repeat // 10)):
                t0 = time.perf_counter()
                call()
                times.append((time.perf_counter() - t0) * 1000)
            print(
                f"   row {start:>9,}: first {first:7.1f} ms, p50 {p50(times):7.1f} ms"
                f"  (target p50 < {target} ms)"
            )
        raw.close()


def main() -> None:
    """Run every figure (``--explore``: only the exploring ones)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/dashapp_bench")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explore", action="store_true", help="only figures 5-7 (issue 15)")
    parser.add_argument("--visits", type=int, default=5, help="browser visits of each page")
    parser.add_argument("--figures", default="1,2,3,4", help="which figures, e.g. 3,4 or 5,6,7")
    args = parser.parse_args()
    figures = {int(f) for f in args.figures.split(",") if f.strip()}
    ensure_data(args.url, args.rows)
    if args.explore:
        figures = {5, 6, 7}
    if figures & {1, 2}:
        block_figures(args.url, args.repeat * 10, args.rows)
    if 3 in figures:
        for kind in ("csv", "xlsx"):
            export_figure(args.url, kind, min(args.rows, 1_000_000))
    if 4 in figures:
        from first_rows import browser_figure

        proc, base = start_server(args.url, workers=2)
        try:
            browser_figure(base, args.visits)
        finally:
            proc.terminate()
            proc.wait(30)
    if figures & {5, 6, 7}:
        from grid_explore import explore_figures

        explore_figures(args.url, args.repeat)


if __name__ == "__main__":
    main()
