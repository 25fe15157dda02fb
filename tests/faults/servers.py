"""Fault tests' tools: a gunicorn that can be killed and started again, the page's job calls.

Every wait here is a hang detector (generous, never a measure); bench/faults.py measures.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from components.ids import Training
from dashapp.db import make_engine
from dashapp.migrations import upgrade
from jobs.store import JobStore
from tests.callbacks.helpers import find_callback
from tests.conftest import ROOT, SMALL_DEMO_ROWS

HANG_S = 90.0  # a hang detector: far longer than anything here takes when it works


def wait_until(what: str, check: Callable[[], Any], timeout: float = HANG_S) -> Any:
    """Poll ``check`` until it returns something truthy; fail saying ``what`` never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (hang detector)")
        time.sleep(0.2)


class Gunicorn:
    """``dashapp run`` on a fixed port and data folder; stopped and started again at will."""

    def __init__(self, data_dir: Path, port: int, **env: str) -> None:
        """Serve ``data_dir`` on ``port`` with extra ``DASHAPP_*`` settings."""
        self.data_dir, self.port = data_dir, port
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")},
            "DASHAPP_DATA_DIR": str(data_dir),
            "DASHAPP_PORT": str(port),
            "DASHAPP_WORKERS": "2",
            "DASHAPP_DEMO_ROWS": str(SMALL_DEMO_ROWS),
            "DASHAPP_LOG_LEVEL": "info",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        """The server's address."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        """The log of the current (or last) master."""
        return self.data_dir / f"server-{self.starts}.log"

    def start(self, timeout: float = HANG_S) -> None:
        """Start a master and wait until /healthz answers 200."""
        if self.proc is not None:  # the previous master was stopped: collect its exit
            try:
                self.proc.wait(HANG_S)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the old master never exited:\n{self.tail()}") from None
        self.starts += 1
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dashapp.cli", "run"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        proc = self.proc
        try:
            wait_until("/healthz answers 200", lambda: proc.poll() is not None or healthy(self))
        except AssertionError:
            raise AssertionError(f"the server never served:\n{self.tail()}") from None
        if proc.poll() is not None:
            raise AssertionError(f"the server exited ({proc.returncode}):\n{self.tail()}")

    def tail(self) -> str:
        """The end of the current master's log."""
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def kill(self, sig: int) -> None:
        """Send ``sig`` to the master."""
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        """Stop the master and its workers, whatever state they are in (teardown)."""
        if self.proc is None:
            return
        workers = children(self.proc.pid)
        with contextlib.suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def healthy(server: Gunicorn) -> bool:
    """Whether /healthz answers 200 now."""
    try:
        with urllib.request.urlopen(server.base + "/healthz", timeout=3) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
        return False


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listeners(port: int) -> set[int]:
    """The pids holding a TCP socket that listens on ``port`` (read from /proc, as ss does)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(f"socket:[{inode}]")
    holders = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        holders.add(int(entry.name))
    return holders


def ss(port: int) -> str:
    """What ``ss -tlnp`` says about ``port`` (for failure messages)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["ss", "-tlnp"], capture_output=True, text=True, timeout=10).stdout
        return "\n".join(line for line in out.splitlines() if f":{port} " in line)
    return "(ss unavailable)"


def state_store(data_dir: Path) -> JobStore:
    """The server's state database (the default: SQLite in its data folder), migrated."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{data_dir / 'state.sqlite'}")
    upgrade(engine)
    return JobStore(engine)


class Page:
    """What the Training page sends, over one kept-alive connection (as a browser does)."""

    def __init__(self, server: Gunicorn) -> None:
        """Connect to ``server``."""
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.deps = self.get_json("/_dash-dependencies")

    def get_json(self, path: str) -> Any:
        """GET ``path`` and decode its JSON."""
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        body = resp.read()
        assert resp.status == 200, (path, resp.status, body[:300])
        return json.loads(body)

    def post(self, body: dict[str, Any]) -> Any:
        """Post one callback request; its JSON answer."""
        self.conn.request(
            "POST",
            "/_dash-update-component",
            json.dumps(body),
            {"Content-Type": "application/json"},
        )
        resp = self.conn.getresponse()
        data = resp.read()
        assert resp.status == 200, (resp.status, data[:500])
        return json.loads(data)

    def start(self, **params: int) -> str:
        """Click Start with these shapes-cnn parameters; the new job's id."""
        dep = find_callback(self.deps, f"{Training.LAUNCHES}.children")
        names = list(params)
        body = {
            "output": dep["output"],
            "outputs": [
                {
                    "id": json.loads(o.rsplit(".", 1)[0]) if o.startswith("{") else o.split(".")[0],
                    "property": o.rsplit(".", 1)[1],
                }
                for o in dep["output"].strip(".").split("...")
            ],
            "inputs": [{"id": Training.START, "property": "n_clicks", "value": 1}],
            "state": [
                {"id": Training.TRAINER, "property": "value", "value": "shapes-cnn"},
                [
                    {"id": Training.param(n), "property": "id", "value": Training.param(n)}
                    for n in names
                ],
                [{"id": Training.param(n), "property": "value", "value": params[n]} for n in names],
            ],
            "changedPropIds": [f"{Training.START}.n_clicks"],
        }
        out = self.post(body)["response"]
        job_id = out[Training.CURRENT]["data"]
        assert isinstance(job_id, str), out
        return job_id

    def launch(self, job_id: str) -> dict[str, Any]:
        """What the page sends when a job's launch store appears (the background callback)."""
        pattern = json.dumps(
            {"job": ["MATCH"], "type": "training-launch-done"}, separators=(",", ":")
        )
        return self.post(
            {
                "output": f"{pattern}.data",
                "outputs": {"id": Training.launch_done(job_id), "property": "data"},
                "inputs": [
                    {
                        "id": Training.launch(job_id),
                        "property": "data",
                        "value": {"job": job_id, "nonce": job_id},
                    }
                ],
                "state": [],
                "changedPropIds": [],
            }
        )

    def close(self) -> None:
        """Hang up."""
        self.conn.close()
