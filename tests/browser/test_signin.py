"""Standalone users sign in on a page, as a person does: no browser prompt, and out again."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from components.ids import Data, Shell
from tests.browser.test_smoke import SHOTS


@pytest.fixture(scope="module")
def users_server(start_server):
    return start_server(DASHAPP_USERS=f"erin:{generate_password_hash('correct horse')}")


def test_bs101_sign_in_browse_and_sign_out(page, users_server) -> None:
    page.goto(users_server.url("/data?table=main.teams"))
    page.wait_for_selector("form[action='/login']")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/sign-in.png")
    page.fill("#user", "erin")
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    assert "Wrong user name or password." in page.inner_text("main")
    assert page.input_value("#user") == "erin"  # kept for the next try
    page.fill("#password", "correct horse")
    page.click("button[type=submit]")
    # Back where they were going, signed in.
    page.wait_for_selector(".ag-row .ag-cell")
    assert "table=main.teams" in page.url
    assert "erin" in page.inner_text(f"#{Shell.USER}")
    assert page.is_visible(f"#{Data.GRID}")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/signed-in.png")
    # The theme chosen in the app holds on the sign-in page too.
    page.click(f"#{Shell.THEME_SWITCH}")
    page.wait_for_function("() => document.documentElement.dataset.bsTheme === 'dark'")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("form[action='/login']")
    assert page.get_attribute("html", "data-bs-theme") == "dark"
    page.goto(users_server.url("/training"))
    page.wait_for_selector("form[action='/login']")  # signed out for every page
    assert page.watch.problems(allow_status=("401",)) == []


def test_bs102_after_signing_out_a_copied_cookie_opens_nothing(browser, page, users_server) -> None:
    page.goto(users_server.url("/data?table=main.teams"))
    page.wait_for_selector("form[action='/login']")
    page.fill("#user", "erin")
    page.fill("#password", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_selector(".ag-row .ag-cell")
    # Someone copies the session cookie into another browser: it works while erin is in...
    other = browser.new_context()
    try:
        other.add_cookies([c for c in page.context.cookies() if c["name"] == "dashapp_session"])
        thief = other.new_page()
        thief.goto(users_server.url("/data?table=main.teams"))
        thief.wait_for_selector(".ag-row .ag-cell")
        assert "erin" in thief.inner_text(f"#{Shell.USER}")
        # ...and not once she has signed out.
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_selector("form[action='/login']")
        thief.goto(users_server.url("/training"))
        thief.wait_for_selector("form[action='/login']")
        assert "Sign in to dashapp" in thief.inner_text("main")
    finally:
        other.close()
    assert page.watch.problems(allow_status=("401",)) == []
