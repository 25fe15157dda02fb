"""Faults at the portal: it forwards requests without the user header, or is bypassed."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.conftest import LiveServer


class Portal(ThreadingHTTPServer):
    """A reverse proxy in front of the app that adds the signed-in user's header, or not."""

    daemon_threads = True
    user: str | None = "alice"
    upstream: str = ""


class Forward(BaseHTTPRequestHandler):
    """Forward a GET to the app with ``X-Forwarded-User`` when the portal knows the user."""

    server: Portal

    def do_GET(self) -> None:
        target = urlsplit(self.server.upstream)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        headers = {"Accept": self.headers.get("Accept", "*/*")}
        if self.server.user:
            headers["X-Forwarded-User"] = self.server.user
        conn.request("GET", self.path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        self.send_response(resp.status)
        for key in ("Content-Type", "Content-Disposition"):
            if resp.getheader(key):
                self.send_header(key, resp.getheader(key))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        conn.close()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def app_behind_portal(start_server) -> Iterator[tuple[LiveServer, Portal]]:
    """The app in portal mode (loopback is the trusted proxy) and the portal in front of it."""
    server = start_server(
        DASHAPP_TRUSTED_PROXIES="127.0.0.1",
        DASHAPP_USER_HEADER="X-Forwarded-User",
        DASHAPP_LOG_LEVEL="info",
    )
    portal = Portal(("127.0.0.1", 0), Forward)
    portal.upstream = server.base
    thread = threading.Thread(target=portal.serve_forever, daemon=True)
    thread.start()
    yield server, portal
    portal.shutdown()
    portal.server_close()


def fetch(url: str) -> tuple[int, bytes]:
    """Status and body of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_fp001_a_portal_that_loses_the_user_header_gets_no_data(app_behind_portal) -> None:
    server, portal = app_behind_portal
    via_portal = f"http://127.0.0.1:{portal.server_address[1]}"
    export = "/export.csv?table=main.users"
    portal.user = "alice"
    status, body = fetch(via_portal + export)
    assert status == 200
    assert body.startswith(b"id,")  # what a signed-in user downloads
    portal.user = None  # the portal's own sign-in broke: it forwards without the header
    try:
        for path in (export, "/data", "/_dash-layout"):
            status, body = fetch(via_portal + path)
            assert status == 403, (path, body[:200])
            assert b"X-Forwarded-User is missing" in body
            assert b"id," not in body
    finally:
        portal.user = "alice"
    assert fetch(server.url("healthz"))[0] == 200  # the balancer still sees a healthy node
    messages = [
        json.loads(x)["message"] for x in server.log.read_text().splitlines() if x.startswith("{")
    ]
    assert any(m.startswith("auth mode: portal: ") for m in messages)


def test_fp002_a_client_that_bypasses_the_portal_cannot_claim_a_user(app_behind_portal) -> None:
    """From another address (127.0.0.2: not the portal), a forged header counts for nothing."""
    server, _ = app_behind_portal
    port = int(server.base.rsplit(":", 1)[1])
    for path in ("/export.csv?table=main.users", "/data"):
        conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=30, source_address=("127.0.0.2", 0)
        )
        conn.request("GET", path, headers={"X-Forwarded-User": "root"})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        assert resp.status == 403, (path, body[:200])
        assert b"not from a trusted proxy" in body
        assert b"id," not in body
