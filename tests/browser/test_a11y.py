"""axe-core, the accessibility checker, run on every page in light and dark: no serious finding.

axe-core is vendored (tests/browser/vendor/, MPL-2.0, version in its README) and put into
the page through the DevTools protocol (``page.evaluate``), which the app's CSP, made to
refuse inline scripts, does not apply to: nothing is fetched, no test dependency is added.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from werkzeug.security import generate_password_hash

from components.ids import Compositor as C
from components.ids import Home, NotFound, Shell, Training
from tests.browser.test_training import open_panel_job, param, wait_for_panel
from tests.conftest import LiveServer
from tests.image_fixtures import encode, solid

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
# What fails the test: every finding axe rates serious or critical, and these (rated
# moderate) that the app keeps too: one main landmark, a first-level heading, headings in
# order, all content inside landmarks.
ALWAYS = {"landmark-one-main", "page-has-heading-one", "heading-order", "region"}
THEMES = ("light", "dark")


def axe_findings(page) -> list[dict[str, Any]]:
    """Run axe on the page as it is; its violations, each with the elements concerned."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE)
    return page.evaluate(  # type: ignore[no-any-return]
        """async () => {
          const result = await window.axe.run(
            document, {resultTypes: ["violations"], elementRef: true});
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => [n.target.join(" "), n.failureSummary]),
            compositor: v.nodes.every((n) => n.element?.closest("#compositor-root")),
          }));
        }"""
    )


def blocking(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings that fail the check."""
    return [f for f in findings if f["impact"] in ("serious", "critical") or f["id"] in ALWAYS]


def use_theme(page, theme: str) -> None:
    """Open every page of this browser in ``theme`` (as the theme switch remembers it)."""
    page.add_init_script(f"window.localStorage.setItem('dashapp.theme', '{theme}')")


def settle(page) -> None:
    """Wait until the page has drawn what it fetches, and its colour transitions ended."""
    # A page that polls (a job's, every half second) is never idle for long: it has drawn
    # by the time the wait runs out.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=5_000)
    page.wait_for_timeout(400)


def report(found: list[dict[str, Any]]) -> str:
    """Findings, one a line, with the elements concerned."""
    return "\n".join(f"{f['id']} ({f['impact']}): {f['nodes']}" for f in found)


def check(page, theme: str) -> list[dict[str, Any]]:
    """The page shows ``theme`` and axe finds nothing that fails the check."""
    assert page.evaluate("document.documentElement.dataset.bsTheme") == theme
    assert page.evaluate("document.documentElement.lang") == "en"
    found = blocking(axe_findings(page))
    assert found == [], report(found)
    return found


@pytest.fixture(scope="module")
def job_url(browser, live_server: LiveServer) -> str:
    """A finished training job's page, started from the Training page as a person does."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(live_server.url("/training"))
        param(page, "epochs").fill("1")
        param(page, "samples").fill("300")
        page.click(f"#{Training.START}")
        wait_for_panel(page, "succeeded", timeout=90_000)
        open_panel_job(page)
        return str(page.url)
    finally:
        context.close()


@pytest.fixture(scope="module")
def users_server(start_server) -> LiveServer:
    """The app with a standalone user: browsers get the sign-in page."""
    return start_server(DASHAPP_USERS=f"erin:{generate_password_hash('correct horse')}")


SIMPLE_PAGES = [
    ("home", "/", Home.CARDS),
    ("training", "/training", Training.START),
    ("not-found", "/no/such/page", NotFound.BODY),
]


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(("name", "path", "marker"), SIMPLE_PAGES)
def test_ba001_pages_pass_axe(page, live_server: LiveServer, theme, name, path, marker) -> None:
    use_theme(page, theme)
    page.goto(live_server.url(path))
    page.wait_for_selector(f"#{marker}")
    settle(page)
    check(page, theme)


@pytest.mark.parametrize("theme", THEMES)
def test_ba002_data_page_with_a_table_passes_axe(page, live_server: LiveServer, theme) -> None:
    use_theme(page, theme)
    page.goto(live_server.url("/data?table=main.events"))
    page.wait_for_selector(".ag-row .ag-cell")
    settle(page)
    check(page, theme)


@pytest.mark.parametrize("theme", THEMES)
def test_ba003_job_page_passes_axe(page, job_url: str, theme) -> None:
    use_theme(page, theme)
    page.goto(job_url)
    page.wait_for_selector(f"#{Training.PANEL} .gallery img")
    settle(page)
    check(page, theme)


@pytest.mark.parametrize("theme", THEMES)
def test_ba004_compositor_with_a_background_and_a_layer_passes_axe(
    page, live_server: LiveServer, tmp_path: Path, theme
) -> None:
    bg, layer = tmp_path / "background.png", tmp_path / "red.png"
    bg.write_bytes(encode(solid((1200, 800), (20, 60, 200)), "PNG"))
    layer.write_bytes(encode(solid((300, 200), (250, 40, 40, 255), "RGBA"), "PNG"))
    use_theme(page, theme)
    page.goto(live_server.url("/compositor"))
    page.wait_for_selector(f"#{C.ROOT}")
    page.set_input_files(f"#{C.BG_UPLOAD} input[type=file]", str(bg))
    page.wait_for_selector(f"#{C.BG_INFO}:has-text('1200×800')")
    page.set_input_files(f"#{C.LAYER_UPLOAD} input[type=file]", str(layer))
    page.wait_for_selector(".layer-list .list-group-item.active:has-text('red.png')")
    settle(page)
    assert page.evaluate("document.documentElement.dataset.bsTheme") == theme
    found = blocking(axe_findings(page))
    assert found == [], report(found)


@pytest.mark.parametrize("theme", THEMES)
def test_ba005_sign_in_page_passes_axe(page, users_server: LiveServer, theme) -> None:
    use_theme(page, theme)
    page.goto(users_server.url("/login"))
    page.wait_for_selector("form[action='/login']")
    settle(page)
    check(page, theme)


def test_ba006_axe_sees_a_control_without_a_name(page, live_server: LiveServer) -> None:
    """The check itself works: an unnamed control added to a page is a serious finding."""
    page.goto(live_server.url("/"))
    page.wait_for_selector(f"#{Shell.NAVBAR}")
    page.evaluate(
        "() => document.querySelector('main, body').appendChild(document.createElement('select'))"
    )
    assert "select-name" in {f["id"] for f in blocking(axe_findings(page))}


def keyboard_at(page) -> tuple[str, str]:
    """Where the keyboard is: the focused element's role and accessible name ('' if none)."""
    if page.evaluate("() => !!document.activeElement.closest('.ag-header-cell, .ag-cell')"):
        return "grid", ""
    first = page.locator(":focus").aria_snapshot().splitlines()[0]
    found = re.match(r'- ([\w-]+)(?: "(.*?)")?', first.strip())
    return (found.group(1), found.group(2) or "") if found else (first, "")


def test_ba007_keyboard_reaches_the_grid_and_moves_in_it(page, live_server: LiveServer) -> None:
    """Without a mouse: from the page's start, Tab goes through named controls to the grid;
    arrows move between its cells."""
    page.goto(live_server.url("/data?table=main.teams"))
    page.wait_for_selector(".ag-row .ag-cell")
    settle(page)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link: past the navigation
    stops: list[tuple[str, str]] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        stops.append(keyboard_at(page))
        if stops[-1][0] == "grid":
            break
    assert stops[-1][0] == "grid", stops
    unnamed = [role for role, name in stops[:-1] if not name]
    assert unnamed == [], stops
    names = [name for _, name in stops]
    for wanted in ("Table", "Quick chart", "Search text columns", "Visible columns", "CSV"):
        assert any(n.startswith(wanted) for n in names), (wanted, stops)
    # Into the rows and along them, as arrow keys do in a spreadsheet.
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    focused = page.evaluate(
        "() => { const c = document.activeElement.closest('.ag-cell');"
        " return c && [c.closest('.ag-row').getAttribute('row-index'), c.getAttribute('col-id')]; }"
    )
    assert focused is not None
    assert focused[0] not in (None, "0"), focused
    # The focused cell is visibly marked (an outline or a border of its own).
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.borderTopStyle, s.boxShadow]; }"
    )
    assert ring[0] != "none" or ring[2] != "none" or ring[3] != "none", ring


FOCUS_RING = """() => { const s = getComputedStyle(document.activeElement);
  return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor}; }"""


@pytest.mark.parametrize("theme", THEMES)
def test_ba008_focus_is_visible_and_the_skip_link_leads_to_the_page(
    page, live_server: LiveServer, theme
) -> None:
    use_theme(page, theme)
    page.goto(live_server.url("/"))
    page.wait_for_selector(f"#{Home.CARDS}")
    settle(page)
    page.keyboard.press("Tab")  # the first stop: skip the navigation
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    box = page.evaluate("document.activeElement.getBoundingClientRect().toJSON()")
    assert box["width"] > 20
    assert box["height"] > 10
    assert box["top"] >= 0  # shown once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == Shell.MAIN
    page.keyboard.press("Tab")  # the page's first control: the first tool
    assert page.evaluate("id => document.activeElement.closest('#' + id) !== null", Home.CARDS)
    ring = page.evaluate(FOCUS_RING)
    assert ring["style"] == "solid", ring
    assert ring["width"] >= 2, ring
    # The ring stands out from the page behind it (3:1, as WCAG asks of focus indicators).
    behind = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert contrast(ring["color"], behind) >= 3, (ring, behind)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb()``/``rgba()`` colours (alpha ignored)."""

    def luminance(css: str) -> float:
        r, g, b = (int(float(v)) / 255 for v in re.findall(r"[\d.]+", css)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
