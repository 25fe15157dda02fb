"""The grid when a block's request is lost on the network: reset, answered 502, never answered.

Chromium talks to the app (real gunicorn) through a loopback proxy that spoils the first
block request it sees, as a killed worker, a reverse proxy in front of a dead worker or a
frozen connection would. The page must say so, retry, and fill the rows.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from components.ids import Data
from tests.browser.test_data import cells, wait_status
from tests.conftest import LiveServer

RETRYING = "Rows could not be loaded; retrying"


class FaultyProxy:
    """A TCP proxy to the app that spoils the first block request passing through it.

    ``mode``: ``reset`` (the answer is cut off after its first bytes by a connection reset,
    as when the worker is killed while answering), ``502`` (a gateway error, as a reverse
    proxy answers for a dead worker) or ``hang`` (the request is held, never answered).
    A connection reset or closed before any answer is not a fault a user sees: Chromium
    sends the request again by itself on a reused connection.
    """

    def __init__(self, target_port: int, mode: str) -> None:
        self.target_port, self.mode = target_port, mode
        self.block_requests = 0
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._cut: set[socket.socket] = set()  # reset once the app's answer starts
        self._held: set[socket.socket] = set()  # never answered
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        """An app URL through the proxy."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._socks += [client, upstream]
            threading.Thread(target=self._answer, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()

    def _answer(self, upstream: socket.socket, client: socket.socket) -> None:
        """App to browser."""
        answer = b""
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                answer += data
                head_end = answer.find(b"\r\n\r\n") + 4
                if client in self._cut and 4 <= head_end < len(answer):
                    # The status and headers, and a few bytes of the body: past those,
                    # Chromium cannot send the request again by itself.
                    client.sendall(answer[: head_end + 8])
                    # Linger 0 makes the last close send RST; SHUT_RD first wakes the thread
                    # reading from the browser, whose pending recv would delay that close.
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client.shutdown(socket.SHUT_RD)
                    client.close()
                    upstream.close()
                    return
                if client not in self._cut:
                    client.sendall(data)
                    answer = b""
        if client not in self._held:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)

    def _forward(self, client: socket.socket, upstream: socket.socket) -> None:
        """Browser to app, watching for block requests (their body names startRow)."""
        seen = b""
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                seen = (seen + data)[-65536:]
                if b"getRowsResponse" in seen and b'"startRow"' in seen:
                    seen = b""
                    with self._lock:
                        self.block_requests += 1
                        first = self.block_requests == 1
                    if first and self.mode != "reset":
                        self._spoil(client, upstream)
                        return
                    if first:
                        self._cut.add(client)
                upstream.sendall(data)
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)

    def _spoil(self, client: socket.socket, upstream: socket.socket) -> None:
        """Answer 502, or hold the request until the browser gives up on it."""
        if self.mode == "hang":
            self._held.add(client)
            upstream.close()
            with contextlib.suppress(OSError):
                while client.recv(65536):
                    pass
        else:
            client.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 12\r\nConnection: close\r\n\r\nBad Gateway\n"
            )
            client.shutdown(socket.SHUT_WR)
            upstream.close()
        client.close()

    def stop(self) -> None:
        """Close the listener and every connection."""
        self._listener.close()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture(scope="module")
def app_server(start_server) -> LiveServer:
    """The app with a 1 s statement limit, so a hung block is given up on after 8 s."""
    return start_server(DASHAPP_STATEMENT_TIMEOUT_S="1")


@pytest.fixture
def proxy(request, app_server: LiveServer) -> Iterator[FaultyProxy]:
    """A proxy to the app in the mode the test is parametrised with."""
    port = int(app_server.base.rsplit(":", 1)[1])
    faulty = FaultyProxy(port, request.param)
    yield faulty
    faulty.stop()


@pytest.mark.parametrize(
    ("proxy", "failure"),
    [("reset", "ERR_CONNECTION_RESET"), ("502", "502"), ("hang", "ERR_ABORTED")],
    indirect=["proxy"],
)
def test_fg001_a_lost_block_says_so_and_is_retried(page, proxy: FaultyProxy, failure) -> None:
    page.goto(proxy.url("/data?table=main.events"))
    alert = page.locator(f"#{Data.GRID_ERROR}")
    expect(alert).to_contain_text(RETRYING, timeout=30_000)
    wait_status(page, "of 5,000")
    assert cells(page, "id")[:3] == ["1", "2", "3"]
    expect(alert).to_be_hidden()
    assert proxy.block_requests >= 2
    # Nothing else went wrong than the loss we caused (Chromium reports it once).
    assert page.watch.problems(allow_status=(failure,)) == []
