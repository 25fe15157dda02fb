"""Data page figures on a 10M-row PostgreSQL table (issue 3), each against a same-run baseline.

    .venv/bin/python bench/grid.py [--url postgresql://postgres@127.0.0.1:5432/dashapp_bench]

Loads the demo tables (10,000,000 events) into the database first if they are not there.
Prints:
  1. server time of a grid block request / time of the bare SQL it runs (same driver)
  2. p50 block latency at row 0 and at row 5,000,000 of the sorted table
  3. peak extra memory of a gunicorn worker while exporting 1,000,000 rows as CSV
  4. time in headless Chromium from opening /data?table=... to the first rows visible

    .venv/bin/python bench/grid.py --explore   # only the exploring figures (issue 15):
  5. the set filter's value list of a column with <= 50 values (indexed): p50, unfiltered and
     filtered, against the bare GROUP BY that counts them exactly
  6. group by one indexed column with count: p50 of the grouped block, against its bare SQL
  7. a grouping slower than the statement time limit: block requests meanwhile (p50 against
     none running), and the time until it ends with its message
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def wsgi_caller(app: Any, path: str, body: bytes) -> Any:
    """A function that runs one POST through the app's WSGI stack in this process.

    This is the server's own time for a request: no HTTP client, no socket, no test-client
    machinery around it (that added about 0.1 ms to the figures of earlier runs).
    """
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(
        path=path, method="POST", data=body, content_type="application/json"
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


def block_figures(url: str, repeat: int) -> None:
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

        def block_call(request: dict[str, Any]) -> tuple[Any, float]:
            """The request as a callable, and the time of its first (cold) run."""
            body = build_payload(
                deps,
                "data-grid.getRowsResponse",
                {
                    "data-grid.getRowsRequest": request,
                    "data-picker.value": "public.events",
                    "data-quick.value": "",
                },
            )
            call = wsgi_caller(app, "/_dash-update-component", json.dumps(body).encode())
            size = request["endRow"] - request["startRow"]
            t0 = time.perf_counter()
            grid = json.loads(call())["response"]["data-grid"]
            first = (time.perf_counter() - t0) * 1000
            assert len(grid["getRowsResponse"]["rowData"]) == size, "short block"
            return call, first

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
            server = timed(block_call(req)[0], repeat)
            layer = timed(lambda req=req: fetch_block(catalog, "public.events", req), repeat)
            bare = timed(bare_call(req), repeat)
            plain = timed(plain_call, repeat)
            floor = bare + ping + idle
            print(f"   {label}:")
            print(
                f"     server {server:.2f} ms = bare SQL {bare:.2f} + pre-ping {ping:.2f}"
                f" + rest of data layer {layer - bare - ping:.2f}"
                f" + Dash request {server - layer:.2f} (empty one: {idle:.2f})"
            )
            print(
                f"     ratio server/bare {server / bare:.2f}  (target <= 1.5); data layer/bare"
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
        for start, target in ((0, 50), (5_000_000, 100)):
            req = {"startRow": start, "endRow": start + 100, "sortModel": SORTED, "filterModel": {}}
            call, first = block_call(req)
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


def rss_kb(pid: int) -> int:
    """Resident memory of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_server(
    url: str, port: int, workers: int = 1, **extra: str
) -> tuple[subprocess.Popen[bytes], str]:
    """The app under gunicorn on loopback (``url`` empty: the demo database)."""
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
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            return proc, base
        except Exception:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def export_figure(url: str) -> None:
    """Figure 3: peak worker memory above idle while streaming 1M rows of CSV."""
    proc, base = start_server(url, 8791)
    try:
        workers = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        # gunicorn execs from our CLI, so its master is proc.pid; the one child is the worker.
        pid = int(workers[0])
        urllib.request.urlopen(base + "/data").read()
        idle = rss_kb(pid)
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(rss_kb(pid))
                time.sleep(0.02)

        threading.Thread(target=sample, daemon=True).start()
        flt = {"id": {"filterType": "number", "type": "lessThanOrEqual", "filter": 1_000_000}}
        query = urllib.parse.urlencode(
            {
                "table": "public.events",
                "filter": json.dumps(flt),
                "sort": json.dumps([{"colId": "id", "sort": "asc"}]),
            }
        )
        t0 = time.perf_counter()
        size = lines = 0
        with urllib.request.urlopen(f"{base}/export.csv?{query}", timeout=600) as resp:
            while chunk := resp.read(1 << 16):
                size += len(chunk)
                lines += chunk.count(b"\n")
        secs = time.perf_counter() - t0
        done.set()
        extra_mb = (max(peak) - idle) / 1024
        print("\n3. CSV export of 1,000,000 rows through gunicorn")
        print(f"   {lines - 1:,} rows, {size / 1e6:.0f} MB in {secs:.1f} s")
        print(
            f"   worker RSS idle {idle / 1024:.0f} MB, peak +{extra_mb:.1f} MB above idle (target < 100 MB);"
            f" ratio to file size {extra_mb / (size / 2**20):.2f}"
        )
    finally:
        proc.terminate()
        proc.wait(30)


def browser_figure(url: str, repeat: int) -> None:
    """Figure 4: Chromium, open /data?table=public.events until rows show; baseline: home page."""
    from playwright.sync_api import sync_playwright

    proc, base = start_server(url, 8792, workers=2)
    try:
        with sync_playwright() as pw:
            from tests.conftest import CHROMIUM_ARGS

            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

            def once(path: str, selector: str) -> float:
                ctx = browser.new_context()
                page = ctx.new_page()
                t0 = time.perf_counter()
                page.goto(base + path)
                page.wait_for_selector(selector, state="visible", timeout=60_000)
                dt = (time.perf_counter() - t0) * 1000
                ctx.close()
                return dt

            once("/data?table=public.events", ".ag-row .ag-cell")  # warm the server caches
            home = [once("/", "#home-cards") for _ in range(repeat)]
            data = [once("/data?table=public.events", ".ag-row .ag-cell") for _ in range(repeat)]
            browser.close()
        print("\n4. headless Chromium, fresh context each time (p50)")
        print(f"   home page rendered             {p50(home):7.0f} ms (baseline)")
        print(
            f"   /data?table=public.events rows {p50(data):7.0f} ms  ratio {p50(data) / p50(home):.2f}"
        )
    finally:
        proc.terminate()
        proc.wait(30)


def explore_catalog(url: str, timeout_s: float = 10) -> Any:
    """A catalog of the bench database as the app builds it (read-only, with a time limit)."""
    from dashapp.data.catalog import Catalog

    return Catalog(make_engine(url, read_only=True, statement_timeout_s=timeout_s))


def timed_runs(fn: Any, repeat: int, warm: int = 1) -> list[float]:
    """Milliseconds of ``repeat`` runs of ``fn()`` after ``warm`` unmeasured ones."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def bare_sql(url: str, stmt: Any, dialect: Any) -> Any:
    """A callable running ``stmt`` on a plain psycopg2 cursor (the baseline: no app code)."""
    compiled = stmt.compile(dialect=dialect)
    sql_text, params = str(compiled), compiled.params
    raw = make_engine(url).raw_connection()

    def call() -> None:
        cur = raw.cursor()
        cur.execute(sql_text, params)
        cur.fetchall()
        cur.close()

    return call


def set_filter_figures(url: str, repeat: int) -> None:
    """Figure 5: the set filter's list of ``event_type`` (8 values, indexed) on 10M rows."""
    from sqlalchemy import func, select

    from dashapp.data.distinct import distinct_values

    catalog = explore_catalog(url)
    info = catalog.table("public.events")
    col = info.table.c.event_type
    exact = (
        select(col, func.count())
        .select_from(info.table)
        .group_by(col)
        .order_by(func.count().desc())
    )
    indexed = {"duration_ms": {"filterType": "number", "type": "greaterThan", "filter": 3000}}
    other = {"country": {"filterType": "set", "values": ["DE"]}}
    print("\n5. set filter: values of events.event_type (8 values, indexed) with their counts")
    print("   baseline: the bare GROUP BY that counts every row (psycopg2, no app code)")
    base = p50(timed_runs(bare_sql(url, exact, catalog.engine.dialect), max(3, repeat // 10)))
    print(f"   bare exact GROUP BY over 10M rows     p50 {base:8.1f} ms (baseline)")
    for label, model, runs in (
        ("no filter (planner's statistics)  ", {}, repeat),
        ("duration_ms > 3000 (indexed), exact", indexed, repeat),
        ("country = DE (not indexed), exact  ", other, max(3, repeat // 10)),
    ):
        found = distinct_values(catalog, "public.events", "event_type", {"filterModel": model})
        took = p50(
            timed_runs(
                lambda m=model: distinct_values(
                    catalog, "public.events", "event_type", {"filterModel": m}
                ),
                runs,
            )
        )
        target = "  (target < 300 ms)" if not model else ""
        kind = "estimated" if found.estimated else "counted"
        print(
            f"   {label}  p50 {took:8.1f} ms  ratio to baseline {took / base:.3f};"
            f" {len(found.values)} values, {kind}{target}"
        )
    # Applying it: blocks of the filtered view, sorted by occurred_at (indexed).
    from dashapp.data.grid_service import fetch_block

    picked = {"event_type": {"filterType": "set", "values": ["login", "error"]}}
    block = {"startRow": 0, "endRow": 100, "sortModel": SORTED, "filterModel": picked}
    t0 = time.perf_counter()
    fetch_block(catalog, "public.events", block)
    first = (time.perf_counter() - t0) * 1000
    later = p50(timed_runs(lambda: fetch_block(catalog, "public.events", block), repeat))
    print(
        f"   applied (login, error): first block {first:.1f} ms (counts the view once),"
        f" later blocks p50 {later:.1f} ms"
    )
    catalog.engine.dispose()


def group_figures(url: str, repeat: int) -> None:
    """Figure 6: group by event_type with count, the grouped block against its bare SQL."""
    from dashapp.data.grid_query import parse_view
    from dashapp.data.grouping import fetch_groups, grouped_select, parse_grouping

    catalog = explore_catalog(url)
    info = catalog.table("public.events")
    spec = {"by": ["event_type"], "aggs": [{"fn": "count"}]}
    request = {"startRow": 0, "endRow": 100, "sortModel": []}
    view = parse_view(info, {}, "postgresql")
    stmt = grouped_select(info, parse_grouping(info, spec), view, "postgresql")
    runs = max(3, repeat // 10)
    base = p50(timed_runs(bare_sql(url, stmt.limit(100), catalog.engine.dialect), runs))
    took = p50(timed_runs(lambda: fetch_groups(catalog, "public.events", spec, request), runs))
    print("\n6. group by events.event_type (indexed) with count, first block of groups")
    print(f"   bare GROUP BY (psycopg2)        p50 {base:8.1f} ms (baseline)")
    print(f"   grouped block (fetch_groups)    p50 {took:8.1f} ms  ratio {took / base:.2f}")
    catalog.engine.dispose()


def slow_group_figures(url: str, repeat: int) -> None:
    """Figure 7: a grouping past a 3 s time limit, and block requests while it runs."""
    from dashapp.data.catalog import DataUnavailable
    from dashapp.data.grid_service import fetch_block
    from dashapp.data.grouping import fetch_groups

    timeout_s = 3.0
    catalog = explore_catalog(url, timeout_s)
    block = {"startRow": 0, "endRow": 100, "sortModel": SORTED, "filterModel": {}}
    fetch_block(catalog, "public.events", block)
    alone = timed_runs(lambda: fetch_block(catalog, "public.events", block), repeat)
    outcome: dict[str, Any] = {}

    def slow() -> None:
        t0 = time.perf_counter()
        try:
            first = {"startRow": 0, "endRow": 100}
            fetch_groups(catalog, "public.events", {"by": ["occurred_at", "message"]}, first)
            outcome["message"] = "finished (no time limit reached)"
        except DataUnavailable as exc:
            outcome["message"] = str(exc)
        outcome["s"] = time.perf_counter() - t0

    thread = threading.Thread(target=slow)
    thread.start()
    during = []
    while thread.is_alive():
        t0 = time.perf_counter()
        fetch_block(catalog, "public.events", block)
        during.append((time.perf_counter() - t0) * 1000)
    thread.join()
    print(f"\n7. a grouping past the {timeout_s:g} s statement time limit (occurred_at, message)")
    print(f"   block requests alone            p50 {p50(alone):7.1f} ms (baseline)")
    print(
        f"   block requests while it ran     p50 {p50(during):7.1f} ms  ratio"
        f" {p50(during) / p50(alone):.2f}; {len(during)} answered meanwhile"
    )
    print(f"   the grouping ended after {outcome['s']:.1f} s: {outcome['message']}")
    catalog.engine.dispose()


def main() -> None:
    """Run every figure (``--explore``: only the exploring ones)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/dashapp_bench")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explore", action="store_true", help="only figures 5-7 (issue 15)")
    args = parser.parse_args()
    ensure_data(args.url, args.rows)
    if args.explore:
        set_filter_figures(args.url, args.repeat)
        group_figures(args.url, args.repeat)
        slow_group_figures(args.url, args.repeat)
        return
    block_figures(args.url, args.repeat * 10)
    export_figure(args.url)
    browser_figure(args.url, max(3, args.repeat // 6))


if __name__ == "__main__":
    main()
