"""Restarting gunicorn mid-job (SIGTERM, SIGKILL): the port is free, the new server serves, the
job goes on, and no client connection is left hanging."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.ids import Training
from jobs.store import CANCELLED, FAILED, RUNNING, SUCCEEDED, JobStore
from tests.callbacks.helpers import build_payload
from tests.conftest import free_port
from tests.faults.servers import (
    HANG_S,
    Gunicorn,
    Page,
    alive,
    children,
    listeners,
    ss,
    state_store,
    wait_until,
)

# Minutes on these machines (50 x 3,000 took 26 s): it outlives the restart and every wait
# here, so what the old server's processes do while it runs is what is tested.
LONG = {"epochs": 50, "samples": 30_000}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Gunicorn]:
    """A gunicorn on a port of its own; at the end every job left running is stopped."""
    srv = Gunicorn(tmp_path / "data", free_port())
    yield srv
    srv.stop()
    stop_jobs(state_store(srv.data_dir))


def stop_jobs(store: JobStore) -> None:
    """Cancel what still runs, and kill what does not stop (teardown only)."""
    for job in store.list_jobs():
        if not job.done:
            store.request_cancel(job.id)
    with contextlib.suppress(AssertionError):
        wait_until("jobs stop", lambda: all(j.done for j in store.list_jobs()), timeout=20)
    for job in store.list_jobs():
        if job.pid and not job.done:
            with contextlib.suppress(ProcessLookupError):
                os.kill(job.pid, signal.SIGKILL)
    store.engine.dispose()


def kept_alive_connection_closes(sock: socket.socket) -> bool:
    """Whether the server side of an idle kept-alive connection hangs up (EOF or reset)."""
    sock.settimeout(HANG_S / 3)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_fr001_restart_mid_job_serves_again_and_the_job_goes_on(
    server: Gunicorn, sig: signal.Signals
) -> None:
    server.start()
    store = state_store(server.data_dir)
    page = Page(server)
    job_id = page.start(**LONG)
    # Sent on the same kept-alive connection, as a browser does: the background callback's
    # process is forked while this connection is open in the worker.
    page.launch(job_id)
    wait_until(
        "the job runs",
        lambda: (j := store.get(job_id)) and j.status == RUNNING and j.progress.get("step"),
    )

    # Only the master and its workers listen on the port: no job-related process.
    assert server.proc is not None
    master = server.proc.pid
    workers = set(children(master))
    holders = listeners(server.port)
    job = store.get(job_id)
    assert job is not None
    assert holders, ss(server.port)
    assert holders <= {master} | workers, (
        f"processes other than gunicorn's hold the listening socket: "
        f"{sorted(holders - {master} - workers)} (job {job.pid}):\n{ss(server.port)}"
    )

    server.kill(sig)
    wait_until(
        f"the old server lets go of port {server.port} ({ss(server.port)})",
        lambda: not listeners(server.port),
    )
    # Its workers end too (none waits for the job's processes; with SIGKILL they notice
    # that their master is gone), while the job still runs.
    wait_until(
        f"the old workers {sorted(workers)} exit",
        lambda: not any(alive(pid) for pid in workers),
    )
    assert page.conn.sock is not None
    assert kept_alive_connection_closes(page.conn.sock), "a kept-alive connection hung"
    page.close()

    server.start()  # the same port and data: /healthz answers 200 (a hang detector waits)
    before = store.get(job_id)
    assert before is not None
    step = before.progress.get("step", 0)

    def went_on_or_ended() -> bool:
        """Whether the job made progress since the restart, or ended."""
        job = store.get(job_id)
        return job is not None and (job.done or job.progress.get("step", 0) > step)

    wait_until("the job goes on after the restart (or ends)", went_on_or_ended)
    job = store.get(job_id)
    assert job is not None
    if job.done:  # the job may end meanwhile; it never hangs and always says why
        assert job.status == SUCCEEDED or (job.status == FAILED and job.error), job
        return
    assert job.status == RUNNING
    # The new server sees and controls it: Cancel on its page stops the job.
    page = Page(server)
    body = build_payload(
        page.deps,
        f"{Training.CANCEL_NOTE}.children",
        {f"{Training.CANCEL}.n_clicks": 1, f"{Training.CURRENT}.data": job_id},
    )
    assert "Stopping" in str(page.post(body))
    page.close()
    wait_until("the cancelled job stops", lambda: (j := store.get(job_id)) and j.done)
    assert store.get(job_id).status == CANCELLED
