"""Exploring on the Data page as a person does it: pick values, group, chips, profile, views.

On the demo SQLite database (the session's gunicorn) and on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import text as sql

from components.ids import Data
from dashapp.db import make_engine
from tests.browser.test_data import cells, demo_db, wait_status
from tests.conftest import LiveServer


def open_values(page, column: str) -> None:
    """Right-click a column's header: its values panel opens with its values listed."""
    page.click(f'.ag-header-cell[col-id="{column}"] .ag-header-cell-label', button="right")
    expect(page.locator(f"#{Data.COLUMN_PANEL}")).to_be_visible()
    expect(page.locator(f"#{Data.PANEL_COLUMN}")).to_have_value(column)
    page.wait_for_selector(f"#{Data.SET_LIST} input[type=checkbox]")


def option(page, text: str):
    """The set filter's checkbox label of one value, by its exact text."""
    exact = re.compile(f"^{re.escape(text)}$")
    return page.locator(f"#{Data.SET_LIST} label").filter(
        has=page.locator(".set-option > span", has_text=exact)
    )


def choose(page, dropdown_id: str, text: str) -> None:
    """Pick the option ``text`` of a Dash dropdown by typing it, as a person does."""
    page.click(f"#{dropdown_id}")
    page.wait_for_function(
        "() => document.activeElement?.classList.contains('dash-dropdown-search')"
    )
    page.keyboard.type(text)
    expect(page.locator("[role=listbox] [role=option]")).to_have_count(1)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")


def expect_chips(page, labels: list[str]) -> None:
    """Wait until the chips above the grid are exactly ``labels`` (the view settles first)."""
    expect(page.locator(f"#{Data.CHIPS} .chip-label")).to_have_text(labels)


def test_be001_pick_values_from_a_header_filters_links_and_exports(page, live_server) -> None:
    db = demo_db(live_server)
    page.goto(live_server.url("/data?table=main.events"))
    wait_status(page, "of 5,000")
    open_values(page, "event_type")
    counts = dict(db.execute("SELECT event_type, count(*) FROM events GROUP BY 1").fetchall())
    login = option(page, "login")
    expect(login).to_contain_text(f"{counts['login']:,}")
    login.click()
    option(page, "error").click()
    page.click(f"#{Data.SET_APPLY}")
    want = counts["login"] + counts["error"]
    wait_status(page, f"of {want:,} (filtered from 5,000)")
    expect(page.locator(f"#{Data.COLUMN_PANEL}")).to_be_hidden()
    assert set(cells(page, "event_type")) <= {"login", "error"}
    expect_chips(page, ["event_type in “login”, “error”"])
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert json.loads(query["filter"][0]) == {
        "event_type": {"filterType": "set", "values": ["login", "error"]}
    }
    # The export is the filtered view; so is the same link opened again.
    with page.expect_download() as dl:
        page.click(f"#{Data.EXPORT}")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert len(rows) == want
    assert {r["event_type"] for r in rows} == {"login", "error"}
    page.reload()
    wait_status(page, f"of {want:,} (filtered")
    expect_chips(page, ["event_type in “login”, “error”"])
    # Searching the values narrows the list in SQL; a picked value stays picked.
    open_values(page, "message")
    page.fill(f"#{Data.SET_SEARCH}", "fail")
    expect(page.locator(f"#{Data.SET_LIST} label")).to_have_count(3)
    option(page, "failed: OOM").click()
    page.click(f"#{Data.SET_APPLY}")
    n = db.execute(
        "SELECT count(*) FROM events WHERE event_type IN ('login', 'error')"
        " AND message = 'failed: OOM'"
    ).fetchone()[0]
    wait_status(page, f"of {n:,} (filtered")
    assert page.watch.problems() == []


def test_be002_chips_remove_one_filter_or_all(page, live_server) -> None:
    db = demo_db(live_server)
    contains = {"message": {"filterType": "text", "type": "contains", "filter": "a"}}
    link = urllib.parse.urlencode(
        {
            "table": "main.events",
            "filter": json.dumps({**contains, "country": {"filterType": "set", "values": ["DE"]}}),
            "q": "cache",
            "cols": json.dumps(["id", "event_type", "country", "message"]),
            "chart": "country",
        }
    )
    page.goto(live_server.url(f"/data?{link}"))
    wait_status(page, "(filtered from 5,000)")
    expect_chips(
        page,
        [
            "message contains “a”",
            "country is “DE”",
            "search “cache”",
        ],
    )
    # Visible columns and the chart column came with the link, and stay in it.
    assert page.locator('.ag-header-cell[col-id="duration_ms"]').count() == 0
    expect(page.locator(f"#{Data.CHART_COLUMN}")).to_contain_text("country")
    page.wait_for_selector(f"#{Data.CHART} .js-plotly-plot")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert json.loads(query["cols"][0]) == ["id", "event_type", "country", "message"]
    assert query["chart"] == ["country"]

    page.click(f"#{Data.CHIPS} .data-chip:has-text('country') .chip-remove")
    n = db.execute(
        "SELECT count(*) FROM events WHERE message LIKE '%a%' AND (event_type LIKE '%cache%'"
        " OR country LIKE '%cache%' OR message LIKE '%cache%')"
    ).fetchone()[0]
    wait_status(page, f"of {n:,} (filtered")
    expect_chips(page, ["message contains “a”", "search “cache”"])
    assert (
        "country"
        not in urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query).get("filter", [""])[0]
    )

    page.click(f"#{Data.CLEAR_ALL}")
    wait_status(page, "Rows 1–100 of 5,000")
    expect_chips(page, [])
    expect(page.locator(f"#{Data.CLEAR_ALL}")).to_be_hidden()
    assert page.input_value(f"#{Data.QUICK}") == ""
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert "filter" not in query
    assert "q" not in query
    assert query["chart"] == ["country"]  # not a filter: it stays
    assert page.watch.problems() == []


def test_be003_group_by_then_open_a_group(page, live_server) -> None:
    db = demo_db(live_server)
    page.goto(live_server.url("/data?table=main.events&q=cache"))
    wait_status(page, "(filtered from 5,000)")
    choose(page, Data.GROUP_BY, "event_type")
    page.click(f"#{Data.GROUP_APPLY}")
    groups = db.execute(
        "SELECT event_type, count(*) FROM events WHERE event_type LIKE '%cache%'"
        " OR country LIKE '%cache%' OR message LIKE '%cache%' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    total = sum(n for _, n in groups)
    wait_status(page, f"Groups 1–{len(groups)} of {len(groups)} ({total:,} rows)")
    assert cells(page, "key0") == [g for g, _ in groups]
    assert cells(page, "agg0") == [f"{n:,}" for _, n in groups]
    expect_chips(page, ["search “cache”", "grouped by event_type"])
    assert "group=" in page.url
    # Sort the groups by their count, as a person clicks the header (twice: descending).
    header = page.locator('.ag-header-cell[col-id="agg0"] .ag-header-cell-label')
    header.click()
    header.click()
    biggest = sorted(groups, key=lambda g: (-g[1], g[0]))
    page.wait_for_function(
        '(want) => document.querySelector(\'.ag-row[row-index="0"] [col-id="key0"]\')'
        "?.textContent === want",
        arg=biggest[0][0],
    )
    # Open the biggest group: its rows, with its key as a filter.
    page.click('.ag-row[row-index="0"] [col-id="agg0"]')
    wait_status(page, f"of {biggest[0][1]:,} (filtered from 5,000)")
    assert set(cells(page, "event_type")) == {biggest[0][0]}
    expect_chips(page, [f"event_type is “{biggest[0][0]}”", "search “cache”"])
    assert "group=" not in page.url
    assert page.watch.problems() == []


def test_be004_save_a_view_and_open_its_short_link_elsewhere(page, browser, live_server) -> None:
    link = urllib.parse.urlencode(
        {
            "table": "main.events",
            "filter": json.dumps({"success": {"filterType": "set", "values": [False]}}),
            "group": json.dumps({"by": ["country"]}),
        }
    )
    page.goto(live_server.url(f"/data?{link}"))
    wait_status(page, "Groups 1–")
    page.click(f"#{Data.SAVE_OPEN}")
    page.fill(f"#{Data.SAVE_NAME}", "Failures by country")
    page.click(f"#{Data.SAVE_CONFIRM}")
    saved = page.locator(f"#{Data.SAVE_MESSAGE} a")
    expect(saved).to_contain_text("/data?view=")
    short = saved.get_attribute("href")
    assert re.fullmatch(r"/data\?view=[A-Za-z0-9_-]{8}", short)
    page.keyboard.press("Escape")
    expect(page.locator(f"#{Data.SAVED_LIST}")).to_contain_text("Failures by country")

    other = browser.new_context(viewport={"width": 1280, "height": 800})
    fresh = other.new_page()
    try:
        fresh.goto(live_server.url(short))
        status = fresh.locator(f"#{Data.STATUS}")
        expect(status).to_contain_text("Groups 1–", timeout=15_000)
        n = (
            demo_db(live_server)
            .execute("SELECT count(*) FROM events WHERE success = 0")
            .fetchone()[0]
        )
        expect(status).to_contain_text(f"({n:,} rows)")
        expect(fresh.locator(f"#{Data.CHIPS}")).to_contain_text("success is false")
        # The home page lists it, and its link opens it too.
        fresh.goto(live_server.url("/"))
        card = fresh.locator(f"#{Data.SAVED_LIST}, #home-saved-views")
        expect(card).to_contain_text("Failures by country")
        fresh.click("#home-saved-views a:has-text('Failures by country')")
        expect(fresh.locator(f"#{Data.STATUS}")).to_contain_text(f"({n:,} rows)")
        # An id that is no saved view says so, and the page still works.
        fresh.goto(live_server.url("/data?view=nosuchid"))
        expect(fresh.locator(f"#{Data.BANNER}")).to_contain_text("There is no saved view")
    finally:
        other.close()
    # Its owner deletes it: gone from the list, and its link says so.
    page.click(f"#{Data.SAVED_LIST} button[title='Delete the saved view Failures by country']")
    expect(page.locator(f"#{Data.SAVED_LIST}")).not_to_contain_text("Failures by country")
    page.goto(live_server.url(short))
    expect(page.locator(f"#{Data.BANNER}")).to_contain_text("There is no saved view")
    assert page.watch.problems() == []


def test_be005_a_columns_profile(page, live_server) -> None:
    db = demo_db(live_server)
    page.goto(live_server.url("/data?table=main.events&q=fail"))
    wait_status(page, "(filtered")
    open_values(page, "message")
    page.click(f"#{Data.PANEL_TABS} >> text=Profile")
    body = page.locator(f"#{Data.PROFILE_BODY}")
    where = "event_type LIKE '%fail%' OR country LIKE '%fail%' OR message LIKE '%fail%'"
    rows, nulls, distinct = db.execute(
        f"SELECT count(*), count(*) - count(message), count(DISTINCT message) FROM events WHERE {where}"
    ).fetchone()
    # Waited for as a person reads it: the panel may redraw (loading) while the view settles.
    expect(body).to_contain_text(re.compile(rf"Rows in view\s*{rows:,}"))
    text = body.inner_text()
    assert re.search(rf"Rows in view\s+{rows:,}\n", text)
    assert re.search(rf"NULLs\s+{nulls:,}", text)
    assert re.search(rf"Distinct values\s+{distinct:,}", text)
    assert "Top values" in text
    # Another column, through the panel's own picker: a number's histogram and range.
    page.select_option(f"#{Data.PANEL_COLUMN}", "duration_ms")
    lo, hi = db.execute(
        f"SELECT min(duration_ms), max(duration_ms) FROM events WHERE {where}"
    ).fetchone()
    expect(body).to_contain_text("Histogram")
    expect(body).to_contain_text(re.compile(rf"Minimum\s*{lo:,}"))
    text = body.inner_text()
    assert re.search(rf"Minimum\s+{lo:,}\n", text)
    assert re.search(rf"Maximum\s+{hi:,}\n", text)
    assert page.watch.problems() == []


@pytest.fixture(scope="module")
def pg_server(start_server, pg_server_url) -> Iterator[tuple[LiveServer, str]]:
    """The app browsing the demo tables loaded into a fresh PostgreSQL database."""
    from dashapp.data.demo_data import DemoSizes, load_postgresql
    from tests.conftest import fresh_pg_database

    with fresh_pg_database(pg_server_url) as url:
        load_postgresql(url, DemoSizes(events=5_000), echo=lambda _: None)
        server = start_server(DASHAPP_DATABASE_URL=url)
        yield server, url
        server.proc.terminate()  # before its database is dropped
        server.proc.wait(35)


def test_be006_on_postgresql_pick_values_group_and_profile(page, pg_server) -> None:
    server, url = pg_server
    engine = make_engine(url)
    with engine.connect() as conn:
        de = conn.execute(sql("SELECT count(*) FROM events WHERE country = 'DE'")).scalar()
        both = conn.execute(
            sql("SELECT count(*) FROM events WHERE country = 'DE' AND success")
        ).scalar()
    engine.dispose()
    page.goto(server.url("/data?table=public.events"))
    wait_status(page, "of 5,000")
    open_values(page, "country")
    expect(option(page, "DE")).to_contain_text(f"{de:,}")
    option(page, "DE").click()
    page.click(f"#{Data.SET_APPLY}")
    wait_status(page, f"of {de:,} (filtered from 5,000)")
    choose(page, Data.GROUP_BY, "success")
    page.click(f"#{Data.GROUP_APPLY}")
    wait_status(page, f"Groups 1–2 of 2 ({de:,} rows)")
    assert cells(page, "key0") == ["✗ false", "✓ true"]
    page.click('.ag-row[row-index="1"] [col-id="key0"]')
    wait_status(page, f"of {both:,} (filtered from 5,000)")
    expect_chips(page, ["country is “DE”", "success is true"])
    open_values(page, "duration_ms")
    page.click(f"#{Data.PANEL_TABS} >> text=Profile")
    body = page.locator(f"#{Data.PROFILE_BODY}")
    expect(body).to_contain_text("Histogram")
    assert re.search(rf"Rows in view\s+{both:,}", body.inner_text())
    assert page.watch.problems() == []
