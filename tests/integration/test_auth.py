"""Users under real gunicorn (2 workers): the portal's header from trusted proxies only, basic auth."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest
from werkzeug.security import generate_password_hash

from components.ids import Shell


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET (errors included)."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def shown_user(server, headers: dict[str, str]) -> str:
    """The user name the top bar shows (the shell is built by the layout request)."""
    status, _, body = get(server.url("_dash-layout"), headers)
    assert status == 200, body[:200]
    layout = json.loads(body)

    def find(node):
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == Shell.USER:
                return node
            return next((f for v in node.values() if (f := find(v))), None)
        if isinstance(node, list):
            return next((f for v in node if (f := find(v))), None)
        return None

    user = find(layout)
    assert user is not None
    return json.dumps(user["props"]["children"])


@pytest.fixture(scope="module")
def portal_server(start_server):
    """Loopback is the portal's proxy: its user header is trusted."""
    return start_server(
        DASHAPP_TRUSTED_PROXIES="127.0.0.1",
        DASHAPP_USER_HEADER="X-Forwarded-User",
        DASHAPP_ADMINS="root",
        DASHAPP_LOG_LEVEL="info",
    )


@pytest.fixture(scope="module")
def elsewhere_server(start_server):
    """Only 10.9.9.9 is a proxy: requests from loopback are not."""
    return start_server(DASHAPP_TRUSTED_PROXIES="10.9.9.9", DASHAPP_USER_HEADER="X-Forwarded-User")


def test_au001_trusted_header_from_an_allowed_proxy(portal_server) -> None:
    assert "alice" in shown_user(portal_server, {"X-Forwarded-User": "alice"})
    admin = shown_user(portal_server, {"X-Forwarded-User": "root"})
    assert "root" in admin
    assert "admin" in admin
    # The proxy's X-Forwarded-For is honoured too: the log names the real client.
    get(
        portal_server.url("healthz"),
        {"X-Forwarded-For": "192.0.2.7", "X-Request-Id": "au001-req-1"},
    )
    lines = [json.loads(x) for x in portal_server.log.read_text().splitlines() if x.startswith("{")]
    line = next(x for x in lines if x.get("request_id") == "au001-req-1")
    assert line["remote"] == "192.0.2.7"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0


def test_au002_the_header_is_ignored_from_any_other_address(elsewhere_server) -> None:
    shown = shown_user(elsewhere_server, {"X-Forwarded-User": "mallory"})
    assert "mallory" not in shown
    assert "anonymous" in shown


def test_au003_basic_auth_users(start_server) -> None:
    hashed = generate_password_hash("s3cret-pass")
    server = start_server(DASHAPP_USERS=f"carol:{hashed}")
    status, headers, body = get(server.url("/"))
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic")
    assert b"Traceback" not in body

    def basic(user: str, password: str) -> dict[str, str]:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    assert get(server.url("/"), basic("carol", "wrong"))[0] == 401
    assert get(server.url("/"), basic("dave", "s3cret-pass"))[0] == 401
    assert get(server.url("/_dash-layout"), {"Authorization": "Basic !!!"})[0] == 401
    assert get(server.url("/data"), basic("carol", "s3cret-pass"))[0] == 200
    assert "carol" in shown_user(server, basic("carol", "s3cret-pass"))
    assert get(server.url("healthz"))[0] == 200  # load balancers need no password


BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def csrf_of(html_text: str) -> str:
    """The hidden token of the sign-in form."""
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', html_text)
    assert found, html_text[:500]
    return found.group(1)


def layout_csrf(layout_json: str) -> str:
    """The sign-out form's token in the page layout."""

    def find(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if props.get("name") == "csrf":
                return props["value"]
            return next((f for v in node.values() if (f := find(v))), None)
        if isinstance(node, list):
            return next((f for v in node if (f := find(v))), None)
        return None

    token = find(json.loads(layout_json))
    assert token, "no sign-out form in the layout"
    return token


@pytest.fixture(scope="module")
def users_server(start_server):
    """Standalone users: carol (an admin) and dave."""
    return start_server(
        DASHAPP_USERS=(
            f"carol:{generate_password_hash('s3cret-pass')} "
            f"dave:{generate_password_hash('other-pass')}"
        ),
        DASHAPP_ADMINS="carol",
    )


def test_au004_a_browser_signs_in_on_a_page_and_out_again(users_server) -> None:
    import requests

    web = requests.Session()
    web.headers.update(BROWSER)
    first = web.get(users_server.url("/data?table=main.teams"), allow_redirects=False)
    assert first.status_code == 303  # no Basic prompt for a browser: the sign-in page
    assert "login?next=" in first.headers["Location"]
    assert "WWW-Authenticate" not in first.headers
    form = web.get(users_server.base + first.headers["Location"])
    assert form.status_code == 200
    assert "Sign in to dashapp" in form.text
    token = csrf_of(form.text)

    def sign_in(user: str, password: str, csrf: str = token):
        return web.post(
            users_server.url("/login"),
            data={
                "user": user,
                "password": password,
                "csrf": csrf,
                "next": "/data?table=main.teams",
            },
            allow_redirects=False,
        )

    wrong = sign_in("carol", "nope")
    assert wrong.status_code == 401
    assert "Wrong user name or password." in wrong.text
    assert "Traceback" not in wrong.text
    assert sign_in("mallory", "s3cret-pass").status_code == 401
    assert sign_in("carol", "s3cret-pass", csrf="forged").status_code == 400
    good = sign_in("carol", "s3cret-pass")
    assert good.status_code == 303
    assert good.headers["Location"] == "/data?table=main.teams"
    cookie = good.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would be dropped
    assert web.get(users_server.url("/data?table=main.teams")).status_code == 200
    layout = web.get(users_server.url("_dash-layout")).text
    assert "carol" in layout
    assert "Sign out" in layout
    assert "admin" in layout

    token = layout_csrf(layout)
    out = web.post(users_server.url("/logout"), data={"csrf": token}, allow_redirects=False)
    assert out.status_code == 303
    after = web.get(users_server.url("/data"), allow_redirects=False)
    assert after.status_code == 303
    assert "login" in after.headers["Location"]
    # The page's own requests after signing out: a 401 without a Basic prompt.
    dash = web.get(users_server.url("_dash-layout"), headers={"Accept": "application/json"})
    assert dash.status_code == 401
    assert "WWW-Authenticate" not in dash.headers


def test_au005_sign_in_never_sends_a_browser_to_another_site(users_server) -> None:
    import requests

    web = requests.Session()
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        token = csrf_of(web.get(users_server.url("/login")).text)
        resp = web.post(
            users_server.url("/login"),
            data={"user": "dave", "password": "other-pass", "csrf": token, "next": target},
            allow_redirects=False,
        )
        assert resp.status_code == 303
        assert resp.headers["Location"] == "/", (target, resp.headers["Location"])
        web.cookies.clear()


def test_au006_over_https_the_session_cookie_suits_a_cross_site_frame(start_server) -> None:
    import requests

    server = start_server(
        DASHAPP_USERS=f"carol:{generate_password_hash('s3cret-pass')}",
        DASHAPP_TRUSTED_PROXIES="127.0.0.1",  # the TLS-terminating proxy is loopback here
    )
    web = requests.Session()
    web.headers["X-Forwarded-Proto"] = "https"
    token = csrf_of(web.get(server.url("/login")).text)
    good = web.post(
        server.url("/login"),
        data={"user": "carol", "password": "s3cret-pass", "csrf": token, "next": "/"},
        allow_redirects=False,
    )
    cookie = good.headers["Set-Cookie"]
    assert "Secure" in cookie, cookie
    assert "SameSite=None" in cookie, cookie
