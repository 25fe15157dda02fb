"""The job store's query layer on SQLite and PostgreSQL: filters, search, sorts, pages, labels,
final metrics, queue places, the whole log, deleting a job and the retention sweep."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text, update

from dashapp import migrations
from dashapp.db import make_engine
from dashapp.migrations import upgrade
from jobs import service
from jobs.files import artifact_dir
from jobs.launcher import JobSweeper, Launcher, RunnerArgs
from jobs.manage import check_labels, delete_job, set_labels, sweep_expired
from jobs.query import (
    SORTS,
    JobQuery,
    final_metrics,
    get_run,
    log_count,
    log_lines,
    metric_names,
    parse_query,
    query_jobs,
    query_runs,
    queue_position,
    queue_positions,
)
from jobs.schema import job_artifacts, job_files, job_final_metrics, job_logs, job_metrics, jobs
from jobs.store import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, JobStore, now


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    upgrade(engine)
    yield JobStore(engine)
    engine.dispose()


T0 = datetime(2025, 3, 1, 12, 0, 0)


def add(store: JobStore, trainer: str, user: str, status: str, minute: int, **extra) -> str:
    """A job created ``minute`` minutes after T0, with a status and other columns set."""
    job_id = store.create(trainer, {}, user, name=extra.pop("name", ""), tags=extra.pop("tags", ()))
    values = {"status": status, "created_at": T0 + timedelta(minutes=minute), **extra}
    with store.engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
    return job_id


@pytest.fixture
def sample(store: JobStore) -> dict[str, str]:
    """Eight jobs of two trainers and three users, some named, tagged, finished, measured."""
    ids = {
        "a": add(
            store,
            "shapes-cnn",
            "alice",
            SUCCEEDED,
            0,
            name="Baseline CNN",
            tags=("baseline", "lr-0.1"),
            started_at=T0,
            finished_at=T0 + timedelta(minutes=5),
        ),
        "b": add(
            store,
            "shapes-cnn",
            "bob",
            FAILED,
            1,
            name="wider 50%_run",
            started_at=T0,
            finished_at=T0 + timedelta(minutes=1),
        ),
        "c": add(
            store,
            "tabular",
            "alice",
            CANCELLED,
            2,
            tags=("Baseline-2",),
            started_at=T0,
            finished_at=T0 + timedelta(minutes=9),
        ),
        "d": add(store, "tabular", "carol", RUNNING, 3, started_at=T0 + timedelta(minutes=3)),
        "e": add(store, "shapes-cnn", "carol", QUEUED, 4),
        "f": add(store, "shapes-cnn", "alice", QUEUED, 5, name="later"),
        "g": add(
            store,
            "tabular",
            "bob",
            SUCCEEDED,
            6,
            started_at=T0,
            finished_at=T0 + timedelta(minutes=2),
        ),
        "h": add(store, "shapes-cnn", "bob", QUEUED, 7),
    }
    store.add_metrics(ids["a"], [(1, "loss", 0.9), (1, "acc", 0.5), (2, "loss", 0.4)])
    store.add_metrics(ids["a"], [(3, "acc", 0.8)])
    store.add_metrics(ids["b"], [(1, "loss", 2.5), (1, "acc", 0.1)])
    store.add_metrics(ids["g"], [(1, "rows_trained", 20000.0), (1, "acc", 0.95)])
    return ids


def names(store: JobStore, sample: dict[str, str], **q) -> list[str]:
    """The sample's letters of the jobs a query returns, in order."""
    letter = {v: k for k, v in sample.items()}
    return [letter[j.id] for j in query_jobs(store, JobQuery(**q)).jobs]


def test_jq001_filters_and_search(store: JobStore, sample: dict[str, str]) -> None:
    assert names(store, sample) == list("hgfedcba")  # newest first
    assert query_jobs(store, JobQuery()).total == 8
    assert names(store, sample, status=(QUEUED, RUNNING)) == list("hfed")
    assert names(store, sample, status="queued") == list("hfe")  # one value, not its letters
    assert names(store, sample, trainer=("tabular",)) == list("gdc")
    assert names(store, sample, user=("alice", "carol")) == list("fedca")
    # Quick search: name, id or a tag contains the text, in any case.
    assert names(store, sample, text="baseline") == list("ca")
    assert names(store, sample, text="BASE") == list("ca")
    assert names(store, sample, text=sample["d"][:10]) == ["d"]
    # % and _ are plain characters, not wildcards.
    assert names(store, sample, text="50%_") == ["b"]
    assert names(store, sample, text="%") == ["b"]
    assert names(store, sample, name="cnn") == ["a"]
    # A tag matches whole (any case), never a part of one.
    assert names(store, sample, tag="baseline") == ["a"]
    assert names(store, sample, tag="BASELINE-2") == ["c"]
    assert names(store, sample, tag="base") == []
    assert names(store, sample, since=T0 + timedelta(minutes=3)) == list("hgfed")
    assert names(store, sample, until=T0 + timedelta(minutes=2)) == list("ba")
    page = query_jobs(store, JobQuery(status=(QUEUED,), user=("bob",)))
    assert (len(page.jobs), page.total) == (1, 1)
    assert query_jobs(store, JobQuery(limit=100)).total == 8
    assert query_jobs(store, JobQuery(offset=100)) == ([], 8)  # past the end: still counted
    assert query_jobs(store, JobQuery(offset=7, limit=5)).total == 8
    assert page.jobs[0].tags == ()
    first = query_jobs(store, JobQuery(text="Baseline CNN")).jobs[0]
    assert first.name == "Baseline CNN"
    assert first.tags == ("baseline", "lr-0.1")


def test_jq002_sorts_put_missing_values_last_and_page_exactly(
    store: JobStore, sample: dict[str, str]
) -> None:

    def by_id(letters: str, descending: bool) -> list[str]:
        """Jobs with no value for the sort key: last, in id order."""
        return sorted(letters, key=lambda x: sample[x], reverse=descending)

    assert names(store, sample, sort="duration") == list("cagb") + by_id("defh", True)
    assert names(store, sample, sort="duration", descending=False) == list("bgac") + by_id(
        "defh", False
    )
    assert names(store, sample, sort="metric:acc") == list("gab") + by_id("cdefh", True)
    assert names(store, sample, sort="metric:acc", descending=False) == list("bag") + by_id(
        "cdefh", False
    )
    assert names(store, sample, sort="finished_at", descending=False)[-4:] == sorted(
        "defh", key=lambda x: sample[x]
    )
    assert names(store, sample, sort="user", descending=False)[:3] == sorted(
        "acf", key=lambda x: sample[x]
    )
    with pytest.raises(ValueError, match="cannot sort by 'params'"):
        query_jobs(store, JobQuery(sort="params"))
    # Every sort, both ways: pages of 3 put together are the whole list, once each.
    for sort in (*SORTS, "metric:loss"):
        for descending in (True, False):
            whole = names(store, sample, sort=sort, descending=descending, limit=100)
            paged = []
            for offset in range(0, 9, 3):
                q = {"sort": sort, "descending": descending, "offset": offset, "limit": 3}
                paged += names(store, sample, **q)
                assert query_jobs(store, JobQuery(**q)).total == 8
            assert paged == whole
            assert sorted(whole) == sorted(sample)


def test_jq003_final_metrics_are_each_metrics_last_value(
    store: JobStore, sample: dict[str, str]
) -> None:
    finals = final_metrics(store, [sample["a"], sample["b"], sample["e"]])
    assert finals == {
        sample["a"]: {"loss": 0.4, "acc": 0.8},
        sample["b"]: {"loss": 2.5, "acc": 0.1},
        sample["e"]: {},
    }
    assert metric_names(store) == ["acc", "loss", "rows_trained"]
    assert metric_names(store, "shapes-cnn") == ["acc", "loss"]
    assert metric_names(store, "nothing") == []
    # Within one batch the last value written wins too.
    store.add_metrics(sample["e"], [(1, "loss", 3.0), (2, "loss", 2.0)])
    assert final_metrics(store, [sample["e"]])[sample["e"]] == {"loss": 2.0}


def test_jq011_a_page_of_runs_with_its_final_metrics_and_queue_places(
    store: JobStore, sample: dict[str, str]
) -> None:
    runs = query_runs(store, JobQuery(user=("alice",), sort="created_at", descending=False))
    assert [r.id for r in runs.jobs] == [sample["a"], sample["c"], sample["f"]]
    assert runs.total == 3
    assert runs.final_metrics == {
        sample["a"]: {"loss": 0.4, "acc": 0.8},
        sample["c"]: {},
        sample["f"]: {},
    }
    assert runs.queue_positions == {sample["f"]: 2}
    assert runs.jobs[0].name == "Baseline CNN"


def test_jq004_queued_jobs_know_their_place(store: JobStore, sample: dict[str, str]) -> None:
    assert queue_positions(store) == {sample["e"]: 1, sample["f"]: 2, sample["h"]: 3}
    assert queue_positions(store, [sample["h"], sample["a"]]) == {sample["h"]: 3}
    assert queue_position(store, sample["f"]) == 2
    assert queue_position(store, sample["a"]) is None
    assert queue_position(store, "nope") is None
    store.request_cancel(sample["e"])
    assert queue_position(store, sample["f"]) == 1
    assert queue_positions(store) == {sample["f"]: 1, sample["h"]: 2}


def test_jq005_the_whole_log_a_page_at_a_time(store: JobStore) -> None:
    job_id = store.create("shapes-cnn", {}, "alice")
    other = store.create("shapes-cnn", {}, "bob")
    for i in range(25):
        store.add_log(job_id, f"line {i}")
        store.add_log(other, f"other {i}")
    seen, after = [], 0
    while page := log_lines(store, job_id, after_id=after, limit=10):
        seen += [x.line for x in page]
        after = page[-1].id
    assert seen == [f"line {i}" for i in range(25)]
    assert log_count(store, job_id) == 25
    assert store.logs(job_id, last=3) == ["line 22", "line 23", "line 24"]  # unchanged
    assert log_lines(store, "nope") == []


def test_jq006_names_and_tags(store: JobStore) -> None:
    job_id = store.create("shapes-cnn", {}, "alice", name="first", tags=("a", "b"))
    assert (get_run(store, job_id).name, get_run(store, job_id).tags) == ("first", ("a", "b"))
    assert get_run(store, job_id).user == "alice"  # a Run is a Job, with its labels
    assert get_run(store, "nope") is None
    assert set_labels(store, job_id, name="second")
    assert (get_run(store, job_id).name, get_run(store, job_id).tags) == ("second", ("a", "b"))
    assert set_labels(store, job_id, tags=())
    assert get_run(store, job_id).tags == ()
    assert not set_labels(store, "nope", name="x")
    assert check_labels(" run 1 ", "x, y ,x").errors == {}
    assert check_labels(" run 1 ", "x, y ,x").tags == ("x", "y")
    assert check_labels(" run 1 ").name == "run 1"
    bad = check_labels("x" * 201, ["ok", "no,comma"]).errors
    assert bad == {
        "name": "must be at most 200 characters",
        "tags": "tag 'no,comma' must be at most 40 letters, digits, spaces or . : / + = @ # - _",
    }
    assert check_labels("a\nb", 5).errors == {
        "name": "must not contain control characters",
        "tags": "must be a list of texts",
    }
    assert check_labels(None, [f"t{i}" for i in range(21)]).errors == {"tags": "at most 20 tags"}
    # Through the rules: only who started it (or an admin) renames; bad labels are refused.
    assert service.relabel(store, job_id, user="bob", admin=False, name="x").code == "forbidden"
    assert service.relabel(store, job_id, user="bob", admin=True, name="by admin").code == "ok"
    refused = service.relabel(store, job_id, user="alice", admin=False, tags=["", "é" * 41])
    assert refused.code == "invalid"
    assert get_run(store, job_id).name == "by admin"


def test_jq007_deleting_a_job_removes_everything_it_made(store: JobStore, tmp_path: Path) -> None:
    keep = store.create("shapes-cnn", {}, "alice")
    job_id = store.create("shapes-cnn", {}, "alice")
    for j in (keep, job_id):
        store.add_metrics(j, [(1, "loss", 1.0)])
        store.add_log(j, "hello")
        folder = artifact_dir(tmp_path, j)
        folder.mkdir(parents=True)
        (folder / "0000001-x.png").write_bytes(b"png")
        store.add_artifact(j, "x", str(folder / "0000001-x.png"), 1, data=b"png")
        store.put_file(j, "model.pt", b"weights")
    # Not while it may still run: its process would write to a job that is gone.
    assert service.delete(store, job_id, user="alice", admin=False, data_dir=tmp_path).code == (
        "conflict"
    )
    store.finish(job_id, SUCCEEDED)
    assert service.delete(store, job_id, user="bob", admin=False, data_dir=tmp_path).code == (
        "forbidden"
    )
    assert service.delete(store, job_id, user="alice", admin=False, data_dir=tmp_path).code == "ok"
    assert store.get(job_id) is None
    with store.engine.connect() as conn:
        for table in (job_metrics, job_final_metrics, job_logs, job_artifacts, job_files):
            left = conn.execute(select(table.c.job_id).where(table.c.job_id == job_id)).all()
            assert left == [], table.name
            assert conn.execute(select(table.c.job_id).where(table.c.job_id == keep)).all()
    assert not artifact_dir(tmp_path, job_id).exists()
    assert artifact_dir(tmp_path, keep).exists()
    assert not delete_job(store, job_id, tmp_path)
    assert service.delete(store, job_id, user="alice", admin=True, data_dir=None).code == (
        "not found"
    )


def test_jq008_retention_deletes_only_jobs_ended_long_enough_ago(
    store: JobStore, tmp_path: Path
) -> None:
    old = store.create("shapes-cnn", {}, "a")
    recent = store.create("shapes-cnn", {}, "a")
    running = store.create("shapes-cnn", {}, "a")
    store.finish(old, SUCCEEDED)
    store.finish(recent, FAILED)
    store.update(running, status=RUNNING)
    with store.engine.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id.in_([old, running]))
            .values(finished_at=now() - timedelta(days=31), created_at=now() - timedelta(days=40))
        )
    artifact_dir(tmp_path, old).mkdir(parents=True)
    assert sweep_expired(store, 0, tmp_path) == []  # off
    assert sweep_expired(store, 30, tmp_path) == [old]
    assert store.get(old) is None
    assert not artifact_dir(tmp_path, old).exists()
    assert store.get(recent) is not None
    assert store.get(running) is not None
    # The job sweeper runs it (at once, then every retention_every_s) when it is set.
    again = store.create("shapes-cnn", {}, "a")
    store.finish(again, CANCELLED)
    with store.engine.begin() as conn:
        conn.execute(
            update(jobs).where(jobs.c.id == again).values(finished_at=now() - timedelta(days=2))
        )
    store.finish(running, CANCELLED)  # (a running job with no process would be failed)
    args = RunnerArgs(str(store.engine.url), tmp_path, "", 1)
    assert JobSweeper(lambda: store, Launcher(args)).sweep() == []  # retention off
    assert store.get(again) is not None
    assert JobSweeper(lambda: store, Launcher(args), retention_days=1).sweep() == [again]
    assert store.get(again) is None


def test_jq009_query_arguments_from_a_request(store: JobStore) -> None:
    q, errors = parse_query(
        {
            "status": ["queued,running", "failed"],
            "trainer": ["tabular"],
            "q": ["base"],
            "since": ["2025-03-01T13:00+01:00"],
            "sort": ["metric:loss"],
            "order": ["asc"],
            "offset": ["20"],
            "limit": ["10"],
        }
    )
    assert errors == {}
    assert q == JobQuery(
        status=("queued", "running", "failed"),
        trainer=("tabular",),
        text="base",
        since=datetime.fromisoformat("2025-03-01T13:00+01:00"),
        sort="metric:loss",
        descending=False,
        offset=20,
        limit=10,
    )
    assert query_jobs(store, q).total == 0  # an aware time is compared as UTC
    _, errors = parse_query(
        {
            "status": ["done"],
            "since": ["yesterday"],
            "sort": ["params"],
            "order": ["up"],
            "offset": ["-1"],
            "limit": ["100000"],
            "q": ["x" * 201],
        }
    )
    assert set(errors) == {"status", "since", "sort", "order", "offset", "limit", "q"}
    assert errors["limit"] == "a whole number from 1 to 1000"


def test_jq010_upgrading_keeps_the_final_metrics_of_earlier_jobs(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    cfg = migrations.config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005_saved_views")
        conn.execute(
            text(
                'INSERT INTO jobs (id, trainer, params, "user", status, created_at,'
                " cancel_requested, revision) VALUES ('j1', 'shapes-cnn', '{}', 'ann',"
                " 'succeeded', CURRENT_TIMESTAMP, FALSE, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO job_metrics (job_id, step, name, value) VALUES"
                " ('j1', 1, 'loss', 0.9), ('j1', 2, 'loss', 0.5), ('j1', 1, 'acc', 0.7)"
            )
        )
    assert upgrade(engine) == migrations.head()
    store = JobStore(engine)
    assert final_metrics(store, ["j1"]) == {"j1": {"loss": 0.5, "acc": 0.7}}
    assert (get_run(store, "j1").name, get_run(store, "j1").tags) == ("", ())
    engine.dispose()
