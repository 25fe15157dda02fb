"""The home page as a person uses it: empty at first, then their jobs, tables and renders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from components.ids import Compositor as C
from components.ids import Data, Home, Shell, Training
from tests.browser.test_embedding import LAYOUT_SHIFTS
from tests.browser.test_smoke import SHOTS
from tests.browser.test_training import param
from tests.conftest import LiveServer
from tests.image_fixtures import encode

BADGE = f"#{Home.JOBS} a[href*='/training/{{job}}'] .badge"


@pytest.fixture(scope="module")
def fresh_server(start_server) -> LiveServer:
    """An app nobody has used yet: no jobs, no renders."""
    return start_server()


def test_bh001_a_fresh_app_says_how_to_start(page, fresh_server: LiveServer) -> None:
    page.goto(fresh_server.url("/"))
    jobs = page.locator(f"#{Home.JOBS}")
    jobs.get_by_text("No jobs yet — start one on the Training page.").wait_for()
    tables = page.locator(f"#{Home.RECENT_TABLES}")
    tables.get_by_text("No tables opened yet — pick one on the Data page.").wait_for()
    renders = page.locator(f"#{Home.RENDERS}")
    renders.get_by_text("No renders yet — compose one in the Compositor.").wait_for()
    # Each empty card's button is the one step that starts it.
    jobs.get_by_role("link", name="Start a job").click()
    page.wait_for_selector(f"#{Training.START}")
    assert page.url == fresh_server.url("/training")
    page.go_back()
    renders.get_by_role("link", name="Compose an image").click()
    page.wait_for_selector(f"#{C.ROOT}")
    page.go_back()
    tables.get_by_role("link", name="Browse the data").click()
    page.wait_for_selector(".ag-row .ag-cell")
    assert page.watch.problems() == []


def test_bh002_your_work_shows_on_the_home_page_live(
    page, live_server: LiveServer, tmp_path: Path
) -> None:
    """A table opened, an image rendered and a job started: home lists all three, the job live."""
    for table in ("main.customer_churn", "main.experiments"):
        page.goto(live_server.url(f"/data?table={table}"))
        page.wait_for_selector(".ag-row .ag-cell")
    render(page, live_server, tmp_path)
    page.goto(live_server.url("/training"))
    param(page, "epochs").fill("3")
    param(page, "samples").fill("600")
    page.click(f"#{Training.START}")
    page.wait_for_function(
        "id => /^(queued|running)$/.test(document.querySelector(`#${id} .badge`)?.textContent)",
        arg=Training.PANEL,
    )
    # The panel follows the job just started: its heading names it ("Job 1a2b3c4d").
    job_id = page.inner_text(f"#{Training.PANEL} h2").removeprefix("Job ").strip()
    assert re.fullmatch(r"[0-9a-f]{8}", job_id), job_id
    page.get_by_role("link", name="dashapp").first.click()  # home, without a reload
    page.wait_for_selector(BADGE.format(job=job_id))
    # Watch the badge as a person would, without touching the page.
    page.evaluate(
        """sel => { window.__seen = []; setInterval(() => {
            const b = document.querySelector(sel);
            const t = b ? b.textContent : '';
            if (window.__seen[window.__seen.length - 1] !== t) window.__seen.push(t); }, 100); }""",
        BADGE.format(job=job_id),
    )
    assert "main.experiments" in page.inner_text(f"#{Home.RECENT_TABLES}")
    page.wait_for_selector(f"#{Home.RENDERS} img")
    page.wait_for_function(
        "sel => document.querySelector(sel)?.textContent === 'succeeded'",
        arg=BADGE.format(job=job_id),
        timeout=90_000,
    )
    seen = page.evaluate("window.__seen")
    assert {"queued", "running"} & set(seen), seen  # it changed while the page stayed open
    if SHOTS:
        screenshots(page)
    # One click from its page.
    page.click(f"#{Home.JOBS} a[href*='/training/{job_id}']")
    page.wait_for_url(re.compile(rf".*/training/{job_id}[0-9a-f]{{24}}$"))
    page.wait_for_selector(f"#{Training.PANEL} .badge")
    assert page.watch.problems() == []


def screenshots(page) -> None:
    """The home page in light and dark, for the README."""
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=f"{SHOTS}/home-light.png", full_page=True)
    page.click(f"#{Shell.THEME_SWITCH}")
    page.wait_for_function("() => document.documentElement.dataset.bsTheme === 'dark'")
    page.wait_for_timeout(400)  # let Bootstrap's colour transitions finish
    page.screenshot(path=f"{SHOTS}/home-dark.png", full_page=True)
    page.click(f"#{Shell.THEME_SWITCH}")


def render(page, server: LiveServer, tmp_path: Path) -> None:
    """Render a background alone in the Compositor, as a person would."""
    bg = tmp_path / "background.png"
    bg.write_bytes(encode(gradient((640, 480)), "PNG"))
    page.goto(server.url("/compositor"))
    page.set_input_files(f"#{C.BG_UPLOAD} input[type=file]", str(bg))
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('640×480')")
    page.click(f"#{C.RENDER}")
    page.wait_for_selector(f"#{C.RESULT} img", timeout=30_000)


def gradient(size: tuple[int, int]) -> Image.Image:
    """A blue-to-teal picture, something to recognise on a thumbnail."""
    w, h = size
    img = Image.new("RGB", size)
    img.putdata([(20, 60 + 120 * y // h, 200 - 80 * x // w) for y in range(h) for x in range(w)])
    return img


def test_bh003_a_table_opened_is_listed_and_opens_again(page, live_server: LiveServer) -> None:
    page.goto(live_server.url("/data?table=main.teams"))
    page.wait_for_selector(".ag-row .ag-cell")
    page.goto(live_server.url("/data?table=main.datasets"))
    page.wait_for_selector(".ag-row .ag-cell")
    page.goto(live_server.url("/"))
    tables = page.locator(f"#{Home.RECENT_TABLES} a")
    tables.first.wait_for()
    names = [t.split("\n")[0] for t in tables.all_inner_texts()]
    assert names[:2] == ["main.datasets", "main.teams"], names  # the latest first
    assert "12 rows" in tables.nth(1).inner_text()  # its size, as the picker says it
    tables.nth(1).click()
    page.wait_for_selector(".ag-row .ag-cell")
    assert "table=main.teams" in page.url
    assert "main.teams" in page.inner_text(f"#{Data.PICKER}")
    assert page.watch.problems() == []


def test_bh004_a_render_is_shown_and_opens_full_size(
    page, live_server: LiveServer, tmp_path: Path
) -> None:
    render(page, live_server, tmp_path)
    page.goto(live_server.url("/"))
    shown = page.locator(f"#{Home.RENDERS} img")
    shown.first.wait_for()
    assert shown.count() == 1
    page.wait_for_function(
        "sel => { const i = document.querySelector(sel); return i && i.naturalWidth > 0; }",
        arg=f"#{Home.RENDERS} img",
    )
    href = page.get_attribute(f"#{Home.RENDERS} a", "href")
    full = page.request.get(live_server.base + href)
    assert full.status == 200
    assert full.headers["content-type"] == "image/png"
    assert page.watch.problems() == []


def test_bh005_the_jobs_poll_runs_only_while_home_is_open(page, live_server: LiveServer) -> None:
    polls: list[str] = []
    page.on(
        "request",
        lambda r: (
            polls.append(r.url)
            if "_dash-update-component" in r.url and Home.JOBS_TICK in (r.post_data or "")
            else None
        ),
    )
    page.goto(live_server.url("/"))
    page.wait_for_function("() => true")
    page.wait_for_timeout(6000)
    assert len(polls) >= 2  # live: it asks again while the page is open
    page.locator(f"#{Shell.NAVBAR}").get_by_role("link", name="Data", exact=True).click()
    page.wait_for_selector(f"#{Data.PICKER}")
    left_at = len(polls)
    page.wait_for_timeout(6000)
    assert len(polls) == left_at


@pytest.mark.parametrize("width", [420, 1280])
def test_bh006_home_does_not_jump_while_it_loads(page, live_server: LiveServer, width) -> None:
    """What fills in after the first paint (jobs, recent tables, renders) has its room."""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url("/data?table=main.teams"))  # something to list
    page.wait_for_selector(".ag-row .ag-cell")
    page.goto(live_server.url("/?embed=1"))
    page.wait_for_selector(f"#{Home.RECENT_TABLES} a")
    page.wait_for_load_state("networkidle")
    shifts = page.evaluate(LAYOUT_SHIFTS)
    assert sum(value for value, _ in shifts) < 0.1, shifts
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def test_bh007_query_parameters_do_not_break_the_home_page(page, live_server: LiveServer) -> None:
    page.goto(live_server.url("/?saved_views=1&jobs=x"))
    page.wait_for_selector(f"#{Home.CARDS}")
    page.wait_for_selector(f"#{Home.SAVED_VIEWS} h2")
    assert page.watch.problems() == []
