"""Several machines on one: web nodes (gunicorn) with their own data folders, a Celery worker,
HAProxy round-robin in front; PostgreSQL (state and browsed data) and Redis shared."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT, free_port, skip_or_fail, wait_http

REDIS = "redis://127.0.0.1:6379"
HAPROXY = "/usr/sbin/haproxy"
SECRET = "several-nodes-share-this-secret-key-0123456789"


@dataclass
class Node:
    """One web node: a gunicorn master on its own port and data folder."""

    name: str
    port: int
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.data_dir / "node.log"

    def start(self) -> None:
        """Start (or start again) this node and wait until it serves /healthz."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dashapp.cli", "run"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_http(f"http://127.0.0.1:{self.port}/healthz", self.proc, timeout=120)
        except Exception as exc:
            raise RuntimeError(
                f"{self.name} did not start ({exc}):\n{self.log.read_text()[-3000:]}"
            ) from None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the node's whole process group (master and workers) with ``sig``."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=40)


@dataclass
class Cluster:
    """Two (or more) web nodes behind HAProxy, one Celery worker, shared services."""

    base: str
    nodes: list[Node]
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        """An address through the balancer."""
        return self.base + "/" + path.lstrip("/")

    def wait_balanced(self, timeout: float = 30) -> None:
        """Wait until HAProxy sends requests to every running node (its health checks)."""
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url("healthz"), timeout=3) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise TimeoutError("the balancer never answered /healthz")


def haproxy_config(port: int, nodes: list[Node]) -> str:
    """Round-robin, no stickiness; nodes taken out and back by their /healthz."""
    servers = "\n".join(
        f"  server {n.name} 127.0.0.1:{n.port} check inter 500ms fall 2 rise 2" for n in nodes
    )
    return f"""global
  maxconn 512
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  option redispatch
  # A new server connection per request: a node that stops refuses it, and HAProxy
  # sends the request to the other (a reused connection closing under a POST would fail).
  option http-server-close
  retries 3
frontend web
  bind 127.0.0.1:{port}
  option forwardfor
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
{servers}
"""


@contextlib.contextmanager
def cluster(tmp: Path, state_url: str, data_url: str, nodes: int = 2) -> Iterator[Cluster]:
    """Start the shared-nothing deployment the README's "Several machines" describes."""
    import redis

    if not Path(HAPROXY).exists():
        skip_or_fail(f"HAProxy not found at {HAPROXY} (apt-get install haproxy)")
    db = random.randint(1, 15)
    try:
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()
    except redis.exceptions.ConnectionError:
        skip_or_fail(f"Redis is not reachable at {REDIS}")
    shared = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DASHAPP_")},
        "DASHAPP_STATE_URL": state_url,
        "DASHAPP_DATABASE_URL": data_url,
        "DASHAPP_CELERY_BROKER": f"{REDIS}/{db}",
        "DASHAPP_SECRET_KEY": SECRET,
        "DASHAPP_TRUSTED_PROXIES": "127.0.0.1",
        "DASHAPP_WORKERS": "2",
        "DASHAPP_LOG_LEVEL": "warning",
    }
    web: list[Node] = []
    for i in range(nodes):
        data = tmp / f"node{i + 1}"
        data.mkdir()
        port = free_port()
        env = {**shared, "DASHAPP_DATA_DIR": str(data), "DASHAPP_PORT": str(port)}
        web.append(Node(f"node{i + 1}", port, data, env))
    front = free_port()
    made = Cluster(f"http://127.0.0.1:{front}", web, shared)
    worker_dir = tmp / "worker"
    worker_dir.mkdir()
    try:
        for node in web:
            node.start()
        cfg = tmp / "haproxy.cfg"
        cfg.write_text(haproxy_config(front, web))
        with (tmp / "haproxy.log").open("wb") as out:
            made.procs.append(
                subprocess.Popen([HAPROXY, "-f", str(cfg), "-db"], stdout=out, stderr=out)
            )
        worker_log = worker_dir / "worker.log"
        worker_env = {**shared, "DASHAPP_DATA_DIR": str(worker_dir)}
        with worker_log.open("wb") as out:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "dashapp.worker:celery",
                    "worker",
                    "--pool",
                    "threads",
                    "--concurrency",
                    "4",
                    "--loglevel",
                    "INFO",
                ],
                cwd=ROOT,
                env=worker_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        made.procs.append(worker)
        deadline = time.monotonic() + 90
        while b"ready." not in worker_log.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the Celery worker did not start:\n" + worker_log.read_text()[-3000:]
                )
            time.sleep(0.2)
        made.wait_balanced()
        yield made
    finally:
        for node in web:
            node.kill(signal.SIGTERM)
        for proc in made.procs:
            proc.terminate()
        for proc in made.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
