"""Trainer plugins from outside the repository: installed with pip, they train from the page
(the diskcache manager, and Chromium), from the API and on a Celery worker; broken ones are
listed as unavailable with the reason, logged once, and never stop the app.

The plugins (tests/plugins/) are installed by pip into a folder of their own that the test's
processes put on their path (PYTHONPATH), so the shared test environment is left unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from components.ids import Training
from dashapp.app import deps_of
from jobs import registry
from jobs.launches import launcher_of
from jobs.store import FINAL, PAGE, SERVER, SUCCEEDED, WORKER
from tests.callbacks.helpers import find_callback
from tests.conftest import ROOT, LiveServer
from tests.faults.servers import state_store, wait_until
from tests.integration.test_celery import celery_settings, launch_body, worker  # noqa: F401

PLUGINS = ROOT / "tests" / "plugins"
EXAMPLE = "example-counter"
FAST = {"steps": 5, "step_s": 0.05}
REASONS = {
    "broken-import": (
        "failed to load: ModuleNotFoundError: No module named 'dashapp_no_such_dependency'"
    ),
    "bad-schema": "parameter 'layers' has unknown type 'tensor'",
}


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example and the broken plugins, installed by pip into a folder of their own.

    Built from a copy (setuptools writes its build files beside the sources), offline and
    without build isolation: the test environment's setuptools builds them.
    """
    sources = tmp_path_factory.mktemp("plugin-sources")
    for plugin in PLUGINS.iterdir():
        shutil.copytree(plugin, sources / plugin.name)
    site = tmp_path_factory.mktemp("plugin-site")
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    argv += ["--no-build-isolation", "--no-index", "--target", str(site)]
    argv += [str(sources / p.name) for p in PLUGINS.iterdir()]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert (site / "dashapp_example_trainer-0.1.0.dist-info" / "entry_points.txt").exists()
    return site


@pytest.fixture
def with_plugins(plugin_site: Path, monkeypatch: pytest.MonkeyPatch):
    """This process, and every process it starts, sees the installed plugins."""
    monkeypatch.syspath_prepend(str(plugin_site))
    paths = [str(plugin_site), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    registry.load.cache_clear()  # the registry of this process is built again, with them
    yield plugin_site
    registry.load.cache_clear()


def test_pl001_broken_plugins_are_listed_with_the_reason_and_the_app_runs(
    with_plugins, settings, caplog
) -> None:
    from components.training import layout
    from dashapp.app import create_app

    found = registry.load()
    assert EXAMPLE in found.trainers
    assert {"shapes-cnn", "tabular-mlp"} <= set(found.trainers)  # next to the built-in ones
    assert {u.name: u.reason for u in found.unavailable} == REASONS
    assert {u.source for u in found.unavailable} == {
        "dashapp-broken-trainer: dashapp_broken_trainer.needs_missing:TRAINER",
        "dashapp-broken-trainer: dashapp_broken_trainer:BAD_SCHEMA",
    }
    # The Training page: the plugin's trainer can be picked; the broken ones are explained.
    page = json.dumps(layout().to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert "Example counter (plugin)" in page
    assert "Unavailable trainers" in page
    for name, reason in REASONS.items():
        assert name in page
        assert json.dumps(reason)[1:-1] in page
    # The app starts and serves with them; the registry is built (and logged) once.
    app = create_app(settings)
    client = app.server.test_client()
    listed = client.get("/api/trainers").get_json()
    assert EXAMPLE in [t["name"] for t in listed["trainers"]]
    assert {u["name"]: u["reason"] for u in listed["unavailable"]} == REASONS
    assert client.get("/training").status_code == 200
    deps_of(app).dispose()
    warned = [r for r in caplog.records if "is unavailable" in r.getMessage()]
    assert sorted(r.getMessage().split()[2] for r in warned) == ["bad-schema", "broken-import"]


@pytest.fixture(scope="module")
def plugin_server(start_server, plugin_site: Path) -> LiveServer:
    """gunicorn (2 workers) whose processes see the installed plugins."""
    return start_server(PYTHONPATH=str(plugin_site))


def start_from_page(server: LiveServer, trainer: str, params: dict[str, Any]) -> str:
    """What the Training page sends for Start, then for the launch (the background callback)."""
    web = requests.Session()
    dep = find_callback(web.get(server.url("_dash-dependencies")).json(), f"{Training.LAUNCHES}.")
    outputs = [
        {
            "id": json.loads(o.rsplit(".", 1)[0]) if o.startswith("{") else o.split(".")[0],
            "property": o.rsplit(".", 1)[1],
        }
        for o in dep["output"].strip(".").split("...")
    ]
    body = {
        "output": dep["output"],
        "outputs": outputs,
        "inputs": [{"id": Training.START, "property": "n_clicks", "value": 1}],
        "state": [
            {"id": Training.TRAINER, "property": "value", "value": trainer},
            [
                {"id": Training.param(n), "property": "id", "value": Training.param(n)}
                for n in params
            ],
            [{"id": Training.param(n), "property": "value", "value": v} for n, v in params.items()],
        ],
        "changedPropIds": [f"{Training.START}.n_clicks"],
    }
    answer = web.post(server.url("_dash-update-component"), json=body)
    assert answer.status_code == 200, answer.text[:500]
    job_id = answer.json()["response"][Training.CURRENT]["data"]
    assert isinstance(job_id, str), answer.text[:500]
    launched = web.post(server.url("_dash-update-component"), json=launch_body(job_id))
    assert launched.status_code == 200, launched.text[:500]
    return job_id


def finished(web: requests.Session, url: str) -> dict[str, Any]:
    """A job's API document once it has ended (a hang detector waits)."""
    return wait_until(
        f"{url} ends", lambda: (d := web.get(url).json())["status"] in FINAL and d, timeout=120
    )


def check_example_run(doc: dict[str, Any]) -> None:
    """What the example trainer leaves: progress to the end, its metric, its image."""
    assert doc["status"] == SUCCEEDED, doc
    assert doc["trainer"] == EXAMPLE
    assert doc["progress"]["percent"] == 100
    assert doc["metrics"]["loss"] == [[s, 1 / s] for s in range(1, FAST["steps"] + 1)]
    assert doc["final_metrics"] == {"loss": 1 / FAST["steps"]}
    assert [a["name"] for a in doc["artifacts"]] == ["loss curve"]


def test_pl002_a_plugin_trains_from_the_page_and_from_the_api(plugin_server: LiveServer) -> None:
    # Logged once for the whole server (its master loads the plugins before the workers fork).
    text = plugin_server.log.read_text()
    for name in REASONS:
        assert text.count(f"trainer plugin {name} ") == 1, text[-3000:]
    web = requests.Session()
    listed = web.get(plugin_server.url("api/trainers")).json()
    example = next(t for t in listed["trainers"] if t["name"] == EXAMPLE)
    assert [p["name"] for p in example["params"]] == ["steps", "step_s"]
    assert {u["name"]: u["reason"] for u in listed["unavailable"]} == REASONS
    store = state_store(plugin_server.log.parent)

    # From the page: Start, then the launch through Dash's diskcache background callback.
    job_id = start_from_page(plugin_server, EXAMPLE, FAST)
    doc = finished(web, plugin_server.url(f"api/jobs/{job_id}"))
    check_example_run(doc)
    png = web.get(plugin_server.base + doc["artifacts"][0]["url"])
    assert png.content.startswith(b"\x89PNG")
    assert launcher_of(store, job_id) == PAGE

    # From a script: no page at all.
    made = web.post(plugin_server.url("api/jobs"), json={"trainer": EXAMPLE, "params": FAST})
    assert made.status_code == 201, made.text
    check_example_run(finished(web, plugin_server.base + made.json()["url"]))
    assert launcher_of(store, made.json()["id"]) == SERVER
    # A broken plugin's name is simply not a trainer.
    refused = web.post(plugin_server.url("api/jobs"), json={"trainer": "bad-schema"})
    assert refused.status_code == 400
    store.engine.dispose()


def test_pl003_a_plugin_trains_on_a_celery_worker(with_plugins, celery_settings, worker) -> None:  # noqa: F811
    from dashapp.app import create_app

    app = create_app(celery_settings)
    client = app.server.test_client()
    store = deps_of(app).job_store
    # The page's way: the launch store appears and CeleryManager runs the callback.
    job_id = store.create(EXAMPLE, FAST, user="anonymous")  # who the open app serves
    first = client.post("/_dash-update-component", json=launch_body(job_id))
    assert first.status_code == 200, first.data[:300]
    # The script's way: the API hands the job to a Celery task.
    made = client.post("/api/jobs", json={"trainer": EXAMPLE, "params": FAST})
    assert made.status_code == 201, made.data[:300]
    for each in (job_id, made.get_json()["id"]):
        deadline = time.monotonic() + 120
        while (doc := client.get(f"/api/jobs/{each}").get_json())["status"] not in FINAL:
            assert time.monotonic() < deadline, doc
            time.sleep(0.3)
        check_example_run(doc)
        assert launcher_of(store, each) == WORKER
    deps_of(app).dispose()


@pytest.mark.browser
def test_pl004_a_person_picks_the_plugin_on_the_training_page(
    page, plugin_server: LiveServer
) -> None:
    page.goto(plugin_server.url("/training"))
    note = page.locator(".training-unavailable")
    note.locator("summary").click()
    for name, reason in REASONS.items():
        assert name in note.inner_text()
        assert reason in note.inner_text()
    page.click(f"#{Training.TRAINER}")
    page.get_by_role("option", name="Example counter (plugin)").click()
    steps = page.locator(
        f"[id='{json.dumps(Training.param('steps'), sort_keys=True, separators=(',', ':'))}']"
    )
    steps.fill("5")
    page.click(f"#{Training.START}")
    page.wait_for_function(
        "id => document.querySelector(`#${id} .badge`)?.textContent === 'succeeded'",
        arg=Training.PANEL,
        timeout=60_000,
    )
    page.wait_for_selector(f"#{Training.PANEL} .gallery img")
    assert page.watch.problems() == []
