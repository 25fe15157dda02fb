"""Reading jobs in bulk: filtered, searched, sorted and paged (the runs table and the jobs API).

Everything here reads; one page of any filter and sort over 10,000 jobs is a few indexed
queries. Writes that change a job's labels or remove it are in ``jobs.manage``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, and_, func, literal, or_, select

from jobs.schema import job_final_metrics, job_logs, jobs
from jobs.store import FINAL, JOB_COLUMNS, QUEUED, RUNNING, Job, JobStore, job_of_row

STATUSES = (QUEUED, RUNNING, *FINAL)
# Sort keys besides ``metric:<name>`` (a job's final value of that metric).
SORTS = ("created_at", "started_at", "finished_at", "status", "trainer", "user", "name", "duration")
METRIC_SORT = "metric:"
MAX_LIMIT = 1000
MAX_OFFSET = 2**31  # past any real count; keeps the SQL integer small
MAX_TEXT = 200
SEPARATOR = "\x1f"  # between a job's name, id and tags in the quick search


@dataclass(frozen=True)
class Run(Job):
    """A job with the labels people give it: a name (``""`` until given) and tags."""

    name: str = ""
    tags: tuple[str, ...] = ()


RUN_COLUMNS = [*JOB_COLUMNS, jobs.c.name, jobs.c.tags]


def get_run(store: JobStore, job_id: str) -> Run | None:
    """One job with its name and tags, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(select(*RUN_COLUMNS).where(jobs.c.id == job_id)).first()
    return job_of_row(row, Run) if row else None


@dataclass(frozen=True)
class JobQuery:
    """Which jobs, in what order, which page. Empty filters match everything.

    ``status``, ``trainer`` and ``user`` match any of their values; ``text`` is the quick
    search (a job's name, id or one of its tags contains it, any case); ``name`` only the
    name; ``tag`` one whole tag (any case); ``since``/``until`` bound ``created_at`` (UTC,
    ``until`` excluded); ``sort`` is one of ``SORTS`` or ``metric:<name>``. Jobs without a
    value for the sort key come last in either direction; ties are broken by id.
    """

    status: tuple[str, ...] = ()
    trainer: tuple[str, ...] = ()
    user: tuple[str, ...] = ()
    text: str = ""
    name: str = ""
    tag: str = ""
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "created_at"
    descending: bool = True
    offset: int = 0
    limit: int = 50

    def __post_init__(self) -> None:
        """A lone string for a multi-valued filter means that one value (not its letters)."""
        for f in ("status", "trainer", "user"):
            value = getattr(self, f)
            if isinstance(value, str):
                object.__setattr__(self, f, (value,) if value else ())


class JobPage(NamedTuple):
    """One page of jobs (with their labels) and how many match in all."""

    jobs: list[Run]
    total: int


@dataclass(frozen=True)
class LogLine:
    """One line of a job's log, with its id (a page's cursor)."""

    id: int
    at: datetime
    line: str


def _like(text: str) -> str:
    """A ``LIKE`` pattern matching ``text`` anywhere (its ``%``, ``_`` and ``\\`` literal)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(q: JobQuery) -> list[ColumnElement[bool]]:
    """The filter conditions of a query."""
    conds: list[ColumnElement[bool]] = []
    if q.status:
        conds.append(jobs.c.status.in_(q.status))
    if q.trainer:
        conds.append(jobs.c.trainer.in_(q.trainer))
    if q.user:
        conds.append(jobs.c.user.in_(q.user))
    if q.text:
        # One LIKE over the three joined (by a character no search contains) costs a third
        # of an ILIKE on each: 10,000 jobs are scanned twice per page (rows and total).
        joined = jobs.c.name + SEPARATOR + jobs.c.id + SEPARATOR + jobs.c.tags
        pattern = _like(q.text[:MAX_TEXT].replace(SEPARATOR, ""))
        conds.append(func.lower(joined).like(func.lower(pattern), escape="\\"))
    if q.name:
        conds.append(jobs.c.name.ilike(_like(q.name[:MAX_TEXT]), escape="\\"))
    if q.tag:
        conds.append(jobs.c.tags.ilike(_like(f",{q.tag[:MAX_TEXT]},"), escape="\\"))
    if q.since is not None:
        conds.append(jobs.c.created_at >= _naive_utc(q.since))
    if q.until is not None:
        conds.append(jobs.c.created_at < _naive_utc(q.until))
    return conds


def is_metric_sort(sort: str) -> bool:
    """Whether ``sort`` names a metric (``metric:<name>``, the name at most 80 characters)."""
    return sort.startswith(METRIC_SORT) and 0 < len(sort) - len(METRIC_SORT) <= 80


def _naive_utc(at: datetime) -> datetime:
    """A time as the store keeps it: UTC without tzinfo (a naive time is taken as UTC)."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _sort_key(dialect: str, sort: str) -> tuple[Any, bool]:
    """The expression to order by and whether it can be NULL; ValueError if unknown."""
    if is_metric_sort(sort):
        return job_final_metrics.c.value, True
    if sort == "duration":
        if dialect == "sqlite":
            span = func.julianday(jobs.c.finished_at) - func.julianday(jobs.c.started_at)
        else:
            span = jobs.c.finished_at - jobs.c.started_at
        return span, True
    if sort in SORTS:
        return jobs.c[sort], bool(jobs.c[sort].nullable)
    raise ValueError(
        f"cannot sort by {sort[:80]!r}: use one of {', '.join(SORTS)} or metric:<name>"
    )


def query_jobs(store: JobStore, q: JobQuery) -> JobPage:
    """One page of the jobs ``q`` selects, and their total; ValueError for an unknown sort."""
    with store.engine.connect() as conn:
        return _page(conn, store.engine.dialect.name, q)


@dataclass(frozen=True)
class RunsPage:
    """A page of jobs with what a table of runs shows beside them, read in one go."""

    jobs: list[Run]
    total: int
    final_metrics: dict[str, dict[str, float]]  # by job id (``final_metrics``)
    queue_positions: dict[str, int]  # the queued ones of the page (``queue_positions``)


def query_runs(store: JobStore, q: JobQuery) -> RunsPage:
    """``query_jobs`` plus the page's final metrics and queue places, on one connection."""
    with store.engine.connect() as conn:
        page = _page(conn, store.engine.dialect.name, q)
        ids = [r.id for r in page.jobs]
        finals = _finals(conn, ids)
        queued = [r.id for r in page.jobs if r.status == QUEUED]
        places = _places(conn, queued) if queued else {}
    return RunsPage(page.jobs, page.total, finals, places)


def _page(conn: Connection, dialect: str, q: JobQuery) -> JobPage:
    """One page and the total, read on ``conn``."""
    key, nullable = _sort_key(dialect, q.sort)
    conds = _where(q)
    source: Any = jobs
    if is_metric_sort(q.sort):
        fm = job_final_metrics
        on = and_(fm.c.job_id == jobs.c.id, fm.c.name == q.sort[len(METRIC_SORT) :])
        source = jobs.outerjoin(fm, on)
    first = key.desc() if q.descending else key.asc()
    tiebreak = jobs.c.id.desc() if q.descending else jobs.c.id.asc()
    offset, limit = min(max(q.offset, 0), MAX_OFFSET), min(max(q.limit, 1), MAX_LIMIT)
    stmt = (
        select(*RUN_COLUMNS)
        .select_from(source)
        .where(*conds)
        .order_by(first.nulls_last() if nullable else first, tiebreak)
        .offset(offset)
        .limit(limit)
    )
    found = [job_of_row(r, Run) for r in conn.execute(stmt)]
    if offset == 0 and len(found) < limit:  # the whole result is on this page
        return JobPage(found, len(found))
    count = select(func.count()).select_from(jobs).where(*conds)
    return JobPage(found, int(conn.execute(count).scalar_one()))


def final_metrics(store: JobStore, job_ids: Iterable[str]) -> dict[str, dict[str, float]]:
    """The last value of each metric of each job: ``{job id: {metric: value}}``."""
    ids = list(dict.fromkeys(job_ids))
    if not ids:
        return {}
    with store.engine.connect() as conn:
        return _finals(conn, ids)


def _finals(conn: Connection, ids: list[str]) -> dict[str, dict[str, float]]:
    """``final_metrics`` on ``conn``."""
    out: dict[str, dict[str, float]] = {j: {} for j in ids}
    if not ids:
        return out
    fm = job_final_metrics
    stmt = select(fm.c.job_id, fm.c.name, fm.c.value).where(fm.c.job_id.in_(ids))
    for job_id, name, value in conn.execute(stmt.order_by(fm.c.job_id, fm.c.name)):
        out[job_id][name] = value
    return out


def metric_names(store: JobStore, trainer: str | None = None) -> list[str]:
    """The metric names recorded by any job (of one trainer), sorted: the metric columns."""
    fm = job_final_metrics
    stmt = select(fm.c.name).distinct()
    if trainer is not None:
        stmt = stmt.join(jobs, jobs.c.id == fm.c.job_id).where(jobs.c.trainer == trainer)
    with store.engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(stmt))


def queue_positions(store: JobStore, job_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Each queued job's place in the queue (1: next to start), in the order jobs start.

    ``job_ids``: only these (those not queued are left out); None: every queued job.
    """
    with store.engine.connect() as conn:
        return _places(conn, job_ids)


def _places(conn: Connection, job_ids: Sequence[str] | None) -> dict[str, int]:
    """``queue_positions`` on ``conn``."""
    stmt = (
        select(jobs.c.id)
        .where(jobs.c.status == QUEUED)
        .order_by(jobs.c.created_at, jobs.c.id)  # the order ``JobStore.claim`` starts them
    )
    order = [r[0] for r in conn.execute(stmt)]
    places = {job_id: n for n, job_id in enumerate(order, 1)}
    if job_ids is None:
        return places
    return {j: places[j] for j in job_ids if j in places}


def queue_position(store: JobStore, job_id: str) -> int | None:
    """A queued job's place in the queue (1: next), or None when it is not queued."""
    job = store.get(job_id)
    if job is None or job.status != QUEUED:
        return None
    ahead = (
        select(func.count())
        .select_from(jobs)
        .where(
            jobs.c.status == QUEUED,
            or_(
                jobs.c.created_at < job.created_at,
                and_(jobs.c.created_at == job.created_at, jobs.c.id < literal(job_id)),
            ),
        )
    )
    with store.engine.connect() as conn:
        return int(conn.execute(ahead).scalar_one()) + 1


def log_lines(store: JobStore, job_id: str, after_id: int = 0, limit: int = 500) -> list[LogLine]:
    """A job's log from the line after ``after_id`` on, oldest first, at most ``limit`` lines.

    The whole log is read a page at a time: pass the last line's id as the next ``after_id``.
    """
    stmt = (
        select(job_logs.c.id, job_logs.c.at, job_logs.c.line)
        .where(job_logs.c.job_id == job_id, job_logs.c.id > max(after_id, 0))
        .order_by(job_logs.c.id)
        .limit(min(max(limit, 1), 10_000))
    )
    with store.engine.connect() as conn:
        return [LogLine(*row) for row in conn.execute(stmt)]


def log_count(store: JobStore, job_id: str) -> int:
    """How many lines a job's log has."""
    stmt = select(func.count()).select_from(job_logs).where(job_logs.c.job_id == job_id)
    with store.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def parse_query(args: Mapping[str, Sequence[str]]) -> tuple[JobQuery, dict[str, str]]:
    """A query from untrusted request arguments (each a list of strings), or what is wrong.

    Multi-valued filters take repeated or comma-separated values; ``order`` is ``asc`` or
    ``desc``; ``since``/``until`` are ISO 8601 dates or times (UTC unless they say).
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def one(key: str) -> str:
        got = args.get(key) or []
        return str(got[-1]).strip() if got else ""

    for key in ("status", "trainer", "user"):
        items = tuple(
            dict.fromkeys(v.strip() for raw in args.get(key) or [] for v in str(raw).split(","))
        )
        values[key] = tuple(v[:MAX_TEXT] for v in items if v)
    bad = [s for s in values["status"] if s not in STATUSES]
    if bad:
        errors["status"] = f"unknown status {bad[0][:40]!r}: use {', '.join(STATUSES)}"
    for key in ("text", "name", "tag"):
        text = one("q" if key == "text" else key)
        if len(text) > MAX_TEXT:
            errors["q" if key == "text" else key] = f"at most {MAX_TEXT} characters"
        values[key] = text
    for key in ("since", "until"):
        text = one(key)
        if text:
            try:
                values[key] = datetime.fromisoformat(text)
            except ValueError:
                errors[key] = "not an ISO 8601 date or time (e.g. 2025-01-31 or 2025-01-31T08:00Z)"
    sort = one("sort") or "created_at"
    if sort not in SORTS and not is_metric_sort(sort):
        errors["sort"] = f"use one of {', '.join(SORTS)} or metric:<name>"
    values["sort"] = sort
    order = one("order") or "desc"
    if order not in ("asc", "desc"):
        errors["order"] = "asc or desc"
    values["descending"] = order != "asc"
    for key, default, hi in (("offset", 0, MAX_OFFSET), ("limit", 50, MAX_LIMIT)):
        text = one(key)
        try:
            number = int(text) if text else default
        except ValueError:
            number = -1
        lo = 1 if key == "limit" else 0
        if not lo <= number <= hi:
            errors[key] = f"a whole number from {lo} to {hi}"
        values[key] = number
    known = {f.name for f in fields(JobQuery)}
    if errors:
        return JobQuery(), errors
    return JobQuery(**{k: v for k, v in values.items() if k in known}), {}
