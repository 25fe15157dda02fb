"""The tabular trainer: checked against the browsed database before queueing, then trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashapp.data.catalog import Catalog
from dashapp.data.demo_data import DemoSizes, ensure_sqlite
from dashapp.db import make_engine
from dashapp.migrations import upgrade
from jobs.runner import start_process
from jobs.service import launch
from jobs.store import FAILED, SUCCEEDED, JobStore

LOGINS = {"plan": {"filterType": "text", "type": "equals", "filter": "pro"}}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    ensure_sqlite(path, DemoSizes(events=2_000, customer_churn=1_500))
    return f"sqlite:///{path}"


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    upgrade(engine)
    return JobStore(engine)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"table": "main.nope"}, "table", "no table"),
        ({"target": "nope"}, "target", "choose a target column: customer_id, region"),
        ({"features": "tenure_months, bogus"}, "features", "no such column: bogus"),
        ({"features": "signup_date"}, "features", "cannot use dates"),
        (
            {"filter": '{"nope": {"filterType": "text", "type": "equals", "filter": "x"}}'},
            "filter",
            "no such column",
        ),
        ({"filter": "not json"}, "filter", "not a grid filter"),
    ],
)
def test_tb001_checked_before_anything_is_queued(
    demo: str, store: JobStore, params, field, message
) -> None:
    catalog = Catalog(make_engine(demo, read_only=True))
    result = launch(store, "tabular-mlp", params, "u", catalog)
    assert result.job_id is None
    assert message in result.errors[field]
    assert store.list_jobs() == []


@pytest.mark.parametrize(
    ("params", "metric", "artifact"),
    [
        (
            {"target": "churned", "filter": json.dumps(LOGINS)},
            "val_accuracy",
            "confusion matrix epoch 2",
        ),
        (
            {"target": "lifetime_value", "features": "tenure_months, monthly_fee, plan"},
            "val_r2",
            "predicted vs actual epoch 2",
        ),
    ],
)
def test_tb002_trains_on_the_view_in_a_job_process(
    demo: str, store: JobStore, tmp_path: Path, params, metric, artifact
) -> None:
    catalog = Catalog(make_engine(demo, read_only=True))
    result = launch(store, "tabular-mlp", {**params, "epochs": 2}, "u", catalog)
    assert result.errors == {}
    proc = start_process(
        store.engine.url.render_as_string(hide_password=False), tmp_path, result.job_id, demo
    )
    assert proc.wait(180) == 0, (tmp_path / "artifacts" / result.job_id / "process.log").read_text()
    job = store.get(result.job_id)
    assert job.status == SUCCEEDED
    metrics = store.metrics(job.id)
    assert len(metrics[metric]) == 2
    rows = metrics["rows_trained"][0][1]
    if "filter" in params:
        # Exactly the rows of the grid view: plan = pro.
        import sqlite3

        con = sqlite3.connect(demo.removeprefix("sqlite:///"))
        assert (
            rows
            == con.execute("SELECT count(*) FROM customer_churn WHERE plan = 'pro'").fetchone()[0]
        )
    else:
        assert rows == 1_500
    assert [a["name"] for a in store.artifacts(job.id)][-1] == artifact
    assert job.params["filter"] == params.get("filter", "{}")


def test_tb003_database_gone_at_run_time_fails_clearly(
    store: JobStore, tmp_path: Path, demo: str
) -> None:
    catalog = Catalog(make_engine(demo, read_only=True))
    result = launch(store, "tabular-mlp", {"epochs": 1}, "u", catalog)
    missing = f"sqlite:///{tmp_path / 'gone.sqlite'}"
    proc = start_process(
        store.engine.url.render_as_string(hide_password=False), tmp_path, result.job_id, missing
    )
    assert proc.wait(120) == 1
    job = store.get(result.job_id)
    assert job.status == FAILED
    assert "main.customer_churn" in job.error
