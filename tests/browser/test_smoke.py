"""Headless Chromium opens every page like a person: no console error, no failed request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.ids import Compositor, Data, Home, NotFound, Shell, Training
from tests.conftest import LiveServer

PAGES = [
    ("home", "/", Home.CARDS),
    ("data", "/data", Data.PICKER),
    ("training", "/training", Training.START),
    ("compositor", "/compositor", Compositor.ROOT),
    ("not-found", "/no/such/page", NotFound.BODY),
]
SHOTS = os.environ.get("DASHAPP_SCREENSHOTS")  # a folder: save screenshots for the README


def open_page(page, url: str, marker: str) -> None:
    """Navigate and wait until Dash has rendered the page's content."""
    page.goto(url)
    try:
        page.wait_for_selector(f"#{marker}", state="visible")
    except Exception as exc:
        watch = getattr(page, "watch", None)
        seen = watch.problems() if watch else []
        raise AssertionError(f"{marker} never showed at {url}; problems: {seen}") from exc
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize(("name", "path", "marker"), PAGES)
def test_bs001_every_page_renders_cleanly(
    page, live_server: LiveServer, name, path, marker
) -> None:
    open_page(page, live_server.url(path), marker)
    if name == "data":
        page.wait_for_selector(".ag-row .ag-cell")  # the first table's rows arrive
    # The unknown address is meant to answer 404 (with the friendly page); Chromium logs
    # that as a console error. Any other failed request is still caught by URL.
    allowed: tuple[str, ...] = ()
    if name == "not-found":
        allowed = (f"{live_server.url(path)}: 404", "status of 404 (NOT FOUND)")
    assert page.watch.problems(allow_status=allowed) == []
    assert "dashapp" in page.title()
    # The vendored theme applied (no CDN): the navbar has Bootstrap's padding.
    assert page.eval_on_selector(f"#{Shell.NAVBAR}", "e => getComputedStyle(e).display") == "flex"
    if SHOTS and name != "home":  # home: with jobs, tables and renders (test_home bh002)
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}-light.png")
        page.click(f"#{Shell.THEME_SWITCH}")
        page.wait_for_function("() => document.documentElement.dataset.bsTheme === 'dark'")
        page.wait_for_timeout(400)  # let Bootstrap's colour transitions finish
        page.screenshot(path=f"{SHOTS}/{name}-dark.png")


def test_bs002_theme_switch_is_remembered(page, live_server: LiveServer) -> None:
    open_page(page, live_server.url("/data"), Data.PICKER)
    theme = "document.documentElement.dataset.bsTheme"
    assert page.evaluate(theme) == "light"
    bg_light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.click(f"#{Shell.THEME_SWITCH}")
    page.wait_for_function(f"() => {theme} === 'dark'")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != bg_light
    page.reload()
    page.wait_for_selector(f"#{Data.PICKER}")
    assert page.evaluate(theme) == "dark"
    assert page.is_checked(f"#{Shell.THEME_SWITCH}")
    page.click(f"#{Shell.THEME_SWITCH}")
    page.wait_for_function(f"() => {theme} === 'light'")
    page.reload()
    page.wait_for_selector(f"#{Data.PICKER}")
    assert page.evaluate(theme) == "light"
    assert page.watch.problems() == []


def test_bs003_narrow_iframe_width_collapses_the_navigation(browser, live_server) -> None:
    context = browser.new_context(viewport={"width": 380, "height": 700})
    page = context.new_page()
    try:
        open_page(page, live_server.url("/"), Home.CARDS)
        data_link = page.get_by_role("link", name="Data", exact=True)
        assert not data_link.is_visible()
        page.click(f"#{Shell.NAV_TOGGLER}")
        data_link.wait_for(state="visible")
        data_link.click()
        page.wait_for_selector(f"#{Data.PICKER}")
        assert page.url.startswith(live_server.url("/data"))
        # Nothing overflows sideways at this width.
        assert page.evaluate("document.documentElement.scrollWidth") <= 380
    finally:
        context.close()


def test_bs004_navigation_under_a_url_prefix(page, prefixed_server: LiveServer) -> None:
    open_page(page, prefixed_server.url("/"), Home.CARDS)
    page.get_by_role("link", name="Training", exact=True).click()
    page.wait_for_selector(f"#{Training.START}")
    assert page.url == prefixed_server.url("/training")
    page.get_by_role("link", name="dashapp").first.click()
    page.wait_for_selector(f"#{Home.CARDS}")
    assert page.watch.problems() == []
