"""The jobs API as scripts use it: every route and error status, two users who cannot see each
other's jobs, jobs that run with no browser (server-side and on Celery), a server killed
mid-job, a state database that refuses connections, and the OpenAPI document."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from dashapp.app import deps_of
from dashapp.db import make_engine
from dashapp.settings import Settings
from dashapp.web.api import ROUTES
from jobs.launches import launcher_of
from jobs.store import CANCELLED, FINAL, RUNNING, SUCCEEDED, WORKER
from tests.conftest import SMALL_DEMO_ROWS, TEST_SECRET_KEY, LiveServer, free_port
from tests.faults.servers import Gunicorn, children, state_store, wait_until
from tests.integration.test_auth import csrf_of, layout_csrf
from tests.integration.test_celery import celery_settings, worker  # noqa: F401 (fixtures)

TINY = {"epochs": 1, "samples": 200}
LONG = {"epochs": 50, "samples": 30_000}
# Cheap hashes: every Basic request checks one (the users' own cost is not under test here).
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "root": "root-pw"}
USERS = " ".join(
    f"{u}:{generate_password_hash(p, method='pbkdf2:sha256:1000')}" for u, p in PASSWORDS.items()
)


def as_user(name: str) -> requests.Session:
    """A script's session with a user's HTTP Basic credentials."""
    web = requests.Session()
    web.auth = (name, PASSWORDS[name])
    return web


def wait_status(web: requests.Session, url: str, statuses: tuple[str, ...]) -> dict[str, Any]:
    """Poll a job through the API until it has one of ``statuses`` (a hang detector)."""

    def reached() -> dict[str, Any] | None:
        doc = web.get(url).json()
        return doc if doc["status"] in statuses else None

    return wait_until(f"{url} reaches {statuses}", reached, timeout=150)


def refusal(resp: requests.Response, status: int, words: str = "") -> dict[str, Any]:
    """Check an error answer: its status, JSON ``{"error": ...}`` (never a page), its words."""
    assert resp.status_code == status, (resp.status_code, resp.text[:300])
    assert resp.headers["Content-Type"].startswith("application/json"), resp.text[:300]
    body = resp.json()
    assert isinstance(body["error"], str)
    assert words in body["error"], body
    return body


@pytest.fixture(scope="module")
def api_server(start_server) -> LiveServer:
    """gunicorn (2 workers) with three standalone users; root is an admin."""
    return start_server(DASHAPP_USERS=USERS, DASHAPP_ADMINS="root")


def test_ap001_a_script_starts_follows_and_manages_a_job(api_server: LiveServer) -> None:
    alice = as_user("alice")
    api = api_server.url("api/")
    trainers = alice.get(api + "trainers").json()
    shapes = next(t for t in trainers["trainers"] if t["name"] == "shapes-cnn")
    epochs = next(p for p in shapes["params"] if p["name"] == "epochs")
    assert (epochs["type"], epochs["minimum"]) == ("int", 1)
    assert trainers["unavailable"] == []
    assert alice.get(api + "openapi.json").json()["openapi"].startswith("3.")

    # Started with no page open: the server launches it at once.
    made = alice.post(
        api + "jobs",
        json={"trainer": "shapes-cnn", "params": TINY, "name": "first run", "tags": ["baseline"]},
    )
    assert made.status_code == 201, made.text
    job = made.json()
    assert made.headers["Location"] == job["url"] == f"/api/jobs/{job['id']}"
    assert (job["name"], job["tags"], job["user"]) == ("first run", ["baseline"], "alice")
    assert job["params"]["samples"] == 200
    done = wait_status(alice, api_server.base + job["url"], FINAL)
    assert done["status"] == SUCCEEDED, done
    assert done["progress"]["percent"] == 100
    assert len(done["metrics"]["val_accuracy"]) == 1  # one epoch
    assert done["final_metrics"]["val_loss"] == done["metrics"]["val_loss"][-1][1]
    assert done["started_at"] <= done["finished_at"]
    png = alice.get(api_server.base + done["artifacts"][0]["url"])
    assert (png.status_code, png.headers["Content-Type"]) == (200, "image/png")
    assert png.content.startswith(b"\x89PNG")
    # The whole log, a line at a time.
    lines, after = [], 0
    while True:
        page = alice.get(api_server.base + done["log_url"], params={"after": after, "limit": 1})
        lines += [x["line"] for x in page.json()["lines"]]
        after = page.json()["next_after"]
        if not page.json()["more"]:
            break
    assert lines[0] == "generating 200 images"
    assert len(lines) == page.json()["total"]

    listed = alice.get(api + "jobs", params={"status": "succeeded", "name": "FIRST"}).json()
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]
    assert listed["jobs"][0]["final_metrics"] == done["final_metrics"]
    assert alice.get(api + "jobs", params={"trainer": "tabular-mlp"}).json()["total"] == 0
    assert alice.get(api + "jobs", params={"user": "alice"}).json()["total"] >= 1

    edited = alice.patch(api + f"jobs/{job['id']}", json={"name": "kept", "tags": "a, b"})
    assert (edited.json()["name"], edited.json()["tags"]) == ("kept", ["a", "b"])
    refusal(alice.post(api + f"jobs/{job['id']}/cancel"), 409, "already ended")

    # A long job is cancelled through the API, and stops.
    long = alice.post(api + "jobs", json={"trainer": "shapes-cnn", "params": LONG}).json()
    refusal(alice.delete(api + f"jobs/{long['id']}"), 409, "cancel it first")
    stopping = alice.post(api + f"jobs/{long['id']}/cancel")
    assert stopping.status_code == 200
    assert stopping.json()["message"] in ("Stopping…", "This job has already ended.")
    assert wait_status(alice, api_server.base + long["url"], FINAL)["status"] == CANCELLED

    # Deleting an ended job removes it and its files.
    folder = api_server.log.parent / "artifacts" / job["id"]
    assert folder.is_dir()
    assert alice.delete(api + f"jobs/{job['id']}").json()["deleted"] == job["id"]
    refusal(alice.get(api + f"jobs/{job['id']}"), 404)
    assert not folder.exists()


def test_ap002_one_user_cannot_see_or_touch_another_users_job(api_server: LiveServer) -> None:
    alice, bob, root = as_user("alice"), as_user("bob"), as_user("root")
    api = api_server.url("api/")
    job = alice.post(api + "jobs", json={"trainer": "shapes-cnn", "params": TINY}).json()
    done = wait_status(alice, api_server.base + job["url"], FINAL)
    art = done["artifacts"][0]["url"]
    # Bob: not in his list, and every route on it answers as if it did not exist.
    assert job["id"] not in [j["id"] for j in bob.get(api + "jobs").json()["jobs"]]
    refusal(bob.get(api + "jobs", params={"user": "alice"}), 403, "only admins")
    for resp in (
        bob.get(api + f"jobs/{job['id']}"),
        bob.post(api + f"jobs/{job['id']}/cancel"),
        bob.get(api_server.base + art),
        bob.get(api + f"jobs/{job['id']}/log"),
        bob.patch(api + f"jobs/{job['id']}", json={"name": "mine now"}),
        bob.delete(api + f"jobs/{job['id']}"),
    ):
        refusal(resp, 404, "of yours")
    mine = alice.get(api + f"jobs/{job['id']}").json()
    assert (mine["status"], mine["name"]) == (done["status"], "")
    # An admin sees and may manage everyone's jobs.
    theirs = root.get(api + "jobs", params={"user": "alice"}).json()["jobs"]
    assert job["id"] in [j["id"] for j in theirs]
    assert root.get(api + f"jobs/{job['id']}").json()["user"] == "alice"
    assert root.patch(api + f"jobs/{job['id']}", json={"tags": ["audited"]}).status_code == 200


def test_ap003_every_error_is_json_with_its_status(api_server: LiveServer) -> None:
    alice = as_user("alice")
    api = api_server.url("api/")
    refusal(requests.get(api + "jobs"), 401, "Sign in")
    wrong = requests.get(api + "jobs", auth=("alice", "nope"))
    refusal(wrong, 401)
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    refusal(alice.post(api + "jobs", data="{", headers={"Content-Type": "application/json"}), 400)
    refusal(alice.post(api + "jobs", json=["shapes-cnn"]), 400, "JSON object")
    fields = refusal(alice.post(api + "jobs", json={"trainer": "x", "epochs": 1}), 400)["fields"]
    assert fields == {"epochs": "unknown field"}
    refusal(alice.post(api + "jobs", json={"trainer": "nope"}), 400, "unknown trainer")
    bad = alice.post(
        api + "jobs",
        json={
            "trainer": "shapes-cnn",
            "params": {"epochs": 0, "learning_rate": "fast"},
            "tags": ["a,b"],
        },
    )
    assert refusal(bad, 400)["fields"] == {
        "params.epochs": "must be at least 1",
        "params.learning_rate": "must be a number",
        "tags": "tag 'a,b' must be at most 40 letters, digits, spaces or . : / + = @ # - _",
    }
    fields = refusal(alice.get(api + "jobs", params={"status": "done", "limit": "x"}), 400)
    assert set(fields["fields"]) == {"status", "limit"}
    refusal(alice.get(api + "nothing/here"), 404, "openapi.json")
    refusal(alice.get(api + "jobs/" + "0" * 32), 404)
    refusal(alice.get(api + "jobs/not-an-id/log"), 404)
    gone = alice.put(api + "jobs")
    refusal(gone, 405, "PUT is not allowed")
    assert gone.headers["Allow"] == "GET, POST, HEAD, OPTIONS"
    refusal(alice.post(api + "trainers"), 405)
    refusal(alice.post(api + "jobs", data="x" * (2 * 1024 * 1024), headers=JSON), 413)
    refusal(alice.post(api + "jobs", data="trainer=shapes-cnn"), 415, "Content-Type")
    refusal(alice.post(api + "jobs", json={"trainer": "shapes-cnn"}, headers=CROSS_SITE), 403)
    job = alice.post(api + "jobs", json={"trainer": "shapes-cnn", "params": TINY}).json()
    ended = wait_status(alice, api_server.base + job["url"], FINAL)
    refusal(alice.post(api + f"jobs/{job['id']}/cancel"), 409)
    refusal(alice.get(api_server.base + ended["url"] + "/artifacts/999999"), 404, "no artifact")
    refusal(alice.get(api_server.base + ended["log_url"], params={"after": "-1"}), 400)


JSON = {"Content-Type": "application/json"}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}


def test_ap004_a_signed_in_browser_needs_its_csrf_token_to_change_anything(
    api_server: LiveServer,
) -> None:
    web = requests.Session()
    token = csrf_of(web.get(api_server.url("/login")).text)
    web.post(
        api_server.url("/login"),
        data={"user": "bob", "password": "bob-pw", "csrf": token, "next": "/"},
        allow_redirects=False,
    )
    api = api_server.url("api/")
    assert web.get(api + "jobs").status_code == 200  # reading needs the session only
    body = {"trainer": "shapes-cnn", "params": TINY}
    refusal(web.post(api + "jobs", json=body), 403, "X-CSRF-Token")
    refusal(web.post(api + "jobs", json=body, headers={"X-CSRF-Token": "forged"}), 403)
    session_token = layout_csrf(web.get(api_server.url("_dash-layout")).text)
    made = web.post(api + "jobs", json=body, headers={"X-CSRF-Token": session_token})
    assert made.status_code == 201, made.text
    assert made.json()["user"] == "bob"
    ok = web.post(api + f"jobs/{made.json()['id']}/cancel", headers={"X-CSRF-Token": session_token})
    assert ok.status_code in (200, 409)


@pytest.fixture
def portal_app(tmp_path: Path):
    """The app behind the portal: the user comes in a header from a trusted proxy (loopback)."""
    from dashapp.app import create_app

    app = create_app(
        Settings(
            data_dir=tmp_path / "data",
            demo_rows=SMALL_DEMO_ROWS,
            user_header="X-Forwarded-User",
            trusted_proxies=("127.0.0.1",),
        )
    )
    yield app
    deps_of(app).dispose()


def test_ap005_the_portals_user_header_counts_from_the_trusted_proxy(portal_app) -> None:
    client = portal_app.server.test_client()
    refused = client.get("/api/jobs")
    assert refused.status_code == 403
    assert "X-Forwarded-User is missing" in refused.get_json()["error"]
    made = client.post(
        "/api/jobs",
        json={"trainer": "shapes-cnn", "params": {"epochs": 0}},
        headers={"X-Forwarded-User": "erin"},
    )
    assert made.status_code == 400
    assert made.get_json()["fields"] == {"params.epochs": "must be at least 1"}
    listed = client.get("/api/jobs", headers={"X-Forwarded-User": "erin"}).get_json()
    assert listed == {"jobs": [], "total": 0, "offset": 0, "limit": 50, "next": None}
    made = client.post(
        "/api/jobs",
        json={"trainer": "shapes-cnn", "params": LONG},
        headers={"X-Forwarded-User": "erin"},
    )
    assert made.status_code == 201
    cancelled = client.post(
        made.get_json()["cancel_url"], headers={"X-Forwarded-User": "erin"}
    ).get_json()
    assert cancelled["message"] in ("Stopping…", "This job has already ended.")


def test_ap006_a_state_database_that_refuses_connections_is_a_503(tmp_path: Path, pg_url) -> None:
    from dashapp.app import create_app

    app = create_app(
        Settings(
            data_dir=tmp_path / "data",
            demo_rows=SMALL_DEMO_ROWS,
            state_url=pg_url,
            secret_key=TEST_SECRET_KEY,
        )
    )
    client = app.server.test_client()
    assert client.get("/api/jobs").status_code == 200
    admin = make_engine(re.sub(r"/[^/]+$", "/postgres", pg_url), isolation_level="AUTOCOMMIT")
    name = pg_url.rsplit("/", 1)[1]
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": name},
            )
        for resp in (
            client.get("/api/jobs"),
            client.get("/api/jobs/" + "a" * 32),
            client.post("/api/jobs", json={"trainer": "shapes-cnn", "params": TINY}),
        ):
            assert resp.status_code == 503, resp.data[:300]
            assert "state database is not answering" in resp.get_json()["error"]
            assert resp.headers["Retry-After"] == "5"
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert client.get("/api/jobs").status_code == 200  # and it recovers by itself
    finally:
        deps_of(app).dispose()
        admin.dispose()


def test_ap007_an_api_job_runs_on_a_celery_worker(celery_settings, worker) -> None:  # noqa: F811
    from dashapp.app import create_app

    app = create_app(celery_settings)
    client = app.server.test_client()
    made = client.post("/api/jobs", json={"trainer": "shapes-cnn", "params": TINY, "name": "ce"})
    assert made.status_code == 201, made.data
    url = made.get_json()["url"]

    def ended() -> dict[str, Any] | None:
        doc = client.get(url).get_json()
        return doc if doc["status"] in FINAL else None

    done = wait_until("the job ends on the worker", ended, timeout=150)
    assert done["status"] == SUCCEEDED, done
    assert done["artifacts"]
    assert launcher_of(deps_of(app).job_store, done["id"]) == WORKER
    deps_of(app).dispose()


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Gunicorn]:
    """A gunicorn that can be killed and started again on the same port and data."""
    srv = Gunicorn(tmp_path / "data", free_port())
    yield srv
    srv.stop()
    store = state_store(srv.data_dir)
    for job in store.list_jobs():
        if not job.done:
            store.request_cancel(job.id)
    store.engine.dispose()


def test_ap008_an_api_job_outlives_its_server(restartable: Gunicorn) -> None:
    restartable.start()
    web = requests.Session()
    job = web.post(
        restartable.base + "/api/jobs", json={"trainer": "shapes-cnn", "params": LONG}
    ).json()
    url = restartable.base + job["url"]
    wait_until(
        "the job runs", lambda: (d := web.get(url).json())["status"] == RUNNING and d["progress"]
    )
    assert restartable.proc is not None
    workers = children(restartable.proc.pid)
    restartable.kill(signal.SIGKILL)
    wait_until("the workers exit", lambda: not any(Path(f"/proc/{p}").exists() for p in workers))
    store = state_store(restartable.data_dir)
    step = store.get(job["id"]).progress["step"]
    wait_until(
        "the job goes on with no server", lambda: store.get(job["id"]).progress["step"] > step
    )
    restartable.start()
    again = web.get(url).json()
    assert again["status"] == RUNNING
    assert web.post(url + "/cancel").json()["message"] == "Stopping…"
    wait_until("it stops", lambda: web.get(url).json()["status"] == CANCELLED)
    store.engine.dispose()


def test_ap009_the_openapi_document_describes_exactly_the_routes(app) -> None:
    client = app.server.test_client()
    doc = client.get("/api/openapi.json").get_json()
    served: dict[str, set[str]] = {}
    for rule in app.server.url_map.iter_rules():
        if rule.rule.startswith("/api/") and not rule.endpoint.startswith("dashapp_api_unknown"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            served[path] = {m.lower() for m in ROUTES[rule.rule[len("/api/") :]]}
    described = {
        path: {m for m in ops if m in ("get", "post", "patch", "delete", "put")}
        for path, ops in doc["paths"].items()
    }
    assert described == served
    # Every reference resolves, and each path parameter is declared.
    for found in re.findall(r'"\$ref": "#/([^"]+)"', client.get("/api/openapi.json").text):
        node: Any = doc
        for part in found.split("/"):
            node = node[part]
    for path, ops in doc["paths"].items():
        declared = {p["name"] for p in ops.get("parameters", [])}
        assert declared == set(re.findall(r"{(\w+)}", path)), path
        for method, op in ops.items():
            if method != "parameters":
                assert op["responses"], (path, method)
    try:
        from openapi_spec_validator import validate
    except ImportError:  # not a dependency: checked where it happens to be installed
        return
    validate(doc)


def test_ap010_under_a_url_prefix_every_link_carries_it(tmp_path: Path) -> None:
    from dashapp.app import create_app

    app = create_app(
        Settings(data_dir=tmp_path / "data", demo_rows=SMALL_DEMO_ROWS, url_prefix="/tools/x/")
    )
    client = app.server.test_client()
    try:
        assert client.get("/tools/x/api/trainers").status_code == 200
        doc = client.get("/tools/x/api/openapi.json").get_json()
        assert doc["servers"] == [{"url": "/tools/x"}]
        made = client.post("/tools/x/api/jobs", json={"trainer": "shapes-cnn", "params": LONG})
        assert made.status_code == 201
        job = made.get_json()
        assert job["url"] == made.headers["Location"] == f"/tools/x/api/jobs/{job['id']}"
        assert job["log_url"].startswith("/tools/x/api/")
        assert client.post(job["cancel_url"]).status_code == 200
        listed = client.get("/tools/x/api/jobs?limit=1").get_json()
        assert listed["total"] == 1
        unknown = client.get("/tools/x/api/nothing")
        assert unknown.status_code == 404
        assert "/tools/x/api/openapi.json" in unknown.get_json()["error"]
    finally:
        deps_of(app).dispose()
