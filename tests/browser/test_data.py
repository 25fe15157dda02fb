"""The Data page as a person uses it: pick, sort, filter, search, open a row, export, reload."""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from components.ids import Data
from tests.conftest import LiveServer


def cells(page, col: str) -> list[str]:
    """Text of the rendered cells of one column, top to bottom, once the grid has drawn them.

    The status line can change a frame before the grid has drawn the block it came with:
    until then rows are loading placeholders, or drawn rows whose cells are still empty
    (AG Grid fills cells in animation frames). The demo columns read here are never empty.
    """
    selector = (
        f'.ag-center-cols-container .ag-row [col-id="{col}"], '
        f'.ag-pinned-left-cols-container .ag-row [col-id="{col}"]'
    )
    page.wait_for_function(
        "(sel) => { const c = [...document.querySelectorAll(sel)];"
        " return c.length > 0 && !document.querySelector('.ag-row-loading')"
        " && c.every(e => e.textContent !== ''); }",
        arg=selector,
    )
    return page.eval_on_selector_all(
        selector,
        "els => els.map(e => [Number(e.closest('.ag-row').getAttribute('row-index')), e.textContent])"
        ".sort((a, b) => a[0] - b[0]).map(p => p[1])",
    )


def wait_status(page, fragment: str) -> None:
    """Wait until the status line under the grid contains ``fragment``."""
    page.wait_for_function(
        "([id, want]) => (document.getElementById(id)?.textContent || '').includes(want)",
        arg=[Data.STATUS, fragment],
    )


def wait_bars(page, want: list[str]) -> None:
    """Wait until the quick chart's bars are exactly ``want`` (in any order)."""
    bars = "(sel) => (document.querySelector(sel)?.data?.[0]?.y || []).map(String).sort().join('|')"
    plot = f"#{Data.CHART} .js-plotly-plot"
    with contextlib.suppress(PlaywrightTimeout):  # the assertion says what it shows instead
        page.wait_for_function(
            f"([sel, want]) => ({bars})(sel) === want", arg=[plot, "|".join(want)]
        )
    assert page.evaluate(bars, plot).split("|") == want


def demo_db(server: LiveServer) -> sqlite3.Connection:
    return sqlite3.connect(Path(server.log).parent / "demo.sqlite")


def test_bd001_browse_sort_filter_detail_export(page, live_server: LiveServer) -> None:
    page.goto(live_server.url("/data?table=main.events"))
    page.wait_for_selector(".ag-row .ag-cell")
    wait_status(page, "of 5,000")
    assert cells(page, "id")[:3] == ["1", "2", "3"]

    # Sort by duration (descending: click twice), as a person clicks the header.
    header = page.locator('.ag-header-cell[col-id="duration_ms"] .ag-header-cell-label')
    header.click()
    header.click()
    db = demo_db(live_server)
    top = [
        f"{v:,}"
        for (v,) in db.execute(
            "SELECT duration_ms FROM events ORDER BY duration_ms DESC, id DESC LIMIT 3"
        )
    ]
    page.wait_for_function(
        '(want) => { const c = document.querySelector(\'.ag-row[row-index="0"] [col-id="duration_ms"]\'); return c && c.textContent === want; }',
        arg=top[0],
    )
    assert cells(page, "duration_ms")[:3] == top

    # Filter event_type through the column's filter popup (default: contains).
    page.click('.ag-header-cell[col-id="event_type"] .ag-header-cell-filter-button')
    page.fill(".ag-filter-body input", "login")
    n_login = db.execute("SELECT count(*) FROM events WHERE event_type LIKE '%login%'").fetchone()[
        0
    ]
    wait_status(page, f"of {n_login:,} (filtered from 5,000)")
    page.keyboard.press("Escape")
    assert set(cells(page, "event_type")) == {"login"}
    assert "filter=" in page.url
    assert "sort=" in page.url

    # Quick search narrows further, across text columns.
    page.fill(f"#{Data.QUICK}", "cache hit")
    n_both = db.execute(
        "SELECT count(*) FROM events WHERE event_type LIKE '%login%' AND "
        "(event_type LIKE '%cache hit%' OR country LIKE '%cache hit%' OR message LIKE '%cache hit%')"
    ).fetchone()[0]
    wait_status(page, f"of {n_both:,} (filtered")
    assert set(cells(page, "message")) == {"cache hit"}

    # Open a row: the side panel shows every field.
    first_id = cells(page, "id")[0].replace(",", "")
    page.click('.ag-row[row-index="0"] [col-id="country"]')
    page.wait_for_selector(f"#{Data.DETAIL_BODY} table")
    detail = page.inner_text(f"#{Data.DETAIL_BODY}")
    for column in ("occurred_at", "duration_ms", "message"):
        assert column in detail
    assert first_id in detail
    page.keyboard.press("Escape")

    # Export: the CSV is exactly the filtered, sorted view.
    with page.expect_download() as dl:
        page.click(f"#{Data.EXPORT}")
    text = Path(dl.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == n_both
    assert {r["event_type"] for r in rows} == {"login"}
    durations = [int(r["duration_ms"]) for r in rows]
    assert durations == sorted(durations, reverse=True)

    # The link reproduces the view after a reload.
    page.reload()
    wait_status(page, f"of {n_both:,} (filtered")
    assert page.input_value(f"#{Data.QUICK}") == "cache hit"
    assert page.watch.problems() == []


def test_bd002_hostile_link_shows_a_message_not_a_crash(page, live_server: LiveServer) -> None:
    bad = '{"id":{"filterType":"number","type":"equals","filter":"1; DROP TABLE events"}}'
    page.goto(live_server.url("/data?table=main.events&filter=" + bad))
    page.wait_for_selector(f"#{Data.GRID_ERROR}", state="visible")
    assert "is not a number" in page.inner_text(f"#{Data.GRID_ERROR}")
    page.goto(live_server.url("/data?table=main.nope"))
    page.wait_for_selector(f"#{Data.BANNER}", state="visible")
    assert "no table" in page.inner_text(f"#{Data.BANNER}")
    # It fell back to the first table and still works.
    page.wait_for_selector(".ag-row .ag-cell")
    assert page.watch.problems() == []


def test_bd003_quick_chart_follows_the_view_and_loads_only_when_asked(
    page, live_server: LiveServer
) -> None:
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.goto(live_server.url("/data?table=main.events"))
    page.wait_for_selector(".ag-row .ag-cell")
    wait_status(page, "of 5,000")
    # Plotly's script is not fetched until a chart is asked for (it delayed the first rows).
    assert not [u for u in scripts if "plotly" in u]
    assert "Pick a column" in page.inner_text(f"#{Data.CHART_NOTE}")

    page.click(f"#{Data.CHART_COLUMN}")
    # Type only once the dropdown's search box has the focus, as a person would look first.
    page.wait_for_function(
        "() => document.activeElement?.classList.contains('dash-dropdown-search')"
    )
    page.keyboard.type("event_type")
    # Enter picks the first option shown: wait until the search has narrowed the list (the
    # dropdown filters a moment after the keys; Enter before that picked the first column).
    expect(page.locator("[role=listbox] [role=option]")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator(f"#{Data.CHART_COLUMN}-value")).to_contain_text("event_type")
    page.wait_for_selector(f"#{Data.CHART} .js-plotly-plot")
    db = demo_db(live_server)
    every = sorted(v for (v,) in db.execute("SELECT DISTINCT event_type FROM events"))
    wait_bars(page, every)

    # The chart is of the filtered view: a quick search narrows the bars too.
    page.fill(f"#{Data.QUICK}", "cache hit")
    wait_status(page, "(filtered")
    narrowed = sorted(
        v
        for (v,) in db.execute(
            "SELECT DISTINCT event_type FROM events WHERE event_type LIKE '%cache hit%'"
            " OR country LIKE '%cache hit%' OR message LIKE '%cache hit%'"
        )
    )
    assert narrowed != every
    wait_bars(page, narrowed)
    assert page.watch.problems() == []


def is_block_request(request) -> bool:
    """Whether a browser request is the grid asking for a block of rows."""
    body = request.post_data or ""
    return (
        "_dash-update-component" in request.url
        and "getRowsResponse" in body
        and ('"startRow"' in body)
    )


def test_bd004_a_lost_block_is_retried_with_a_message(page, live_server: LiveServer) -> None:
    """The first block's request is reset: the page says so, retries, and the rows come."""
    lost, held = [], []

    def handle(route) -> None:
        if not is_block_request(route.request):
            route.continue_()
        elif not lost:
            lost.append(route.request.url)
            route.abort("connectionreset")
        elif not held:  # the retry waits until the test has seen the message
            held.append(route)
        else:
            route.continue_()

    page.route(lambda url: "_dash-update-component" in url, handle)
    page.goto(live_server.url("/data?table=main.events"))
    alert = page.locator(f"#{Data.GRID_ERROR}")
    expect(alert).to_contain_text("Rows could not be loaded; retrying")
    shown = "els => els.map(e => e.textContent).filter(Boolean)"
    assert page.eval_on_selector_all('.ag-cell[col-id="id"]', shown) == []  # no rows yet
    for _ in range(150):  # the retry comes after a backoff of about a second
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the lost block was never asked for again"
    held[0].continue_()
    wait_status(page, "of 5,000")
    assert cells(page, "id")[:3] == ["1", "2", "3"]
    expect(alert).to_be_hidden()
    # Only the reset we caused went wrong (Chromium logs it as a failed resource too).
    assert page.watch.problems(allow_status=("ERR_CONNECTION_RESET",)) == []
    assert len(page.watch.failed_requests) == 1


HOSTILE_VALUES = [
    '<a href="https://example.com/">link</a>',
    "<b>bold</b>",
    "<img src=x onerror=alert(1)>",
    "&lt;i&gt; &amp; R&D",
]


@pytest.fixture(scope="module")
def hostile_server(start_server, tmp_path_factory) -> LiveServer:
    """The app browsing a SQLite table of markup-like values and a column named ``a.b``."""
    path = tmp_path_factory.mktemp("hostile") / "hostile.sqlite"
    db = sqlite3.connect(path)
    db.execute('CREATE TABLE hostile (id INTEGER PRIMARY KEY, "a.b" TEXT, html TEXT)')
    db.executemany(
        "INSERT INTO hostile VALUES (?, ?, ?)",
        [(i + 1, f"dotted {i + 1}", v) for i, v in enumerate(HOSTILE_VALUES)],
    )
    db.commit()
    db.close()
    return start_server(DASHAPP_DATABASE_URL=f"sqlite:///{path}")


def test_bd005_markup_in_values_is_text_and_dotted_names_show(
    page, hostile_server: LiveServer
) -> None:
    page.goto(hostile_server.url("/data?table=main.hostile"))
    wait_status(page, "of 4")
    assert cells(page, "a.b") == [f"dotted {i}" for i in range(1, 5)]
    assert cells(page, "html") == HOSTILE_VALUES
    markup = "(sel) => document.querySelectorAll(sel).length"
    assert page.evaluate(markup, ".ag-cell a, .ag-cell b, .ag-cell img") == 0

    # The row detail shows the stored text too, not links or bold text.
    page.click('.ag-row[row-index="0"] [col-id="html"]')
    page.wait_for_selector(f"#{Data.DETAIL_BODY} table")
    detail = page.inner_text(f"#{Data.DETAIL_BODY}")
    assert HOSTILE_VALUES[0] in detail
    assert "dotted 1" in detail
    assert page.evaluate(markup, f"#{Data.DETAIL_BODY} a, #{Data.DETAIL_BODY} b") == 0
    page.keyboard.press("Escape")

    # The quick chart labels its bars with the values as they are (Plotly reads tags in
    # labels: unescaped, the first is a link, the second bold and the third vanishes).
    page.click(f"#{Data.CHART_COLUMN}")
    page.wait_for_function(
        "() => document.activeElement?.classList.contains('dash-dropdown-search')"
    )
    page.keyboard.type("html")
    expect(page.locator("[role=listbox] [role=option]")).to_have_count(1)
    page.keyboard.press("Enter")
    plot = f"#{Data.CHART} .js-plotly-plot"
    page.wait_for_selector(f"{plot} .ytick text")
    labels = page.eval_on_selector_all(f"{plot} .ytick text", "els => els.map(e => e.textContent)")
    assert sorted(labels) == sorted(HOSTILE_VALUES)
    assert page.evaluate(markup, f"{plot} svg a") == 0
    assert page.watch.problems() == []
