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
