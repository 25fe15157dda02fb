"""The Data page in Chromium: a linked table's rows need no callback before them, the picker
still changes table, a second database's tables open, and the Excel downloads."""

from __future__ import annotations

import io
import json
import sqlite3
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from components.ids import Data
from tests.browser.test_data import cells, demo_db, is_block_request, wait_status
from tests.conftest import LiveServer
from tests.grid_fixtures import TABLE, build_mixed


def output_of(request) -> str:
    """The outputs a callback request asks for (empty for other requests)."""
    try:
        return str(json.loads(request.post_data or "{}").get("output", ""))
    except ValueError:
        return ""


def pick(page, search: str, option_text: str) -> None:
    """Choose a table in the picker by typing, as a person does."""
    page.click(f"#{Data.PICKER}")
    # With a table chosen, the focus is on its option: type into the search box.
    page.locator("input.dash-dropdown-search").fill(search)
    option = page.locator("[role=listbox] [role=option]", has_text=option_text)
    expect(option).to_have_count(1)
    option.click()


class Hold:
    """Holds back every callback request of a page except the grid's blocks, until released.

    ``requested``: the outputs requested, in order ("BLOCK" for a block). A first block
    answered while everything else is held waited on no other callback.
    """

    def __init__(self, page) -> None:
        """Start holding ``page``'s callback requests."""
        self.page, self.requested, self.held, self.holding = page, [], [], True
        page.route(lambda url: "_dash-update-component" in url, self._handle)

    def _handle(self, route) -> None:
        """Record a request; let a block (or anything once released) go, hold the rest."""
        block = is_block_request(route.request)
        self.requested.append("BLOCK" if block else output_of(route.request))
        if block or not self.holding:
            route.continue_()
        else:
            self.held.append(route)

    def release(self) -> None:
        """Let the held requests go (and those made from now on); wait for the page to settle."""
        self.holding = False
        for route in self.held:
            route.continue_()
        self.page.wait_for_load_state("networkidle")


def test_bf001_a_linked_tables_rows_wait_on_no_other_callback(page, live_server) -> None:
    """The grid comes with the first response and asks for its rows at once: the first block
    is answered while every other callback request of the page is held back (the list of
    tables, the group pickers, the chips, the saved views: Dash held the block behind the
    list of tables before), and no pages, picker or grid callback runs before it."""
    hold = Hold(page)
    page.goto(live_server.url("/data?table=main.events"))
    wait_status(page, "Rows 1–100 of 5,000")
    assert cells(page, "id")[:3] == ["1", "2", "3"]
    requested = hold.requested
    assert any(f"{Data.PICKER}.options" in o for o in requested), "no list of tables asked for"
    assert hold.held, requested
    # And nothing re-creates the grid later (it would ask for the same rows again).
    hold.release()
    expect(page.locator(f"#{Data.PICKER}")).to_contain_text("main.events — 5,000 rows")
    page.wait_for_load_state("networkidle")
    assert not [o for o in requested if "_pages_content" in o or Data.GRID_BOX in o], requested
    assert requested.count("BLOCK") == 1
    assert page.title() == "Data · dashapp"
    assert page.watch.problems() == []


def test_bf007_a_saved_grouped_views_link_comes_with_the_first_response(page, live_server) -> None:
    """A saved view's short link (grouped, with a set filter) opens through the first
    response too: its first groups are answered while every other callback is held, with
    the grouping and the set filter the view names (they travel in the grid's context)."""
    from dashapp.data.views import SavedViewStore
    from dashapp.db import make_engine

    view = {
        "table": "main.events",
        "filter": {},
        "sets": {"country": ["DE", "FR"]},
        "sort": [],
        "quick": "",
        "columns": None,
        "group": {"by": ["event_type"], "aggs": [{"fn": "count"}]},
        "chart": None,
    }
    engine = make_engine(f"sqlite:///{Path(live_server.log).parent / 'state.sqlite'}")
    saved = SavedViewStore(engine).save(owner="anonymous", name="By type", view=view, shared=True)
    engine.dispose()
    db = demo_db(live_server)
    groups = db.execute(
        "SELECT event_type, count(*) FROM events WHERE country IN ('DE', 'FR')"
        " GROUP BY 1 ORDER BY 1"
    ).fetchall()
    rows = sum(n for _, n in groups)

    hold = Hold(page)
    page.goto(live_server.url(f"/data?view={saved.id}"))
    wait_status(page, f"Groups 1–{len(groups)} of {len(groups)} ({rows:,} rows)")
    assert cells(page, "key0") == [g for g, _ in groups]
    requested = hold.requested
    assert len(hold.held) == len(requested) - 1, requested  # all but the block still held
    hold.release()
    # The address becomes the view's own link; the page's controls show the grouping.
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert json.loads(query["group"][0])["by"] == ["event_type"]
    expect(page.locator(f"#{Data.CHIPS} .chip-label")).to_have_count(2)
    # Neither the pages callback nor a new grid (it would ask for its first groups again;
    # the chips appearing do reach the exploring callback, which leaves the grid as it is).
    assert not [o for o in requested if "_pages_content" in o], requested
    assert requested.count("BLOCK") == 1
    # Opening a group still works (the grid is built anew with the group's filters).
    page.click('.ag-row[row-index="0"] [col-id="agg0"]')
    n = db.execute(
        "SELECT count(*) FROM events WHERE country IN ('DE', 'FR') AND event_type = ?",
        (groups[0][0],),
    ).fetchone()[0]
    wait_status(page, f"of {n:,} (filtered from 5,000)")
    assert page.watch.problems() == []


def test_bf002_the_picker_still_changes_table_and_the_link(page, live_server) -> None:
    page.goto(live_server.url("/data?table=main.events"))
    wait_status(page, "of 5,000")
    pick(page, "main.users", "main.users")
    wait_status(page, "of 2,000")
    assert "table=main.users" in page.url
    first = demo_db(live_server).execute("SELECT username FROM users ORDER BY id").fetchone()[0]
    assert cells(page, "username")[0] == first
    page.reload()  # the link opens the table it names
    wait_status(page, "of 2,000")
    assert page.watch.problems() == []


def test_bf003_without_the_referrer_the_page_still_opens_the_link(page, live_server) -> None:
    """A proxy or browser that drops the Referer: the layout comes without the page, the
    page through Dash's pages callback (the linked grid in it), as before."""
    requested: list[str] = []

    def no_referrer(route) -> None:  # fetched again, by a client that sends no Referer
        route.fulfill(response=page.context.request.get(route.request.url))

    page.on("request", lambda r: requested.append(output_of(r)))
    page.route(lambda url: url.endswith("_dash-layout"), no_referrer)
    page.goto(live_server.url("/data?table=main.users&q=hopper"))
    wait_status(page, "(filtered from 2,000)")
    assert any("_pages_content" in o for o in requested)
    assert page.input_value(f"#{Data.QUICK}") == "hopper"
    assert set(cells(page, "username")) <= {u for u in cells(page, "username") if "hopper" in u}
    assert page.watch.problems() == []


@pytest.fixture
def two_databases(pg_url: str, start_server, tmp_path: Path) -> LiveServer:
    """The demo SQLite database (default source) and a PostgreSQL one named ``pg``."""
    build_mixed(pg_url)
    return start_server(
        DASHAPP_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite'}",
        DASHAPP_DATA_DIR=str(tmp_path),
        DASHAPP_DATABASES=f"pg={pg_url}",
    )


def test_bf004_a_table_of_the_second_database(page, two_databases) -> None:
    page.goto(two_databases.url("/data?table=main.teams"))
    wait_status(page, "of 12")
    pick(page, "Mixed", "public.Mixed")
    wait_status(page, "of 80")
    key = f"pg:public.{TABLE}"
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)["table"] == [key]
    assert cells(page, "id")[:2] == ["1", "2"]
    # The picker shows the table under its database's heading.
    page.click(f"#{Data.PICKER}")
    options = page.locator("[role=listbox] [role=option]").all_inner_texts()
    assert options.index("▸ default") < options.index("▸ pg")
    assert options.index("▸ pg") < next(i for i, o in enumerate(options) if "Mixed" in o)
    page.keyboard.press("Escape")
    page.reload()  # the link names the database: the same table opens
    wait_status(page, "of 80")
    assert page.watch.problems() == []


def test_bf005_excel_downloads_of_the_current_view(page, live_server) -> None:
    flt = {"event_type": {"filterType": "text", "type": "equals", "filter": "login"}}
    page.goto(live_server.url("/data?table=main.events&filter=" + json.dumps(flt)))
    n_login = (
        demo_db(live_server)
        .execute("SELECT count(*) FROM events WHERE event_type = 'login'")
        .fetchone()[0]
    )
    wait_status(page, f"of {n_login:,} (filtered")

    with page.expect_download() as csv_dl:
        page.get_by_role("button", name="Excel").click()
        page.click(f"#{Data.EXPORT_EXCEL_CSV}")
    data = Path(csv_dl.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    assert len(data.decode("utf-8-sig").splitlines()) == n_login + 1

    with page.expect_download() as xlsx_dl:
        page.get_by_role("button", name="Excel").click()
        page.click(f"#{Data.EXPORT_XLSX}")
    assert xlsx_dl.value.suggested_filename == "main.events.xlsx"
    book = zipfile.ZipFile(io.BytesIO(Path(xlsx_dl.value.path()).read_bytes()))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == n_login + 1
    assert page.watch.problems() == []


def test_bf006_hostile_link_values_in_the_first_response(page, live_server) -> None:
    bad = '{"id":{"filterType":"number","type":"equals","filter":"1; DROP TABLE events"}}'
    page.goto(live_server.url("/data?table=main.events&filter=" + bad))
    page.wait_for_selector(f"#{Data.GRID_ERROR}", state="visible")
    assert "is not a number" in page.inner_text(f"#{Data.GRID_ERROR}")
    db = sqlite3.connect(Path(live_server.log).parent / "demo.sqlite")
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 5_000
    page.goto(live_server.url("/data?table=<img src=x onerror=alert(1)>"))
    page.wait_for_selector(f"#{Data.BANNER}", state="visible")
    assert "no table" in page.inner_text(f"#{Data.BANNER}")
    page.wait_for_selector(".ag-row .ag-cell")  # the first table instead
    assert page.watch.problems() == []
