"""A job launched through the real Dash background callback (DiskcacheManager), headlessly."""

from __future__ import annotations

import json
import time

from components.ids import Training
from dashapp.app import deps_of
from jobs.store import QUEUED, RUNNING, SUCCEEDED


def test_bl001_background_callback_starts_the_job_which_runs_to_the_end(app, client) -> None:
    store = deps_of(app).job_store
    job_id = store.create("shapes-cnn", {"epochs": 1, "samples": 200}, user="u")
    out_id = json.dumps(Training.launch_done(job_id), sort_keys=True, separators=(",", ":"))
    pattern = json.dumps({"job": ["MATCH"], "type": "training-launch-done"}, separators=(",", ":"))
    body = {
        "output": f"{pattern}.data",
        "outputs": {"id": Training.launch_done(job_id), "property": "data"},
        "inputs": [
            {
                "id": Training.launch(job_id),
                "property": "data",
                "value": {"job": job_id, "nonce": "n1"},
            }
        ],
        "state": [],
        "changedPropIds": [],
    }
    first = client.post(
        "/_dash-update-component", data=json.dumps(body), content_type="application/json"
    )
    assert first.status_code == 200, first.data[:300]
    handle = first.get_json()
    assert {"cacheKey", "job"} <= set(handle)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        resp = client.post(
            f"/_dash-update-component?cacheKey={handle['cacheKey']}&job={handle['job']}",
            data=json.dumps(body),
            content_type="application/json",
        )
        if resp.status_code == 200 and resp.get_json().get("response"):
            break
        time.sleep(0.3)
    # The launcher answers once the job's process has started (it does not wait for the end:
    # callbacks.training), and the job runs to its end on its own.
    assert resp.get_json()["response"][out_id]["data"] in (QUEUED, RUNNING, SUCCEEDED)
    while store.get(job_id).status != SUCCEEDED and time.monotonic() < deadline:
        time.sleep(0.3)
    assert store.get(job_id).status == SUCCEEDED
    assert store.artifacts(job_id)
