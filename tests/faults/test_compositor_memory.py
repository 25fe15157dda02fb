"""Six concurrent 60-megapixel uploads against a real gunicorn worker: every one answered,
and the worker's peak memory above idle stays within 1.5 GB (it took 2.3 GB unbounded)."""

from __future__ import annotations

import io
import json
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from dashapp.compositor import composition
from dashapp.compositor.upload_store import UploadStore
from tests.integration.test_compositor_nodes import upload_body

UPLOADS = 6
SIDE = 7700  # 59.3 megapixels: just under the default limit of 60
BOUND = 1.5 * 2**30


def big_png(colour: tuple[int, int, int]) -> bytes:
    """A one-colour 7700x7700 PNG: a few hundred kB that decode to 240 MB in Pillow."""
    buf = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), colour).save(buf, "PNG")
    return buf.getvalue()


def worker_pid(master: int) -> int:
    """The one worker process of a gunicorn master."""
    pids = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    assert len(pids.split()) == 1, pids
    return int(pids.split()[0])


def memory(pid: int, key: str) -> int:
    """A ``/proc/<pid>/status`` size (``VmRSS``, ``VmHWM``) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def post(url: str, body: dict[str, Any]) -> tuple[int, str]:
    """POST a callback request; the status and the body."""
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=300) as resp:
        return resp.status, resp.read().decode()


def test_fm001_concurrent_large_uploads_are_answered_in_bounded_memory(start_server) -> None:
    server = start_server(DASHAPP_WORKERS="1", DASHAPP_THREADS="8")
    pid = worker_pid(server.proc.pid)
    with urllib.request.urlopen(server.url("_dash-dependencies"), timeout=30) as resp:
        graph = json.load(resp)
    endpoint = server.url("_dash-update-component")
    small = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(small, "PNG")
    fresh = composition.empty(UploadStore.new_session())
    warm = upload_body(graph, fresh, small.getvalue(), "w.png", background=True)
    assert post(endpoint, warm)[0] == 200  # imports and first-request work done before
    bodies = [
        upload_body(
            graph,
            composition.empty(UploadStore.new_session()),
            big_png((40 * i, 100, 200)),
            f"big{i}.png",
            background=True,
        )
        for i in range(UPLOADS)
    ]
    idle = memory(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts from here
    with ThreadPoolExecutor(UPLOADS) as pool:
        answers = list(pool.map(lambda body: post(endpoint, body), bodies))
    peak = memory(pid, "VmHWM")
    for i, (status, text) in enumerate(answers):
        assert status == 200
        assert f"Background: big{i}.png" in text, text[-500:]
    above = peak - idle
    assert above <= BOUND, f"peak {above / 2**20:.0f} MB above idle (bound 1536 MB)"
