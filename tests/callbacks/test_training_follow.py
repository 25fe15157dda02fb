"""Following jobs headlessly: metric panels and facts, the whole log, toasts, the queue."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import plotly
from dash import Patch, no_update

from callbacks import shell as shell_cb
from callbacks import training as cb
from callbacks import training_job as job_cb
from components import compare as compare_view
from components import job as job_parts
from components.ids import Shell, Training
from components.metrics import ema, family, metrics_figure
from dashapp.app import deps_of
from dashapp.db import make_engine
from jobs.follow import log_tail
from jobs.query import log_count
from jobs.reporter import FACT_STEP, Reporter, SilentReporter, split_facts
from jobs.service import compare
from jobs.store import FAILED, SUCCEEDED, JobStore, now
from tests.callbacks.helpers import post_callback


def as_json(component) -> str:
    """A component tree or figure as the JSON the browser gets."""
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def test_ct101_one_panel_per_family_and_facts_apart() -> None:
    metrics = {
        "train_loss": [(3, 0.5), (1, 0.9), (2, 0.7)],  # out of order: drawn by step
        "val_loss": [(3, 0.6)],
        "val_accuracy": [(3, 0.8)],
        "train_acc": [(3, 0.85)],
        "val_r2": [(3, 0.4)],
        "lr": [(1, 0.01), (3, 0.001)],
        "rows_trained": [(0, 20_000.0)],  # an older job's fact, kept as a metric at step 0
        "samples_seen": [(FACT_STEP, 1_200.0)],  # a fact declared with rep.fact
    }
    fig = metrics_figure({"": metrics})
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["loss", "accuracy", "lr", "val_r2"]  # losses, accuracies, others alone
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"train_loss", "val_loss", "val_accuracy", "train_acc", "val_r2", "lr"}
    assert by_name["train_loss"].yaxis == by_name["val_loss"].yaxis == "y"
    assert by_name["val_accuracy"].yaxis == by_name["train_acc"].yaxis == "y2"
    assert list(by_name["train_loss"].x) == [1, 2, 3]
    # One step axis for every panel: zooming one zooms them all.
    assert [fig.layout[f"xaxis{i}"].matches for i in ("", 2, 3)] == ["x4", "x4", "x4"]
    series, facts = split_facts(metrics)
    assert facts == {"rows_trained": 20_000.0, "samples_seen": 1_200.0}
    assert "rows_trained" not in series
    # A metric that is not a known fact stays a series even with one point.
    assert "val_r2" in series
    assert family("Val_Loss") == "loss"
    assert family("top1_acc") == "accuracy"


def test_ct102_log_scale_and_smoothing() -> None:
    metrics = {"loss": [(s, 1.0 / s) for s in range(1, 11)]}
    fig = metrics_figure({"": metrics}, log_y=True, smoothing=0.6)
    assert fig.layout.yaxis.type == "log"
    raw, smooth = fig.data
    assert raw.name == "loss (raw)"
    assert raw.opacity == 0.25
    assert raw.showlegend is False
    assert smooth.name == "loss"
    assert list(smooth.y) == ema([1.0 / s for s in range(1, 11)], 0.6)
    assert smooth.y[-1] > raw.y[-1]  # the average lags a falling loss
    # Debiased: a constant stays the constant from the first point; 0 changes nothing.
    assert all(abs(v - 2.0) < 1e-12 for v in ema([2.0] * 5, 0.9))
    assert ema([1.0, 3.0], 0) == [1.0, 3.0]
    assert math.isnan(ema([1.0, math.nan, 1.0], 0.5)[1])  # a NaN does not poison what follows
    assert ema([1.0, math.nan, 1.0], 0.5)[2] == 1.0
    # The select's text is the weight; anything else the browser might send is no smoothing.
    assert job_cb.smoothing_of("0.95") == 0.95
    for hostile in ("nan", "1", "-0.5", "1e400", "x" * 10_000, True, None, [0.5], {"v": 1}):
        assert job_cb.smoothing_of(hostile) == 0.0, hostile
    # Zoom is kept while a live job redraws, but not across a change of scale.
    assert metrics_figure({"": metrics}, ui_key="j").layout.uirevision != fig.layout.uirevision
    empty = metrics_figure({"": {"rows_trained": [(0, 5.0)]}})
    assert "Metrics appear here" in empty.layout.annotations[0].text


def test_ct103_the_job_body_shows_facts_as_figures(app) -> None:
    store = deps_of(app).job_store
    job_id = store.create("tabular-mlp", {}, "u")
    store.add_metrics(job_id, [(0, "rows_trained", 20_000.0), (1, "train_loss", 0.5)])
    body = as_json(cb.body(store, job_id, True, 0.5))
    assert "20,000" in body
    assert "rows trained" in body
    assert '"name": "rows_trained"' not in body
    assert '"type": "log"' in body
    # Hostile toggles are ignored, never an error.
    assert '"type": "log"' not in as_json(cb.body(store, job_id, "yes", "lots"))


def test_ct104_the_comparison_uses_the_same_panels_and_has_a_link(app, client) -> None:
    store = deps_of(app).job_store
    a = store.create("tabular-mlp", {"epochs": 2}, "u")
    b = store.create("tabular-mlp", {"epochs": 3}, "u")
    store.add_metrics(
        a, [(1, "train_loss", 0.9), (1, "val_accuracy", 0.6), (0, "rows_trained", 10.0)]
    )
    store.add_metrics(b, [(1, "train_loss", 0.7), (FACT_STEP, "rows_trained", 12.0)])
    rendered = as_json(compare_view.comparison(compare(store, [a, b]), log_y=True))
    assert f"{a[:8]} train_loss" in rendered
    assert f"{b[:8]} train_loss" in rendered
    assert '"text": "loss"' in rendered
    assert '"text": "accuracy"' in rendered
    assert "rows trained" in rendered
    assert '"10"' in rendered
    assert '"12"' in rendered
    assert f"{a[:8]} rows_trained" not in rendered
    # The shareable page: /training/compare?jobs=a,b, drawn by the page's callback.
    with app.server.test_request_context("/"):
        page = as_json(job_parts.layout("compare", jobs=f"{a},{b},../etc,{'x' * 99}"))
        assert compare_view.compare_href([a, b]) == f"/training/compare?jobs={a},{b}"
    assert f'"data": ["{a}", "{b}"]' in page  # what is not a job id is dropped
    status, resp = post_callback(
        client,
        "/",
        f"{Training.COMPARE_PAGE}.children",
        {
            f"{Training.COMPARE_LOG}.value": True,
            f"{Training.COMPARE_SMOOTH}.value": 0.5,
            f"{Training.COMPARE_JOBS}.data": [a, b],
        },
    )
    assert status == 200
    text = json.dumps(resp["response"])
    assert f"{b[:8]} train_loss (raw)" in text
    assert '"type": "log"' in text
    status, resp = post_callback(
        client,
        "/",
        f"{Training.COMPARE_PAGE}.children",
        {f"{Training.COMPARE_LOG}.value": "x", f"{Training.COMPARE_JOBS}.data": "junk"},
    )
    assert status == 200
    assert "Pick two or more jobs" in json.dumps(resp["response"])


def test_ct105_the_log_pages_back_and_follows(app) -> None:
    store = deps_of(app).job_store
    job_id = store.create("shapes-cnn", {}, "u")
    for i in range(1, 1_301):
        store.add_log(job_id, f"line {i}")
    with app.server.test_request_context("/"):
        children, state, disabled, info, href = job_cb.log_update(store, job_id, None, False)
    assert children == ["".join(f"line {i}\n" for i in range(1_101, 1_301))]
    assert (state["shown"], disabled, info) == (200, False, "The last 200 of 1,300 lines.")
    assert href == f"/jobs/{job_id}/log.txt"
    # Earlier lines go on top, a page at a time.
    children, state, disabled, info, href = job_cb.log_update(store, job_id, state, True)
    assert isinstance(children, Patch)
    assert href is no_update
    ops = children.to_plotly_json()["operations"]
    assert ops[0]["operation"] == "Prepend"
    assert ops[0]["params"]["value"].startswith("line 101\n")
    assert (disabled, info) == (False, "The last 1,200 of 1,300 lines.")
    children, state, disabled, info, _ = job_cb.log_update(store, job_id, state, True)
    assert children.to_plotly_json()["operations"][0]["params"]["value"].startswith("line 1\n")
    assert (disabled, info) == (True, "All 1,300 lines.")
    # New lines go at the bottom; nothing new, nothing sent.
    store.add_log(job_id, "line 1301")
    children, state, _, info, _ = job_cb.log_update(store, job_id, state, False)
    assert children.to_plotly_json()["operations"][0]["params"]["value"] == "line 1301\n"
    assert info == "All 1,301 lines."
    assert job_cb.log_update(store, job_id, state, False)[0] is no_update
    # A forged or stale state starts again from the newest lines.
    for bad in ({"job": job_id, "first": "1", "last": 0, "shown": 0}, {"job": "other"}, "x"):
        with app.server.test_request_context("/"):
            children, fresh, *_ = job_cb.log_update(store, job_id, bad, True)
        assert isinstance(children, list)
        assert fresh["shown"] == 200
    assert job_cb.log_update(store, None, None, False)[:4] == ([], None, True, "")
    assert log_count(store, job_id) == 1_301
    assert [x.line for x in log_tail(store, job_id, 2)] == ["line 1300", "line 1301"]


def test_ct106_a_log_growing_faster_than_shown_starts_again_from_the_newest(app) -> None:
    store = deps_of(app).job_store
    job_id = store.create("shapes-cnn", {}, "u")
    store.add_log(job_id, "first")
    with app.server.test_request_context("/"):
        _, state, *_ = job_cb.log_update(store, job_id, None, False)
        for i in range(job_cb.LOG_NEW_MAX + 5):
            store.add_log(job_id, f"n{i}")
        children, state, disabled, _info, _ = job_cb.log_update(store, job_id, state, False)
    assert isinstance(children, list)  # drawn again, not a gap in the middle
    assert children[0].endswith(f"n{job_cb.LOG_NEW_MAX + 4}\n")
    assert state["shown"] == job_cb.LOG_TAIL
    assert not disabled


def test_ct107_log_download(app, client) -> None:
    store = deps_of(app).job_store
    job_id = store.create("shapes-cnn", {}, "u")
    lines = [f"line {i} ünïcode" for i in range(12_000)]  # past one batch of the reader
    with store.engine.begin() as conn:
        from jobs.schema import job_logs

        conn.execute(job_logs.insert(), [{"job_id": job_id, "at": now(), "line": t} for t in lines])
    resp = client.get(f"/jobs/{job_id}/log.txt")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert f"job-{job_id[:8]}-log.txt" in resp.headers["Content-Disposition"]
    body = resp.get_data(as_text=True).splitlines()
    assert [b.split("Z ", 1)[1] for b in body] == lines
    assert client.get("/jobs/nope/log.txt").status_code == 404
    empty = store.create("shapes-cnn", {}, "u")
    assert client.get(f"/jobs/{empty}/log.txt").get_data() == b""


def test_ct108_toasts_for_your_jobs_that_ended_since_the_page_opened(app, tmp_path: Path) -> None:
    store = deps_of(app).job_store
    early = store.create("shapes-cnn", {}, "alice")
    store.finish(early, SUCCEEDED)
    since = (now() + timedelta(microseconds=1)).isoformat()
    assert shell_cb.ended_toasts(store, "alice", since, []) == (no_update,) * 3
    mine = store.create("shapes-cnn", {}, "alice")
    theirs = store.create("shapes-cnn", {}, "bob")
    running = store.create("shapes-cnn", {}, "alice")
    store.finish(mine, FAILED, error="boom")
    store.finish(theirs, SUCCEEDED)
    store.update(running, status="running")
    toasts, since2, seen = shell_cb.ended_toasts(store, "alice", since, [])
    text = as_json(toasts)
    assert f"Job {mine[:8]} failed" in text
    assert f"/training/{mine}" in text
    assert theirs[:8] not in text
    assert early[:8] not in text
    assert running[:8] not in text
    assert seen == [mine]
    assert since2 > since
    # The same job is not told twice; the next one is.
    assert shell_cb.ended_toasts(store, "alice", since2, seen) == (no_update,) * 3
    store.request_cancel(running)
    store.finish(running, "cancelled")
    toasts, _, seen = shell_cb.ended_toasts(store, "alice", since2, seen)
    assert f"Job {running[:8]} cancelled" in as_json(toasts)
    assert mine[:8] not in as_json(toasts)
    # Hostile stores, and a state database that cannot be read: nothing, never an error.
    for bad_since, bad_seen in (("yesterday", []), (None, None), (42, "x")):
        assert shell_cb.ended_toasts(store, "alice", bad_since, bad_seen) == (no_update,) * 3
    assert shell_cb.ended_toasts(store, "alice", since, "x")[0] is not no_update
    gone = JobStore(make_engine(f"sqlite:///{tmp_path / 'missing' / 'state.sqlite'}"))
    assert shell_cb.ended_toasts(gone, "alice", since, []) == (no_update,) * 3


def test_ct109_the_toast_poll_through_dash(app, client) -> None:
    store = deps_of(app).job_store
    since = now().isoformat()
    job_id = store.create("shapes-cnn", {}, "anonymous")
    store.finish(job_id, SUCCEEDED)
    status, resp = post_callback(
        client,
        "/",
        f"{Shell.TOASTS}.children",
        {
            f"{Shell.JOBS_TICK}.n_intervals": 1,
            f"{Shell.JOBS_SINCE}.data": since,
            f"{Shell.JOBS_SEEN}.data": [],
        },
    )
    assert status == 200
    assert f"Job {job_id[:8]} succeeded" in json.dumps(resp["response"])
    with app.server.test_request_context("/"):
        from components import shell

        layout = as_json(shell.layout())
    assert Shell.JOBS_SINCE in layout
    assert Shell.TOASTS in layout


def test_ct110_a_queued_job_shows_its_place(app) -> None:
    store = deps_of(app).job_store
    first = store.create("shapes-cnn", {}, "u")
    second = store.create("shapes-cnn", {}, "u")
    third = store.create("shapes-cnn", {}, "u")
    header, sig, _ = cb.poll(store, third, None, None)
    assert "3rd in the queue (2 jobs ahead)" in as_json(header.to_plotly_json())
    header, _, _ = cb.poll(store, first, None, None)
    assert "next in the queue" in as_json(header.to_plotly_json())
    store.request_cancel(first)
    header, sig2, _ = cb.poll(store, third, sig, None)
    assert sig2 != sig  # the place changed, so the header is drawn again
    assert "2nd in the queue (1 job ahead)" in as_json(header.to_plotly_json())
    assert second
    assert [job_parts.queue_note(n) for n in (11, 12, 21, 22, 103)] == [
        "11th in the queue (10 jobs ahead)",
        "12th in the queue (11 jobs ahead)",
        "21st in the queue (20 jobs ahead)",
        "22nd in the queue (21 jobs ahead)",
        "103rd in the queue (102 jobs ahead)",
    ]


def test_ct111_trainers_declare_facts(app, tmp_path: Path) -> None:
    store = deps_of(app).job_store
    job_id = store.create("tabular-mlp", {}, "u")
    rep = Reporter(store, job_id, tmp_path / "a")
    rep.fact("rows_trained", 1_500)
    rep.metric("train_loss", 0.5, 1)
    rep.flush()
    series, facts = split_facts(store.metrics(job_id))
    assert facts == {"rows_trained": 1_500.0}
    assert series == {"train_loss": [(1, 0.5)]}
    SilentReporter().fact("rows_trained", 1.0)  # the benchmark's baseline takes it too
