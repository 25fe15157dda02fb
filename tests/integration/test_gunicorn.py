"""The app under real gunicorn (2 workers): pages, 404, health, assets, prefix."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.callbacks.helpers import build_payload
from tests.conftest import LiveServer

PAGES = ("/", "/data", "/training", "/compositor")


def fetch(url: str, data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET (or POST JSON) and return status, headers and body, 4xx/5xx included."""
    req = urllib.request.Request(url, data=data)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.mark.parametrize("server_name", ["live_server", "prefixed_server"])
def test_gu001_pages_assets_and_callbacks(request: pytest.FixtureRequest, server_name: str) -> None:
    server: LiveServer = request.getfixturevalue(server_name)
    for path in PAGES:
        status, headers, body = fetch(server.url(path))
        assert status == 200, path
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in csp
        assert "unsafe-eval" not in csp
        # Every script and stylesheet the page names is served under the prefix.
        for ref in re.findall(rb'(?:src|href)="([^"]+\.(?:js|css)[^"]*)"', body):
            assert ref.decode().startswith(server.prefix), ref
            assert fetch(server.base + ref.decode())[0] == 200, ref
    assert fetch(server.url("no-such-page"))[0] == 404
    status, _, body = fetch(server.url("healthz"))
    assert status == 200
    assert json.loads(body)["status"] == "ok"
    # A callback round trip through the prefix (the page router).
    deps = json.loads(fetch(server.url("_dash-dependencies"))[2])
    payload = build_payload(
        deps,
        "_pages_content.children",
        {"_pages_location.pathname": server.prefix + "data", "_pages_location.search": ""},
    )
    status, _, body = fetch(server.url("_dash-update-component"), json.dumps(payload).encode())
    assert status == 200
    assert b"data-picker" in body


def test_gu002_vendored_theme_and_icons_are_served(live_server: LiveServer) -> None:
    _, _, body = fetch(live_server.url("/"))
    assert b"00_bootstrap.min.css" in body
    assert b"01_bootstrap-icons.min.css" in body
    assert fetch(live_server.url("assets/fonts/bootstrap-icons.woff2"))[0] == 200


def test_gu003_both_workers_answer(live_server: LiveServer) -> None:
    # gunicorn hands connections to whichever worker accepts; over many requests both
    # must have served, which proves the shared state (secret key, demo db) works.
    for _ in range(40):
        assert fetch(live_server.url("data"))[0] == 200
    log = live_server.log.read_text()
    assert "Traceback" not in log


def test_gu004_first_requests_in_parallel_never_fail(start_server) -> None:
    # Regression: Dash registers its scripts on a worker's first request; concurrent
    # first requests for scripts used to get 500 "not a registered library".
    from concurrent.futures import ThreadPoolExecutor

    server = start_server(DASHAPP_THREADS="8")
    _, _, body = fetch(server.url("/"))
    refs = [r.decode() for r in re.findall(rb'src="([^"]+\.js[^"]*)"', body)]
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda r: fetch(server.base + r)[0], refs * 4))
    assert set(statuses) == {200}


def test_gu005_forged_and_oversized_requests_get_a_clean_4xx(live_server: LiveServer) -> None:
    url = live_server.url("_dash-update-component")
    for body in (b"{not json", b'{"output": "nope.children", "inputs": []}', b"[1, 2, 3]"):
        status, _, answer = fetch(url, body)
        assert status == 400, body
        assert b"Traceback" not in answer
        assert b"SELECT" not in answer
    # Past the request limit (25 MB of upload in base64 plus page state): refused at once.
    big = b"{" + b" " * (48 * 1024 * 1024) + b"}"
    try:
        status = fetch(url, big)[0]
    except (ConnectionError, urllib.error.URLError):
        status = 413  # the server may close the connection while the body is still sent
    assert status == 413
    assert fetch(live_server.url("healthz"))[0] == 200  # and the server is fine
