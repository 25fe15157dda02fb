"""A frozen PostgreSQL (every process SIGSTOPped) under real gunicorn, as users see it.

The server's kernel still accepts connections and acknowledges every packet, so nothing
at the TCP level notices; the app must give up on its own, keep the pages that need no
database and ``/healthz`` answering, say what is wrong where the database is needed, and
recover by itself once the server runs again. Timeouts below only detect a hang.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import text

from components.ids import Data, Training
from dashapp.db import make_engine
from tests.callbacks.helpers import build_payload
from tests.conftest import LiveServer
from tests.faults.private_pg import PrivatePostgres

HANG_S = 60  # no answer within this long is a hang (a detector, not a measurement)
TABLE = "public.items"


def http(url: str, body: Any = None) -> tuple[int, Any]:
    """GET (or POST ``body`` as JSON): status and decoded body; a hang fails the test."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=HANG_S) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    except (TimeoutError, urllib.error.URLError) as exc:
        raise AssertionError(f"{url} hung: no answer within {HANG_S} s ({exc})") from None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def fill(url: str) -> None:
    """A small table to browse."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS items"))
        conn.execute(text("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)"))
        conn.execute(
            text("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g")
        )
    engine.dispose()


class Client:
    """What the Data and Training pages ask the server, posted as the browser would."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        status, self.deps = http(server.url("_dash-dependencies"))
        assert status == 200

    def block(self, start: int, table: str = TABLE) -> tuple[int, Any]:
        """One 100-row grid block of ``table``."""
        payload = build_payload(
            self.deps,
            f"{Data.GRID}.getRowsResponse",
            {
                f"{Data.GRID}.getRowsRequest": {
                    "startRow": start,
                    "endRow": start + 100,
                    "sortModel": [],
                    "filterModel": {},
                    "context": {"table": table},  # the grid names its table
                },
                f"{Data.QUICK}.value": "",
            },
        )
        return http(self.server.url("_dash-update-component"), payload)

    def jobs_list(self) -> tuple[int, Any]:
        """The Training page's first block of runs (read from the state database)."""
        payload = build_payload(
            self.deps,
            f"{Training.RUNS}.getRowsResponse",
            {
                f"{Training.RUNS}.getRowsRequest": {
                    "startRow": 0,
                    "endRow": 50,
                    "sortModel": [],
                    "filterModel": {},
                },
                f"{Training.RUNS_QUICK}.value": "",
            },
        )
        return http(self.server.url("_dash-update-component"), payload)


def warm_up(ask: Any) -> None:
    """Ask 16 at once, twice: each worker then keeps a pool of connections, as in production.

    Pooled connections are what a frozen server strands: a new one at least times out
    while connecting, a pooled one used to wait for its answer for ever.
    """
    with ThreadPoolExecutor(16) as pool:
        for _ in range(2):
            assert all(status == 200 for status, _ in pool.map(lambda _: ask(), range(16)))


def rows_of(answer: tuple[int, Any]) -> int:
    """Rows in a block answer (failing on anything but a 200)."""
    status, body = answer
    assert status == 200, body
    return len(body["response"][Data.GRID]["getRowsResponse"]["rowData"])


def grid_message(answer: tuple[int, Any]) -> str:
    """The message shown above the grid for a block answer."""
    status, body = answer
    assert status == 200, body
    return str(body["response"][Data.GRID_ERROR]["children"])


def health(server: LiveServer) -> tuple[int, dict[str, Any]]:
    """``/healthz``: status and checks."""
    status, body = http(server.url("healthz"))
    return status, body["checks"]


def wait_until_healthy(server: LiveServer) -> dict[str, Any]:
    """Ask ``/healthz`` until it says 200 (each ask with the hang detector); its checks."""
    checks: dict[str, Any] = {}
    for _ in range(120):  # the circuit retries every DASHAPP_DB_RETRY_S (5 s)
        status, checks = health(server)
        if status == 200:
            return checks
        time.sleep(0.5)
    raise AssertionError(f"/healthz never recovered: {checks}")


def answers_again(ask: Any, good: Any = lambda answer: answer[0] == 200) -> tuple[int, Any]:
    """``ask()`` until its answer is ``good`` (or 15 s): each worker's circuit lets a call
    through again only ``DASHAPP_DB_RETRY_S`` (5 s) after its last failure, whichever worker
    ``/healthz`` asked."""
    answer = ask()
    for _ in range(30):
        if good(answer):
            break
        time.sleep(0.5)
        answer = ask()
    return answer


def full_block(answer: tuple[int, Any]) -> bool:
    """A block answer with its 100 rows (a refused block is a 200 with none and a message)."""
    return answer[0] == 200 and rows_of(answer) == 100


def test_fz001_frozen_database_pages_health_and_grid_answer_then_recover(
    private_pg: PrivatePostgres, start_server
) -> None:
    fill(private_pg.url)
    # Both roles on the frozen server: the worst case for the worker's threads.
    server = start_server(
        DASHAPP_DATABASE_URL=private_pg.url,
        DASHAPP_STATE_URL=private_pg.url,
        DASHAPP_STATEMENT_TIMEOUT_S="2",
    )
    client = Client(server)
    assert rows_of(client.block(0)) == 100
    assert health(server)[0] == 200
    warm_up(lambda: client.block(0))
    warm_up(client.jobs_list)
    private_pg.freeze()
    try:
        # Three times as many grid requests at once as the two workers have threads (2 x 4).
        with ThreadPoolExecutor(24) as pool:
            blocks = [pool.submit(client.block, 100 * (i % 10)) for i in range(24)]
            time.sleep(1)  # let them reach the workers first (not a measurement)
            for path in ("/", "/compositor", "/data"):
                assert http(server.url(path))[0] == 200, path
            status, checks = health(server)
            assert status == 503
            assert checks["database"].startswith("unreachable: not answering"), checks
            assert checks["state"].startswith("unreachable: not answering"), checks
            assert checks["data_dir"] == "ok"
            answers = [f.result() for f in blocks]
        messages = [grid_message(a) for a in answers]
        assert all(rows_of(a) == 0 for a in answers)
        assert all("not answering" in m or "slow to answer" in m for m in messages), messages
        assert any("The database is not answering, retrying" in m for m in messages)
        # Asked now, a block is refused with the message instead of waiting on the server.
        assert "not answering" in grid_message(client.block(1000))
        status, body = client.jobs_list()
        assert status == 503
        assert "not answering" in body["error"]
    finally:
        private_pg.thaw()
    checks = wait_until_healthy(server)
    assert checks == {"database": "ok", "state": "ok", "data_dir": "ok", "cache": "ok"}
    assert rows_of(answers_again(lambda: client.block(500), full_block)) == 100
    assert answers_again(client.jobs_list)[0] == 200
    for path in ("/", "/compositor", "/data"):
        assert http(server.url(path))[0] == 200, path


def test_fz002_frozen_state_database_leaves_the_data_page_working(
    private_pg: PrivatePostgres, start_server
) -> None:
    # The browsed database is the demo SQLite file; only the state database freezes.
    server = start_server(DASHAPP_STATE_URL=private_pg.url, DASHAPP_STATEMENT_TIMEOUT_S="2")
    client = Client(server)
    assert client.jobs_list()[0] == 200
    warm_up(client.jobs_list)
    private_pg.freeze()
    try:
        with ThreadPoolExecutor(24) as pool:
            lists = [pool.submit(client.jobs_list) for _ in range(24)]
            time.sleep(1)  # let them reach the workers first (not a measurement)
            assert rows_of(client.block(0, "main.events")) == 100
            assert http(server.url("/training"))[0] == 200
            status, checks = health(server)
            assert status == 503
            assert checks["database"] == "ok"
            assert checks["state"].startswith("unreachable: not answering"), checks
            answers = [f.result() for f in lists]
        assert all(status == 503 for status, _ in answers), answers
        assert all("not answering" in body["error"] for _, body in answers)
    finally:
        private_pg.thaw()
    wait_until_healthy(server)
    assert answers_again(client.jobs_list)[0] == 200


def in_thread(fn: Any) -> Any:
    """``fn()`` in a thread, failing the test if it is still waiting after ``HANG_S``."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(fn).result(timeout=HANG_S)
    except TimeoutError:
        raise AssertionError(f"still waiting after {HANG_S} s: a hang") from None
    finally:
        pool.shutdown(wait=False)  # a hung call is left behind (it ends once thawed)


def test_fz003_a_statement_on_a_frozen_server_gives_up_and_the_pool_recovers(
    private_pg: PrivatePostgres, tmp_path
) -> None:
    from dashapp.data.catalog import DataUnavailable
    from dashapp.data.grid_service import fetch_block
    from dashapp.deps import Deps
    from dashapp.settings import Settings

    fill(private_pg.url)
    deps = Deps(
        Settings(
            data_dir=tmp_path,
            database_url=private_pg.url,
            statement_timeout_s=1,
            db_retry_s=1,
        )
    )
    request = {"startRow": 0, "endRow": 10}

    def block() -> str:
        try:
            return f"{len(fetch_block(deps.catalog, TABLE, request)[0].rows)} rows"
        except DataUnavailable as exc:
            return str(exc)

    assert block() == "10 rows"  # a pooled connection, used a moment ago
    private_pg.freeze()
    try:
        assert in_thread(block).startswith("The database is not answering, retrying")
        # Now it fails at once (the circuit is open), still with the message.
        assert in_thread(block).startswith("The database is not answering, retrying")
    finally:
        private_pg.thaw()
    for _ in range(50):  # the circuit lets a call through after DASHAPP_DB_RETRY_S
        if in_thread(block) == "10 rows":
            break
        time.sleep(0.2)
    assert in_thread(block) == "10 rows"
    deps.dispose()
