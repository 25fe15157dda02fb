"""The tabular trainer declares ``rows_trained`` as a fact (a figure), not as a series."""

from __future__ import annotations

from pathlib import Path

from dashapp.data.catalog import Catalog
from dashapp.data.demo_data import DemoSizes, ensure_sqlite
from dashapp.db import make_engine
from dashapp.migrations import upgrade
from jobs.reporter import FACT_STEP, split_facts
from jobs.runner import start_process
from jobs.service import launch
from jobs.store import SUCCEEDED, JobStore


def test_tf001_rows_trained_is_recorded_as_a_fact(tmp_path: Path) -> None:
    demo = tmp_path / "demo.sqlite"
    ensure_sqlite(demo, DemoSizes(events=2_000, customer_churn=1_500))
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    upgrade(engine)
    store = JobStore(engine)
    catalog = Catalog(make_engine(f"sqlite:///{demo}", read_only=True))
    result = launch(store, "tabular-mlp", {"epochs": 1}, "u", catalog)
    assert result.job_id is not None, result.errors
    proc = start_process(
        engine.url.render_as_string(hide_password=False),
        tmp_path,
        result.job_id,
        f"sqlite:///{demo}",
    )
    assert proc.wait(180) == 0
    assert store.get(result.job_id).status == SUCCEEDED
    metrics = store.metrics(result.job_id)
    assert metrics["rows_trained"] == [(FACT_STEP, 1_500.0)]
    series, facts = split_facts(metrics)
    assert facts == {"rows_trained": 1_500.0}
    assert "val_loss" in series
