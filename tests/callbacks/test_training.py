"""Training callbacks headlessly: launch with validation, live panel, cancel, list filters."""

from __future__ import annotations

import json

import plotly

from callbacks import training as cb
from components.ids import Training
from dashapp.app import deps_of
from jobs.store import CANCELLED, QUEUED
from tests.callbacks.helpers import post_callback

IDS = [
    Training.param(n)
    for n in ("epochs", "samples", "batch_size", "learning_rate", "seed", "threads", "device")
]


def test_ct001_invalid_form_names_each_field_and_queues_nothing(app) -> None:
    store = deps_of(app).job_store
    out = cb.start(store, "shapes-cnn", IDS, [0, 2000, 64, "fast", 0, 1, "gpu!"], user="u")
    assert out["job_id"] is None
    assert out["field_errors"] == [
        "must be at least 1",
        "",
        "",
        "must be a number",
        "",
        "",
        "must be one of auto, cpu",
    ]
    assert store.list_jobs() == []
    out = cb.start(store, "no-such-trainer", IDS, [1] * 7, user="u")
    assert out["general"] == "there is no trainer 'no-such-trainer'"


def start_body(client) -> dict:
    """The request the Start button sends (2 epochs, 300 samples)."""
    deps = client.get("/_dash-dependencies").get_json()
    dep = next(d for d in deps if "training-launches.children" in d["output"])
    body = {
        "output": dep["output"],
        "outputs": [
            {
                "id": o.split(".")[0] if not o.startswith("{") else json.loads(o.rsplit(".", 1)[0]),
                "property": o.rsplit(".", 1)[1],
            }
            for o in dep["output"].strip(".").split("...")
        ],
        "inputs": [{"id": Training.START, "property": "n_clicks", "value": 1}],
        "state": [
            {"id": Training.TRAINER, "property": "value", "value": "shapes-cnn"},
            [{"id": i, "property": "id", "value": i} for i in IDS[:2]],
            [
                {"id": i, "property": "value", "value": v}
                for i, v in zip(IDS[:2], [2, 300], strict=True)
            ],
        ],
        "changedPropIds": [f"{Training.START}.n_clicks"],
    }
    return body


def test_ct002_start_through_dash_queues_a_job_and_adds_its_launcher(client, app) -> None:
    body = start_body(client)
    resp = client.post(
        "/_dash-update-component", data=json.dumps(body), content_type="application/json"
    )
    assert resp.status_code == 200, resp.data[:500]
    out = resp.get_json()["response"]
    job_id = out[Training.CURRENT]["data"]
    job = deps_of(app).job_store.get(job_id)
    assert job.status == QUEUED
    assert job.params["epochs"] == 2
    assert job.params["samples"] == 300
    assert job.params["batch_size"] == 64  # default for a field the form did not send
    patch = json.dumps(out[Training.LAUNCHES]["children"])
    assert job_id in patch
    assert "training-launch-done" in patch


def test_ct003_poll_redraws_only_what_changed(app) -> None:
    store = deps_of(app).job_store
    job_id = store.create("shapes-cnn", {"epochs": 1}, user="u")
    header, sig, rev = cb.poll(store, job_id, None, None)
    text = json.dumps(header.to_plotly_json(), default=str)
    assert "queued" in text
    assert "waiting for a free slot" in text
    assert cb.poll(store, job_id, sig, rev) == (cb.no_update, cb.no_update, cb.no_update)
    store.update(job_id, progress={"step": 1, "total": 4, "percent": 25.0})
    header, sig2, rev2 = cb.poll(store, job_id, sig, rev)
    assert sig2 != sig
    assert rev2 is cb.no_update  # progress alone does not redraw the chart and gallery
    store.add_metric(job_id, 1, "loss", 0.5)
    assert cb.poll(store, job_id, sig2, rev)[2] not in (cb.no_update, rev)
    body = json.dumps(cb.body(store, job_id), cls=plotly.utils.PlotlyJSONEncoder)
    assert '"loss"' in body
    assert store.request_cancel(job_id)
    assert store.get(job_id).status == CANCELLED
    header, _, _ = cb.poll(store, "f" * 32, None, None)
    assert "There is no job" in json.dumps(header.to_plotly_json())


def test_ct006_run_again_prefills_the_form(app) -> None:
    store = deps_of(app).job_store
    earlier = store.create("shapes-cnn", {"epochs": 7, "samples": 500}, user="u")
    fields, _ = cb.form_for(store, "shapes-cnn", {"job": earlier})
    text = json.dumps(fields, cls=plotly.utils.PlotlyJSONEncoder)
    assert '"value": 7' in text
    assert '"value": 500' in text
    fields, _ = cb.form_for(store, "shapes-cnn", {"job": "not-a-job"})
    assert '"value": 3' in json.dumps(fields, cls=plotly.utils.PlotlyJSONEncoder)


def test_ct004_jobs_list_filters(client, app) -> None:
    store = deps_of(app).job_store
    a = store.create("shapes-cnn", {}, user="u")
    b = store.create("shapes-cnn", {}, user="u")
    store.request_cancel(b)
    status, body = post_callback(
        client,
        "/",
        f"{Training.RUNS}.getRowsResponse",
        {
            f"{Training.RUNS}.getRowsRequest": {"startRow": 0, "endRow": 50},
            f"{Training.STATUS_FILTER}.value": CANCELLED,
            f"{Training.TRAINER_FILTER}.value": "all",
        },
    )
    assert status == 200
    text = json.dumps(body["response"])
    assert b[:8] in text
    assert a[:8] not in text


def test_ct005_artifact_and_download_routes_refuse_what_is_not_there(client) -> None:
    assert client.get("/jobs/nope/artifacts/1").status_code == 404
    assert client.get("/jobs/nope/artifacts.zip").status_code == 404
    assert client.get("/jobs/nope/model.pt").status_code == 404
    assert client.get("/jobs/..%2F..%2Fetc/model.pt").status_code == 404


def test_ct007_compare_highlights_differences_and_overlays_metrics(app) -> None:
    from components import compare as view
    from jobs.service import compare

    store = deps_of(app).job_store
    a = store.create("shapes-cnn", {"epochs": 2, "seed": 1}, user="u")
    b = store.create("shapes-cnn", {"epochs": 3, "seed": 1}, user="u")
    store.add_metric(a, 1, "loss", 0.9)
    store.add_metric(b, 1, "loss", 0.7)
    result = compare(store, [a, b])
    assert result.error is None
    assert ("epochs", [2, 3], True) in result.params
    assert ("seed", [1, 1], False) in result.params
    rendered = json.dumps(view.comparison(result), cls=plotly.utils.PlotlyJSONEncoder)
    assert "table-warning" in rendered
    assert f"{a[:8]} loss" in rendered
    assert f"{b[:8]} loss" in rendered
    assert compare(store, [a]).error == "Pick two or more jobs to compare."
    assert compare(store, "junk").error == "Pick two or more jobs to compare."


def test_ct090_only_the_owner_or_an_admin_cancels(app) -> None:
    from callbacks.training import cancel
    from dashapp.web.security import Identity

    store = deps_of(app).job_store
    job_id = store.create("shapes-cnn", {}, "alice")
    assert "Only alice" in cancel(store, job_id, Identity("bob", False, "header"))
    assert store.get(job_id).cancel_requested is False
    assert cancel(store, job_id, Identity("root", True, "header")) == "Stopping…"
    other = store.create("shapes-cnn", {}, "alice")
    assert cancel(store, other, Identity("alice", False, "basic")) == "Stopping…"
    assert cancel(store, "nope", Identity("alice")) == "No such job."


def test_ct091_jobs_are_stamped_with_the_signed_in_user(settings) -> None:
    import base64

    from werkzeug.security import generate_password_hash

    from dashapp.app import create_app

    users = (("carol", generate_password_hash("right-horse")),)
    app = create_app(settings.with_overrides(users=users))
    client = app.server.test_client()
    token = base64.b64encode(b"carol:right-horse").decode()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Basic {token}"
    resp = client.post("/_dash-update-component", json=start_body(client))
    assert resp.status_code == 200, resp.data[:300]
    job_id = resp.get_json()["response"][Training.CURRENT]["data"]
    assert deps_of(app).job_store.get(job_id).user == "carol"
    deps_of(app).dispose()


def test_ct092_the_form_is_redrawn_only_for_another_trainer() -> None:
    from callbacks.training import same_form
    from jobs import registry

    shapes = [{"type": "training-param", "name": p.name} for p in registry.get("shapes-cnn").params]
    assert same_form("shapes-cnn", shapes)
    assert not same_form("tabular-mlp", shapes)
    assert not same_form("shapes-cnn", shapes[:-1])
    assert not same_form("nope", shapes)
    assert not same_form(None, None)


def test_ct094_opening_the_page_never_redraws_the_form_being_typed_in(app) -> None:
    from dash import no_update

    from callbacks.training import form_update
    from components import training as view

    store = deps_of(app).job_store

    def page_state(**query: str) -> tuple[dict, list[dict]]:
        """The run-again store and the field ids of the page as the layout draws it."""
        with app.server.test_request_context("/training"):
            tree = json.loads(json.dumps(view.layout(**query), cls=plotly.utils.PlotlyJSONEncoder))
        found: dict = {"ids": []}

        def walk(node) -> None:
            if isinstance(node, dict):
                props = node.get("props", {})
                ident = props.get("id")
                if ident == Training.RUN_AGAIN:
                    found["prefill"] = props.get("data")
                if isinstance(ident, dict) and ident.get("type") == "training-param":
                    found["ids"].append(ident)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(tree)
        return found["prefill"], found["ids"]

    for query in ({}, {"table": "main.customer_churn", "trainer": "tabular-mlp"}):
        prefill, ids = page_state(**query)
        trainer = query.get("trainer", "shapes-cnn")
        fields, description = form_update(store, trainer, prefill, ids)
        assert fields is no_update, query  # the page load leaves the fields alone
        assert description
    prefill, ids = page_state()
    assert form_update(store, "tabular-mlp", prefill, ids)[0] is not no_update
    job = store.create("shapes-cnn", {"epochs": 7}, "t")
    prefill, ids = page_state(run_again=job)
    fields = form_update(store, "shapes-cnn", prefill, ids)[0]
    assert '"value": 7' in json.dumps(fields, cls=plotly.utils.PlotlyJSONEncoder)


def test_ct093_field_hints_show_whole_numbers_in_full() -> None:
    from components import training as view

    rendered = json.dumps(
        view.form("shapes-cnn"), cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False
    )
    assert "(0–2,147,483,647)" in rendered  # the seed's range, not 2.14748e+09
    assert "(100–50,000)" in rendered
    assert "e+0" not in rendered
