"""A private PostgreSQL cluster on its own port that a test (or a bench) may freeze and thaw.

PostgreSQL refuses to run as root, so when we are root the cluster runs as the ``postgres``
OS user (``runuser``) in a temporary folder it owns. ``freeze`` stops every process of the
cluster with SIGSTOP: the kernel still completes TCP handshakes and acknowledges data, so
to its clients the server looks alive but never answers (a hung host, a stalled VM).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path(os.environ.get("DASHAPP_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


class Unavailable(RuntimeError):
    """A private cluster cannot be started here; the message says why."""


def _free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (a postmaster's backends and helpers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


class PrivatePostgres:
    """One throwaway cluster: ``url``, ``freeze()``, ``thaw()``, ``stop()``."""

    def __init__(self) -> None:
        """Create and start the cluster, or raise Unavailable."""
        if not (PG_BIN / "initdb").exists():
            raise Unavailable(f"PostgreSQL server binaries not found in {PG_BIN}")
        self.as_user: list[str] = []
        owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no postgres OS user") from None
            if not shutil.which("runuser"):
                raise Unavailable("running as root and runuser is missing")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            owner = (pw.pw_uid, pw.pw_gid)
        # Under /tmp, not pytest's tmp_path: the postgres user cannot enter root's folders.
        self.root = Path(tempfile.mkdtemp(prefix="dashapp-pg-"))
        if owner:
            os.chown(self.root, *owner)
        self.port = _free_port()
        self.data = self.root / "data"
        self._frozen: list[int] = []
        try:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
            self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-o",
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c full_page_writes=off -c shared_buffers=16MB",
                "start",
            )
        except Unavailable:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    @property
    def url(self) -> str:
        """A URL of the cluster's ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        """Run a PostgreSQL tool as the cluster's owner; Unavailable if it fails."""
        extra = ["--no-sync", "-E", "UTF8", "--locale=C"] if tool == "initdb" else []
        proc = subprocess.run(
            [*self.as_user, str(PG_BIN / tool), *args, *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise Unavailable(f"{tool} failed ({proc.returncode}): {proc.stderr[-2000:]}{tail}")

    def postmaster(self) -> int | None:
        """The postmaster's pid, while it runs."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().split()[0])
        return None

    def freeze(self) -> list[int]:
        """SIGSTOP every process of the cluster (the postmaster first: it forks no more)."""
        pm = self.postmaster()
        if pm is None:
            raise RuntimeError("the private PostgreSQL is not running")
        os.kill(pm, signal.SIGSTOP)
        self._frozen = [pm]
        for pid in _children(pm):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                self._frozen.append(pid)
        return list(self._frozen)

    def thaw(self) -> None:
        """SIGCONT every process of the cluster (safe to call when nothing is frozen)."""
        pm = self.postmaster()
        pids = set(self._frozen) | ({pm, *_children(pm)} if pm else set())
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._frozen = []

    def stop(self) -> None:
        """Thaw, stop the cluster at once and delete its files."""
        self.thaw()
        with contextlib.suppress(Unavailable, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        pm = self.postmaster()
        if pm is not None:  # pg_ctl could not stop it: do not leave it running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pm, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private cluster, always thawed and stopped afterwards."""
    cluster = PrivatePostgres()
    try:
        yield cluster
    finally:
        cluster.stop()
