"""The runs table's callbacks headlessly: blocks, hostile requests, renames and deletes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from callbacks import training_runs as cb
from components import runs as view
from components.ids import Training
from dashapp.app import deps_of
from dashapp.identity import Identity
from jobs.query import get_run
from jobs.schema import jobs
from jobs.store import RUNNING, SUCCEEDED, JobStore
from tests.callbacks.helpers import post_callback

ALICE, BOB, ROOT = Identity("alice"), Identity("bob"), Identity("root", True)


def finished(store: JobStore, user: str, name: str = "", **metrics: float) -> str:
    """A finished tabular job with final metrics."""
    job_id = store.create("tabular-mlp", {}, user, name=name)
    store.add_metrics(job_id, [(5, k, v) for k, v in metrics.items()])
    store.finish(job_id, SUCCEEDED)
    return job_id


def test_ct201_hostile_block_requests_are_bounded(app) -> None:
    for request in (None, "x", {"startRow": -5, "endRow": 10**9}, {"startRow": "0"}):
        query, note = cb.query_of(request, {})
        assert (query.offset, query.limit, note) == (0, view.BLOCK_SIZE, "")
    query, note = cb.query_of(
        {"startRow": 100, "endRow": 150, "sortModel": [{"colId": "params", "sort": "asc"}]}, {}
    )
    assert (query.offset, query.limit, query.sort, query.descending) == (
        100,
        50,
        "created_at",
        True,
    )
    assert "cannot be sorted by that column" in note
    query, _ = cb.query_of(
        {"sortModel": [{"colId": "metric:val_loss", "sort": "asc"}]},
        {
            "status": "failed",
            "trainer": "all",
            "user": ["x"],
            "quick": "  abc ",
            "range": {"since": "2026-01-02T15:00:00.000Z", "until": "soon"},
        },
    )
    assert query.sort == "metric:val_loss"
    assert not query.descending
    assert (query.status, query.trainer, query.user, query.text) == (("failed",), (), (), "abc")
    assert query.since is not None
    assert query.since.isoformat() == "2026-01-02T15:00:00+00:00"
    assert query.until is None


def test_ct202_blocks_page_over_every_job(app, client) -> None:
    store = deps_of(app).job_store
    ids = [finished(store, "alice", f"r{i:03d}", val_loss=i / 10) for i in range(120)]
    other = finished(store, "bob", "theirs", val_loss=9.0)
    start = datetime(2026, 1, 2, 3, 4, 5)
    with store.engine.begin() as conn:
        for i, job_id in enumerate([*ids, other]):
            at = start + timedelta(minutes=i)
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(created_at=at, started_at=at, finished_at=at + timedelta(seconds=65))
            )
    with app.server.test_request_context("/"):
        block, count, note, is_open = cb.rows(
            store, {"startRow": 100, "endRow": 150}, {"trainer": "tabular-mlp"}, ALICE
        )
    assert block["rowCount"] == 121
    assert count == "121 runs"
    assert (note, is_open) == (None, False)
    assert [r["name"] for r in block["rowData"]] == [f"r{i:03d}" for i in range(20, -1, -1)]
    row = block["rowData"][-1]
    assert row["created_at"] == "2026-01-02T03:04:05Z"  # UTC, said so: the browser localises
    assert row["duration"] == 65.0
    assert row["metric:val_loss"] == 0.0
    assert row["mine"] is True
    assert row["href"] == f"/training/{ids[0]}"
    with app.server.test_request_context("/"):
        first, *_ = cb.rows(store, {"startRow": 0, "endRow": 50}, {}, ALICE)
        as_root, *_ = cb.rows(store, {"startRow": 0, "endRow": 1}, {}, ROOT)
    assert first["rowData"][0]["name"] == "theirs"
    assert first["rowData"][0]["mine"] is False  # bob's: not editable by alice
    assert as_root["rowData"][0]["mine"] is True  # an admin may
    assert "metric:val_loss" not in first["rowData"][1]  # no trainer chosen: no metric columns
    waiting = store.create("tabular-mlp", {}, "alice")  # the newest: the first row
    with app.server.test_request_context("/"):
        block, *_ = cb.rows(store, {"startRow": 0, "endRow": 2}, {}, ALICE)
    assert [(r["id"], r["place"]) for r in block["rowData"]] == [(waiting, 1), (other, None)]
    store.request_cancel(waiting)
    status, body = post_callback(
        client,
        "/",
        f"{Training.RUNS}.getRowsResponse",
        {
            f"{Training.RUNS}.getRowsRequest": {"startRow": 0, "endRow": 50},
            f"{Training.RUNS_QUICK}.value": "r11",
            f"{Training.RUNS_USER}.value": "alice",
        },
    )
    assert status == 200
    names = [r["name"] for r in body["response"][Training.RUNS]["getRowsResponse"]["rowData"]]
    assert names == [f"r{i}" for i in range(119, 109, -1)]


def test_ct203_a_column_per_final_metric_of_the_chosen_trainer(app) -> None:
    store = deps_of(app).job_store
    finished(store, "alice", val_loss=0.5, val_accuracy=0.9)
    shapes = store.create("shapes-cnn", {}, "alice")
    store.add_metrics(shapes, [(1, "train_loss", 0.3)])
    fields = [c["field"] for c in cb.columns(store, "tabular-mlp")]
    assert fields[-2:] == ["metric:val_accuracy", "metric:val_loss"]
    assert "metric:train_loss" not in fields
    assert not [f for f in (c["field"] for c in cb.columns(store, "all")) if ":" in f]
    assert cb.columns(store, ["hostile"]) == cb.columns(store, None)


def test_ct204_rename_and_retag_by_the_owner_or_an_admin(app) -> None:
    store = deps_of(app).job_store
    job_id = finished(store, "alice", "old")

    def change(column: str, value) -> list[dict]:
        return [{"colId": column, "value": value, "data": {"id": job_id}}]

    assert cb.relabel_cells(store, change("name", "  new name "), ALICE) == ("Saved.", "success")
    assert get_run(store, job_id).name == "new name"
    said, kind = cb.relabel_cells(store, change("name", "bob's"), BOB)
    assert kind == "danger"
    assert "Only alice" in said
    assert get_run(store, job_id).name == "new name"
    assert cb.relabel_cells(store, change("tags", "a, b, a"), ROOT)[1] == "success"
    assert get_run(store, job_id).tags == ("a", "b")
    said, kind = cb.relabel_cells(store, change("tags", "x" * 41), ALICE)
    assert kind == "danger"
    assert "at most 40" in said
    assert cb.relabel_cells(store, change("name", None), ALICE)[1] == "success"  # cleared
    assert get_run(store, job_id).name == ""
    # Forged edits: other columns, other shapes, unknown jobs.
    for changes in ("x", [1], change("status", "succeeded"), [{"colId": "name", "data": {}}]):
        assert cb.relabel_cells(store, changes, ALICE) == ("Saved.", "success")
    said, kind = cb.relabel_cells(store, [{"colId": "name", "data": {"id": "nope"}}], ALICE)
    assert "No such job" in said


def test_ct205_delete_removes_the_owners_ended_runs_with_their_files(app, tmp_path: Path) -> None:
    store = deps_of(app).job_store
    mine = finished(store, "alice")
    theirs = finished(store, "bob")
    running = store.create("tabular-mlp", {}, "alice")
    store.update(running, status=RUNNING)
    folder = tmp_path / "artifacts" / mine
    folder.mkdir(parents=True)
    (folder / "model.pt").write_bytes(b"w")
    assert cb.delete_prompt([]) == (False, "")
    assert cb.delete_prompt([{"id": mine}, {"id": mine}])[1].startswith("Delete 1 run with its")
    selected = [{"id": mine}, {"id": theirs}, {"id": running}, "junk", {"id": 5}]
    said, kind = cb.delete_runs(store, selected, ALICE, tmp_path)
    assert kind == "warning"
    assert said.startswith("Deleted 1 run. Not deleted:")
    assert "Only bob" in said
    assert "cancel it first" in said
    assert store.get(mine) is None
    assert store.metrics(mine) == {}
    assert not folder.exists()
    assert store.get(theirs) is not None
    assert cb.delete_runs(store, [{"id": theirs}], ROOT, tmp_path) == ("Deleted 1 run.", "success")


def test_ct206_the_user_filter_lists_who_ran_jobs(app, client) -> None:
    store = deps_of(app).job_store
    for user in ("alice", "bob", "al_50%"):
        store.create("shapes-cnn", {}, user)
    assert [o["value"] for o in cb.user_options(store, None, None)] == ["al_50%", "alice", "bob"]
    assert [o["value"] for o in cb.user_options(store, "AL", None)] == ["al_50%", "alice"]
    assert [o["value"] for o in cb.user_options(store, "_5", "zed")] == ["zed", "al_50%"]
    status, body = post_callback(
        client, "/", f"{Training.RUNS_USER}.options", {f"{Training.RUNS_USER}.search_value": "b"}
    )
    assert status == 200
    assert json.dumps(body["response"]).count('"value"') == 1
