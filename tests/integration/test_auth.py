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
    """Only 10.9.9.9 is a proxy: requests from loopback are not (and may come in anonymously)."""
    return start_server(
        DASHAPP_TRUSTED_PROXIES="10.9.9.9",
        DASHAPP_USER_HEADER="X-Forwarded-User",
        DASHAPP_ALLOW_ANONYMOUS="true",
    )


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


# --- issue 17: portal mode closed, sessions revocable and shared, sign-in limits, headers ---


def log_lines(server) -> list[dict]:
    """The server's JSON log lines so far."""
    return [json.loads(x) for x in server.log.read_text().splitlines() if x.startswith("{")]


def test_au007_portal_mode_refuses_a_request_without_the_header(portal_server) -> None:
    # Through the portal: served. Straight to the app, past the portal: refused, saying why.
    assert get(portal_server.url("/data"), {"X-Forwarded-User": "alice"})[0] == 200
    for path in ("/data", "/export.csv?table=main.users", "/"):
        status, headers, body = get(portal_server.url(path), BROWSER)
        assert status == 403, (path, body[:200])
        assert b"X-Forwarded-User is missing" in body
        assert b"open dashapp through it" in body
        assert b"id,name" not in body  # no rows of main.users
        assert headers["Content-Type"].startswith("text/plain")
    status, _, body = get(portal_server.url("_dash-layout"))
    assert status == 403
    assert "portal" in json.loads(body)["error"]
    assert get(portal_server.url("healthz"))[0] == 200  # load balancers need no user
    # The operator reads the mode once per worker at start-up.
    modes = {x["message"] for x in log_lines(portal_server) if "auth mode" in x["message"]}
    assert modes == {
        "auth mode: portal: user from X-Forwarded-User sent by trusted proxies: 127.0.0.1; "
        "requests without a user are refused"
    }


def test_au008_portal_mode_refuses_an_address_that_is_not_a_trusted_proxy(start_server) -> None:
    server = start_server(
        DASHAPP_TRUSTED_PROXIES="10.9.9.9",
        DASHAPP_USER_HEADER="X-Forwarded-User",
        DASHAPP_ADMINS="mallory",
    )
    for path in ("/data", "/export.csv?table=main.users"):
        status, _, body = get(server.url(path), {"X-Forwarded-User": "mallory"})
        assert status == 403, body[:200]
        assert b"not from a trusted proxy" in body
        assert b"Traceback" not in body
    assert get(server.url("healthz"))[0] == 200


def sign_in(server, web, user: str, password: str, next_path: str = "/data"):
    """Post the sign-in form as a browser does (the form's token from the page first)."""
    token = csrf_of(web.get(server.url("/login")).text)
    return web.post(
        server.url("/login"),
        data={"user": user, "password": password, "csrf": token, "next": next_path},
        allow_redirects=False,
    )


def test_au009_signing_out_ends_the_session_even_for_a_copied_cookie(users_server) -> None:
    import requests

    web = requests.Session()
    web.headers.update(BROWSER)
    assert sign_in(users_server, web, "dave", "other-pass").status_code == 303
    stolen = requests.Session()
    stolen.headers.update(BROWSER)
    stolen.cookies.set("dashapp_session", web.cookies["dashapp_session"])
    assert stolen.get(users_server.url("/data"), allow_redirects=False).status_code == 200
    token = layout_csrf(web.get(users_server.url("_dash-layout")).text)
    assert web.post(users_server.url("/logout"), data={"csrf": token}).status_code == 200
    # The copied cookie is refused at once, by every worker.
    for _ in range(6):
        refused = stolen.get(users_server.url("/data"), allow_redirects=False)
        assert refused.status_code == 303
        assert "login" in refused.headers["Location"]
        layout = stolen.get(users_server.url("_dash-layout"), headers={"Accept": "*/*"})
        assert layout.status_code == 401


def test_au010_a_second_node_sharing_the_state_database_accepts_the_session(
    start_server, pg_url
) -> None:
    import requests
    from sqlalchemy import text

    from dashapp.db import make_engine

    env = {
        "DASHAPP_STATE_URL": pg_url,
        "DASHAPP_SECRET_KEY": "au010-every-node-has-this-key",
        "DASHAPP_USERS": f"carol:{generate_password_hash('s3cret-pass')}",
    }
    a, b = start_server(**env), start_server(**env)
    web = requests.Session()
    web.headers.update(BROWSER)
    # A round-robin balancer: the form from node a, posted to node b.
    token = csrf_of(web.get(a.url("/login")).text)
    signed = web.post(
        b.url("/login"),
        data={"user": "carol", "password": "s3cret-pass", "csrf": token, "next": "/data"},
        allow_redirects=False,
    )
    assert signed.status_code == 303
    cookie = web.cookies["dashapp_session"]
    for node in (a, b):
        assert web.get(node.url("/data"), allow_redirects=False).status_code == 200
        assert "carol" in web.get(node.url("_dash-layout")).text
    # The server keeps only a hash of the cookie's token, and decides when it ends.
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        stored = conn.execute(text('SELECT token_hash, "user" FROM signin_sessions')).all()
        assert [row[1] for row in stored] == ["carol"]
        assert cookie not in stored[0][0]
        conn.execute(text("UPDATE signin_sessions SET expires_at = created_at"))
    engine.dispose()
    for node in (a, b):
        ended = web.get(node.url("/data"), allow_redirects=False)
        assert ended.status_code == 303
        assert "login" in ended.headers["Location"]
    # Signing in again, and out on the other node: refused on both.
    assert sign_in(a, web, "carol", "s3cret-pass").status_code == 303
    csrf = layout_csrf(web.get(a.url("_dash-layout")).text)
    copied = web.cookies["dashapp_session"]
    web.post(b.url("/logout"), data={"csrf": csrf})
    for node in (a, b):
        status, _, _ = get(node.url("_dash-layout"), {"Cookie": f"dashapp_session={copied}"})
        assert status == 401


def test_au011_basic_auth_checks_a_hash_for_unknown_names_too(tmp_path, monkeypatch) -> None:
    """The timing leak's cause: an unknown name answered without a password check."""
    from dashapp.app import create_app, deps_of
    from dashapp.settings import Settings
    from dashapp.web import security

    hashed = generate_password_hash("s3cret-pass")
    app = create_app(Settings(data_dir=tmp_path, demo_rows=2_000, users=(("carol", hashed),)))
    checked: list[str] = []
    real = security.check_password_hash

    def counted(stored: str, password: str) -> bool:
        checked.append(stored.split("$", 1)[0])
        return real(stored, password)

    monkeypatch.setattr(security, "check_password_hash", counted)
    client = app.server.test_client()
    for user in ("carol", "nobody-by-that-name"):
        token = base64.b64encode(f"{user}:wrong".encode()).decode()
        assert client.get("/data", headers={"Authorization": f"Basic {token}"}).status_code == 401
    method = hashed.split("$", 1)[0]
    assert checked == [method, method]  # the same check, made the same way, for both
    deps_of(app).dispose()


def limited_server(start_server, **env: str):
    """Standalone users, with the default limit of failed sign-ins."""
    return start_server(
        DASHAPP_USERS=" ".join(
            f"{name}:{generate_password_hash(name + '-pass')}" for name in ("carol", "dave", "erin")
        ),
        **env,
    )


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ATTEMPTS = 10  # DASHAPP_SIGNIN_ATTEMPTS's default
WORKERS = 2


def test_au012_failed_sign_ins_are_limited_per_name_in_each_worker(start_server) -> None:
    import requests

    server = limited_server(start_server)
    web = requests.Session()
    web.headers.update(BROWSER)
    # Counted in each worker's memory: whichever worker answers, at most 10 failures each,
    # so among 21 attempts at least one is refused before its password is checked.
    answers = [sign_in(server, web, "carol", "guess") for _ in range(ATTEMPTS * WORKERS + 1)]
    statuses = [a.status_code for a in answers]
    assert set(statuses) == {401, 429}, statuses
    assert statuses.count(401) <= ATTEMPTS * WORKERS
    limited = answers[statuses.index(429)]
    assert "Too many sign-in attempts; try again in 15 minutes." in limited.text
    assert "Sign in to dashapp" in limited.text  # the page, with its form
    assert 800 < int(limited.headers["Retry-After"]) <= 901
    assert "Traceback" not in limited.text
    # Another user signs in as usual, from the same address.
    assert sign_in(server, requests.Session(), "dave", "dave-pass").status_code == 303
    # HTTP Basic is counted the same way, and answers in plain text.
    answers = [
        get(server.url("/data"), basic("erin", "guess")) for _ in range(ATTEMPTS * WORKERS + 1)
    ]
    codes = [status for status, _, _ in answers]
    assert set(codes) == {401, 429}, codes
    body = answers[codes.index(429)][2]
    assert body == b"Too many sign-in attempts; try again in 15 minutes.\n"
    assert get(server.url("/data"), basic("dave", "dave-pass"))[0] == 200
    assert "Traceback" not in server.log.read_text()


def test_au013_with_redis_every_worker_and_node_shares_the_counts(start_server) -> None:
    import random
    import uuid

    import redis

    from tests.conftest import skip_or_fail

    url = f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail(f"Redis is not reachable at {url}")
    env = {"DASHAPP_CELERY_BROKER": url, "DASHAPP_SECRET_KEY": "au013-shared-key"}
    a, b = limited_server(start_server, **env), limited_server(start_server, **env)
    name = f"ghost-{uuid.uuid4().hex[:8]}"  # a name no other run counted
    client = redis.Redis.from_url(url)
    try:
        # A new connection each time, to two nodes of 2 workers: exactly 10, then 429.
        codes = [get((a, b)[n % 2].url("/data"), basic(name, "guess"))[0] for n in range(ATTEMPTS)]
        assert codes == [401] * ATTEMPTS
        for node in (a, b, a, b):
            status, _, body = get(node.url("/data"), basic(name, "guess"))
            assert status == 429, body
            assert body.startswith(b"Too many sign-in attempts; try again in ")
        assert get(b.url("/data"), basic("carol", "carol-pass"))[0] == 200
        keys = [k.decode() for k in client.keys("*dashapp-signin*")]
        assert any(name in k for k in keys), keys  # the counts are in Redis
    finally:
        stale = client.keys("*dashapp-signin*")
        if stale:
            client.delete(*stale)


def test_au014_nodes_sharing_state_need_one_secret_key(tmp_path, pg_url) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT, free_port

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        full = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")},
            "DASHAPP_DATA_DIR": str(tmp_path / "data"),
            "DASHAPP_DEMO_AUTOCREATE": "false",
            "DASHAPP_PORT": str(free_port()),
            **env,
        }
        return subprocess.run(
            [sys.executable, "-m", "dashapp.cli", "run"],
            cwd=ROOT,
            env=full,
            capture_output=True,
            text=True,
            timeout=60,
        )

    for env in (
        {"DASHAPP_CELERY_BROKER": "redis://127.0.0.1:6379/0"},
        {"DASHAPP_STATE_URL": pg_url},
    ):
        out = run(**env)
        assert out.returncode == 2, out.stderr[-2000:]
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, out.stderr
        assert "set the same DASHAPP_SECRET_KEY on every node" in lines[0]
        assert not (tmp_path / "data" / "secret_key").exists()


def test_au015_what_may_be_cached_and_by_whom(users_server) -> None:
    from tests.callbacks.helpers import build_payload

    auth = basic("carol", "s3cret-pass")
    for path in ("/", "/data", "_dash-layout", "_dash-dependencies"):
        status, headers, _ = get(users_server.url(path), auth)
        assert status == 200, path
        assert headers["Cache-Control"] == "no-store", path
    deps = json.loads(get(users_server.url("_dash-dependencies"), auth)[2])
    payload = build_payload(
        deps,
        "_pages_content.children",
        {"_pages_location.pathname": "/data", "_pages_location.search": ""},
    )
    req = urllib.request.Request(
        users_server.url("_dash-update-component"),
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **auth},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "no-store"
    # Versioned scripts keep their year of caching; a source map Dash does not ship is a 404.
    _, _, page = get(users_server.url("/"), auth)
    import re

    script = next(s.decode() for s in re.findall(rb'src="([^"]+dash_renderer[^"]+\.js)"', page))
    status, headers, _ = get(users_server.base + script, auth)
    assert status == 200
    assert "max-age=31536000" in headers["Cache-Control"]
    status, _, body = get(users_server.base + script + ".map", auth)
    assert status == 404, body[:300]
    assert json.loads(body) == {"error": "not found"}
    status, _, _ = get(users_server.url("_dash-component-suites/dash/no/such/file.js"), auth)
    assert status == 404
    assert "Traceback" not in users_server.log.read_text()


def test_au016_compositor_files_are_cached_by_the_browser_only(app) -> None:
    from PIL import Image

    from dashapp.app import deps_of
    from tests.image_fixtures import encode, solid

    store = deps_of(app).upload_store
    sid = store.new_session()
    info = store.add(sid, encode(solid((40, 30), (200, 10, 10)), "PNG"), "red.png")
    render = store.save_render(sid, Image.new("RGB", (40, 30)), fmt="png", quality=90)
    client = app.server.test_client()
    for url in (
        f"/compositor/files/{sid}/{info.id}/preview?t=000",
        f"/compositor/files/{sid}/renders/{render}",
        f"/compositor/files/{sid}/renders/{render}?preview=1",
        f"/compositor/files/{sid}/renders/{render}?download=1",
    ):
        resp = client.get(url)
        assert resp.status_code == 200, url
        directives = [d.strip() for d in resp.headers["Cache-Control"].split(",")]
        assert "private" in directives, (url, directives)
        assert "public" not in directives, url
        resp.close()


def test_au017_any_forged_form_token_is_a_400_never_a_500(users_server) -> None:
    import requests

    web = requests.Session()
    web.get(users_server.url("/login"))  # the browser's nonce cookie
    for forged in ("é", "x" * 5000, ""):
        resp = web.post(
            users_server.url("/login"),
            data={"user": "dave", "password": "other-pass", "csrf": forged},
            allow_redirects=False,
        )
        assert resp.status_code == 400, (forged[:10], resp.text[:200])
        assert "This form had expired" in resp.text
    out = web.post(users_server.url("/logout"), data={"csrf": "é"}, allow_redirects=False)
    assert out.status_code == 303
